"""A governed LangGraph support agent, offline: every Lictor verdict, then the audit trail.

    python examples/langgraph_support_agent.py

The agent (langchain ``create_agent``) has three tools: ``issue_refund``, ``send_email`` and
``shell``. A scripted chat model stands in for the LLM, so the run needs no network and no key.
One line governs it: ``middleware=[LictorMiddleware(gov)]``. The script prints a transcript of
what the model asked for and what Lictor did, pauses for a (simulated) human on a big refund,
resumes with the human's answer, pulls the kill switch, and finally verifies the audit trail.
Exits 0 when every step behaved as described.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

from langchain.agents import create_agent
from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

import lictor
from lictor_langgraph import LictorMiddleware

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
  - id: mail-stays-inside
    match: {name: send_email}
    when: "!args.to.endsWith('@example.com')"
    effect: deny
    reason: e-mail only goes to example.com addresses
  - id: no-card-numbers-in-mail
    match: {name: send_email}
    effect: redact
    redact: {patterns: ["\\\\d{16}"], replacement: "[CARD]"}
audit: {sink: sqlite, path: AUDIT_PATH}
"""


class ScriptedModel(FakeMessagesListChatModel):
    """The offline stand-in for an LLM: replies from a script (create_agent binds tools)."""

    def bind_tools(self, tools: Any, **kwargs: Any) -> "ScriptedModel":
        return self


@tool
def issue_refund(amount: int, order: str) -> str:
    """Refund an order."""
    return f"refunded {amount} EUR for order {order}"


@tool
def send_email(to: str, body: str) -> str:
    """Send an e-mail to a customer."""
    return f"e-mail sent to {to}: {body!r}"


@tool
def shell(cmd: str) -> str:
    """Run a shell command on the support server."""
    return f"$ {cmd}\n(output)"


def tc(name: str, cid: str, **args: Any) -> dict[str, Any]:
    return {"name": name, "args": args, "id": cid}


SCRIPT = [
    AIMessage("", tool_calls=[tc("issue_refund", "c1", amount=40, order="A-1"),
                              tc("send_email", "c2", to="ann@example.com", body="Card 4111111111111111 refunded"),
                              tc("send_email", "c3", to="ann@gmail.com", body="hi"),
                              tc("shell", "c4", cmd="cat /etc/shadow")]),
    AIMessage("", tool_calls=[tc("issue_refund", "c5", amount=900, order="B-7")]),
    AIMessage("", tool_calls=[tc("issue_refund", "c6", amount=150, order="C-3")]),
    AIMessage("", tool_calls=[tc("issue_refund", "c7", amount=5000, order="D-9")]),
    AIMessage("All done: two refunds issued, the rest was refused by policy."),
]


def show(messages: list[BaseMessage], start: int) -> None:
    for m in messages[start:]:
        if isinstance(m, HumanMessage):
            print(f"  user    > {m.content}")
        elif isinstance(m, AIMessage):
            for c in m.tool_calls:
                print(f"  model   > calls {c['name']}({c['args']})  [{c['id']}]")
            if m.content:
                print(f"  model   > {m.content}")
        elif isinstance(m, ToolMessage):
            tag = "REFUSED" if m.status == "error" else "ran"
            print(f"  tool    < {m.name} {tag}: {m.content}")


def main() -> int:
    failures: list[str] = []

    def expect(ok: bool, what: str) -> None:
        print(f"  {'ok ' if ok else 'FAIL'}  {what}")
        if not ok:
            failures.append(what)

    with tempfile.TemporaryDirectory() as tmp:
        audit_path = Path(tmp) / "audit.db"
        policy_file = Path(tmp) / "policy.yaml"
        policy_file.write_text(POLICY.replace("AUDIT_PATH", str(audit_path)))
        gov = lictor.Governor.from_file(policy_file, load_entrypoints=False)
        agent = create_agent(ScriptedModel(responses=SCRIPT), [issue_refund, send_email, shell],
                             middleware=[LictorMiddleware(gov)],  # <- the one line
                             checkpointer=InMemorySaver(), name="support-7")
        config = {"configurable": {"thread_id": "ticket-4711"}}

        print("== 1. allow, redact, deny (three policy rules) in one step; then a big refund")
        out = agent.invoke({"messages": [{"role": "user", "content": "Refund Ann, tell her, and check the server"}]}, config)
        show(out["messages"], 0)
        seen = len(out["messages"])
        tools = {m.tool_call_id: m for m in out["messages"] if isinstance(m, ToolMessage)}
        expect(tools["c1"].status == "success", "allow: the 40 EUR refund ran unchanged")
        expect("[CARD]" in tools["c2"].content, "redact: the card number was masked before the e-mail went out")
        expect(tools["c3"].status == "error", "deny: mail to gmail.com was refused (rule mail-stays-inside)")
        expect(tools["c4"].status == "error", "deny: the shell command was refused (rule no-shell)")

        print("\n== 2. approve: the 900 EUR refund pauses the run for a human")
        (pause,) = out["__interrupt__"]
        v = pause.value
        print(f"  lictor  ? {v['question']} args={v['action']['args']}")
        print(f"            reasons={v['reasons']} risks={v['risks']}")
        expect(v["action"]["args"] == {"amount": 900, "order": "B-7"}, "the interrupt shows the exact call")

        print("\n== 3. the human edits it to 300 EUR and approves (Command(resume=...))")
        out = agent.invoke(Command(resume={"type": "edit", "args": {"amount": 300, "order": "B-7"},
                                           "approver": "alice@example.com", "comment": "partial refund"}), config)
        show(out["messages"], seen)
        seen = len(out["messages"])
        expect("refunded 300 EUR" in [m for m in out["messages"] if isinstance(m, ToolMessage)][-1].content,
               "edit: the refund ran with the approver's amount")

        print("\n== 4. the next big refund (150 EUR) is approved as asked")
        out = agent.invoke(Command(resume={"type": "approve", "approver": "alice@example.com"}), config)
        show(out["messages"], seen)
        seen = len(out["messages"])
        expect("refunded 150 EUR" in [m for m in out["messages"] if isinstance(m, ToolMessage)][-1].content,
               "approve: the 150 EUR refund ran")

        print("\n== 5. the 5000 EUR refund is rejected")
        out = agent.invoke(Command(resume={"type": "reject", "approver": "bob@example.com",
                                           "comment": "needs a manager"}), config)
        show(out["messages"], seen)
        seen = len(out["messages"])
        last_tool = [m for m in out["messages"] if isinstance(m, ToolMessage)][-1]
        expect(last_tool.status == "error" and "bob@example.com" in last_tool.content, "reject: refused, with who said no")

        print("\n== 6. kill switch: an operator stops this ticket; the next run ends at once")
        gov.kill_switch.engage("fraud investigation", session="ticket-4711")
        out = agent.invoke({"messages": [{"role": "user", "content": "One more refund please"}]}, config)
        show(out["messages"], seen)
        expect("fraud investigation" in out["messages"][-1].content, "halt: the run ended with the reason")

        print("\n== 7. the audit trail")
        records = gov.audit.records()
        for r in records:
            who = f" by {r['approval']['approver']}" if r.get("approval") else ""
            phase = "output " if r.get("phase") == "output" else ""
            a = r["action"]
            print(f"  #{r['seq']:<3} {a['kind']:<12} {a['name']:<14} {phase}{r['verdict']:<7}{who}"
                  f"  {', '.join(r['rule_ids'])}")
        pending = [r for r in records if r["verdict"] == "approve"]
        answers = [r for r in records if r.get("approval")]
        expect(len(pending) == 3 and len(answers) == 3, "one 'approve' record and one answer per paused call")
        expect(len({r["action"]["call_id"] for r in pending}) == 3, "no decision recorded twice across the resume re-runs")
        report = gov.audit.verify()
        expect(report.ok, f"the hash chain of {len(records)} records verifies")
        gov.close()

    print("\nall checks passed" if not failures else f"\n{len(failures)} check(s) failed")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
