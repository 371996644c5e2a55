"""An offline AutoGen team under Lictor: every verdict, then the verified audit trail.

    python examples/autogen_team.py

A scripted support team (no API key, no network: ``ReplayChatCompletionClient`` plays the
models) runs in a ``Swarm``: triage looks a customer up (its SSN is redacted from the tool
result), tries to delete records (denied), asks for a big refund (approved by a scripted
approver), tries to hand off to admin (refused), mentions a secret in a message (redacted) and
hands off to billing (allowed). Exits 0 when the audit trail verifies.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import warnings
import tempfile
from pathlib import Path

import lictor
from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.conditions import MaxMessageTermination, TextMentionTermination
from autogen_agentchat.teams import Swarm
from autogen_core import FunctionCall
from autogen_core.models import CreateResult, RequestUsage
from autogen_core.tools import FunctionTool
from autogen_ext.models.replay import ReplayChatCompletionClient
from lictor_autogen import govern

POLICY = {
    "version": 1,
    "rules": [
        {"id": "no-delete", "match": {"kind": "tool_call", "name": "delete_*"}, "effect": "deny",
         "reason": "deleting records is not allowed", "risks": ["ASI02"]},
        {"id": "ssn-out", "phase": "output", "match": {"kind": "tool_call", "name": "lookup"}, "effect": "redact",
         "redact": {"patterns": [r"\d{3}-\d{2}-\d{4}"]}},
        {"id": "big-refund", "match": {"kind": "tool_call", "name": "refund"}, "when": "args.amount > 100",
         "effect": "approve", "reason": "refunds over 100 need a human"},
        {"id": "no-admin", "match": {"kind": "handoff", "name": "admin"}, "effect": "deny",
         "reason": "support agents never hand off to admin", "risks": ["ASI03"]},
        {"id": "secrets", "match": {"kind": "message"}, "effect": "redact", "redact": {"patterns": [r"secret-\w+"]}},
    ],
}
MODEL_INFO = {"vision": False, "function_calling": True, "json_output": False, "family": "unknown",
              "structured_output": False}


def call(name: str, args: dict, call_id: str) -> CreateResult:
    return CreateResult(finish_reason="function_calls", content=[FunctionCall(id=call_id, arguments=json.dumps(args), name=name)],
                        usage=RequestUsage(prompt_tokens=0, completion_tokens=0), cached=False)


def lookup(customer: str) -> str:
    """Look a customer up."""
    return f"{customer}: ssn 123-45-6789, plan gold"


def delete_records(table: str) -> str:
    """Delete a table's records."""
    return "deleted"


def refund(amount: int) -> str:
    """Refund an amount."""
    return f"refunded {amount}"


def approver(prompt: str) -> str:
    print(f"  approver asked: {prompt.splitlines()[0]}")
    return "yes"


async def main() -> int:
    logging.disable(logging.WARNING)  # the replay client logs token-count notes
    # AutoGen warns when a handler passes on an RPC's None response unchanged: noise here.
    warnings.filterwarnings("ignore", message="Intervention handler on_response returned None")
    db = Path(tempfile.mkdtemp()) / "audit.db"
    gov = lictor.Governor.from_dict({**POLICY, "audit": {"sink": "sqlite", "path": str(db)}}, load_entrypoints=False)
    triage = AssistantAgent(
        "triage",
        model_client=ReplayChatCompletionClient([
            call("lookup", {"customer": "ann"}, "1"),
            call("delete_records", {"table": "users"}, "2"),
            call("refund", {"amount": 250}, "3"),
            call("transfer_to_admin", {}, "4"),
            "ann's internal code is secret-x9; billing will finish this",
            call("transfer_to_billing", {}, "5"),
        ], model_info=MODEL_INFO),  # type: ignore[arg-type]
        tools=[FunctionTool(f, description=f.__doc__ or "") for f in (lookup, delete_records, refund)],
        handoffs=["admin", "billing"], max_tool_iterations=4,
    )
    billing = AssistantAgent("billing", model_client=ReplayChatCompletionClient(["Refund confirmed. TERMINATE"],
                                                                                 model_info=MODEL_INFO))  # type: ignore[arg-type]
    admin = AssistantAgent("admin", model_client=ReplayChatCompletionClient(["admin here"], model_info=MODEL_INFO))  # type: ignore[arg-type]
    team = govern(Swarm([triage, billing, admin], termination_condition=TextMentionTermination("TERMINATE") | MaxMessageTermination(12)), gov,
                  approver=approver, approver_name="supervisor")

    print("Running the team (scripted models, offline):")
    async for event in team.run_stream(task="Customer ann wants a refund of 250."):
        if type(event).__name__ == "TaskResult":
            print(f"  stop reason: {event.stop_reason}")
            continue
        text = event.to_text()
        print(f"  [{getattr(event, 'source', 'result')}] {type(event).__name__}: {text[:150]}")

    print("\nDecisions:")
    records = gov.audit.records()
    for r in records:
        a = r.get("action") or r  # records nest the submitted action
        if r.get("verdict") != "allow" or a.get("kind") in ("tool_call", "handoff"):
            reason = "; ".join(r.get("reasons") or [])[:70]
            print(f"  {r.get('verdict', '?'):8} {a.get('kind', ''):10} {a.get('agent', ''):8} {a.get('name', ''):18} {reason}")
    report = gov.audit.verify()
    print(f"\nAudit trail: {len(records)} records, verified: {report.ok}")
    gov.close()
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
