"""A governed two-agent CrewAI crew, offline: every Lictor verdict, then the audit trail.

    python examples/crewai_crew.py

A "support" agent looks an order up, refunds it (a big refund needs a human: the approver here
is a function standing in for one), tries to run a shell command (denied) and delegates the
customer e-mail to a "writer" coworker (a hand-off Lictor sees). The writer's e-mail carries a
card number, which Lictor redacts before the tool runs. Scripted models stand in for the LLMs,
so the run needs no network and no key. One line governs the crew: ``govern(crew, gov)``.
Finally the kill switch stops a second run, and the audit trail is verified. Exits 0 when every
step behaved as described.
"""

from __future__ import annotations

import os

for _k, _v in {"CREWAI_DISABLE_TELEMETRY": "true", "OTEL_SDK_DISABLED": "true",
               "CREWAI_TRACING_ENABLED": "false", "CREWAI_DISABLE_VERSION_CHECK": "true"}.items():
    os.environ.setdefault(_k, _v)

import json  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from crewai import Agent, Crew, Task  # noqa: E402
from crewai.llms.base_llm import BaseLLM  # noqa: E402
from crewai.tools import tool  # noqa: E402
from pydantic import Field, PrivateAttr  # noqa: E402

import lictor  # noqa: E402
from lictor_crewai import LictorStop, govern  # noqa: E402

POLICY = """
version: 1
rules:
  - id: no-shell
    match: {kind: tool_call, name: "shell*"}
    effect: deny
    risks: [ASI05]
    reason: support agents may not run shell commands
  - id: big-refunds-need-a-human
    match: {name: issue_refund}
    when: "args.amount > 100"
    effect: approve
    risks: [ASI02]
    reason: refunds over 100 EUR need a human
  - id: no-card-numbers-in-mail
    match: {name: send_email}
    effect: redact
    redact: {patterns: ["\\\\d{16}"], replacement: "[CARD]"}
  - id: writers-only-write
    match: {kind: handoff}
    when: "name != 'writer'"
    effect: deny
    reason: support may only hand work to the writer
"""


class ScriptedLLM(BaseLLM):
    """Replays ReAct texts: "Action: tool / Action Input: {...}", then "Final Answer: ..."."""

    script: list[str] = Field(default_factory=list)
    _i: int = PrivateAttr(default=0)

    def call(self, messages: Any, tools: Any = None, callbacks: Any = None, available_functions: Any = None,
             from_task: Any = None, from_agent: Any = None, response_model: Any = None) -> str:
        reply = self.script[min(self._i, len(self.script) - 1)]
        self._i += 1
        return reply


def act(name: str, **args: Any) -> str:
    return f"Thought: I will use {name}\nAction: {name}\nAction Input: {json.dumps(args)}"


def final(text: str) -> str:
    return f"Thought: I now know the final answer\nFinal Answer: {text}"


ran: list[str] = []


@tool("lookup_order")
def lookup_order(order: str) -> str:
    """Look an order up."""
    ran.append(f"lookup_order({order})")
    return f"order {order}: 1 laptop, 1299 EUR, card 4111111111111111"


@tool("issue_refund")
def issue_refund(amount: int, order: str) -> str:
    """Refund an order."""
    ran.append(f"issue_refund({amount}, {order})")
    return f"refunded {amount} EUR for {order}"


@tool("shell")
def shell(command: str) -> str:
    """Run a shell command."""
    ran.append(f"shell({command})")
    return "ok"


@tool("send_email")
def send_email(to: str, body: str) -> str:
    """Send an e-mail."""
    ran.append(f"send_email({to}, {body})")
    return f"sent to {to}"


def build_crew() -> Crew:
    support = Agent(
        role="support", goal="resolve refund requests", backstory="a support agent", allow_delegation=True,
        tools=[lookup_order, issue_refund, shell],
        llm=ScriptedLLM(model="support-model", script=[
            act("lookup_order", order="A-1"),
            act("issue_refund", amount=1299, order="A-1"),
            act("shell", command="rm -rf /var/log"),
            act("Delegate work to coworker", coworker="writer", task="tell ann@example.com about the refund",
                context="refunded 1299 EUR for order A-1 paid with card 4111111111111111"),
            final("Refunded order A-1 and told the customer."),
        ]))
    writer = Agent(
        role="writer", goal="write to customers", backstory="a careful writer", tools=[send_email],
        llm=ScriptedLLM(model="writer-model", script=[
            act("send_email", to="ann@example.com", body="We refunded 1299 EUR to card 4111111111111111."),
            final("E-mail sent."),
        ]))
    task = Task(description="Refund order A-1 for ann@example.com", expected_output="what was done", agent=support)
    return Crew(agents=[support, writer], tasks=[task])


def treasurer(action: lictor.Action, decision: lictor.Decision) -> lictor.Approval:
    """Stands in for a human: approves refunds up to 1500 EUR."""
    ok = action.args.get("amount", 0) <= 1500
    return lictor.Approval(approved=ok, approver="treasurer", comment="within my limit" if ok else "too much")


def main() -> int:
    tmp = Path(tempfile.mkdtemp(prefix="lictor-crewai-example-"))
    (tmp / "policy.yaml").write_text(POLICY + f"audit: {{sink: sqlite, path: {tmp / 'audit.db'}}}\n")
    gov = lictor.Governor.from_file(tmp / "policy.yaml", load_entrypoints=False)
    problems: list[str] = []

    crew = govern(build_crew(), gov, approver=treasurer, approval_timeout=10)
    out = crew.kickoff()
    print(f"\ncrew answer: {out.raw}\n\ntools that actually ran:")
    for call in ran:
        print(f"  {call}")

    print("\nLictor's decisions (from the audit trail):")
    records = gov.audit.records()
    acts = [r.get("action") or r for r in records]  # the action's fields sit under "action"
    for r, a in zip(records, acts):
        why = "; ".join(r.get("reasons") or []) or "-"
        phase = "output" if "output" in r else "action"  # output checks record what they judged
        print(f"  {r['seq']:>3} {a['agent']:<8} {a['kind']:<10} {a['name']:<14} {phase:<6} {r['verdict']:<7} {why[:60]}")

    expect = [
        ("shell(rm -rf /var/log)" not in ran, "the shell command was refused"),
        ("issue_refund(1299, A-1)" in ran, "the big refund ran after the treasurer's approval"),
        (any(c.startswith("send_email(ann@example.com, We refunded 1299 EUR to card [CARD]") for c in ran),
         "the card number was redacted from the e-mail"),
        (any(a["kind"] == "handoff" and a["name"] == "writer" for a in acts), "the delegation was a handoff"),
        (any((r.get("approval") or {}).get("approver") == "treasurer" for r in records), "the approval is recorded"),
    ]

    print("\nkill switch: engaged for everyone, second run ...")
    gov.kill_switch.engage("incident 7: refunds paused")
    try:
        govern(build_crew(), gov).kickoff()
        expect.append((False, "the kill switch stopped the second run"))
    except LictorStop as stop:
        print(f"  stopped: {stop}")
        expect.append((stop.decision is not None and stop.decision.halt, "the kill switch stopped the second run"))
    gov.kill_switch.release()

    report = gov.audit.verify()
    print(f"\naudit trail: {len(gov.audit.records())} records, verify ok={report.ok}")
    expect.append((report.ok, "the audit trail verifies"))
    for ok, what in expect:
        print(f"  [{'ok' if ok else 'FAILED'}] {what}")
        if not ok:
            problems.append(what)
    gov.close()
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
