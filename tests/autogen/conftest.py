"""Shared pieces for the AutoGen adapter tests: a policy, scripted models, a decision recorder.

Everything is a real AutoGen object driven by ``ReplayChatCompletionClient``; nothing is mocked.
"""

from __future__ import annotations

import json
from typing import Any, Iterator, List

import lictor
import pytest
from autogen_core import FunctionCall
from autogen_core.models import CreateResult, RequestUsage
from autogen_core.tools import FunctionTool
from autogen_ext.models.replay import ReplayChatCompletionClient

MODEL_INFO = {"vision": False, "function_calling": True, "json_output": False, "family": "unknown",
              "structured_output": False}

POLICY: dict[str, Any] = {
    "version": 1,
    "rules": [
        {"id": "no-delete", "match": {"kind": "tool_call", "name": "delete_*"}, "effect": "deny",
         "reason": "deleting records is not allowed", "risks": ["ASI02"]},
        {"id": "mask-card", "match": {"kind": "tool_call", "name": "pay"}, "effect": "redact",
         "redact": {"args": ["card"]}},
        {"id": "ssn-out", "phase": "output", "match": {"kind": "tool_call", "name": "lookup"}, "effect": "redact",
         "redact": {"patterns": [r"\d{3}-\d{2}-\d{4}"]}},
        {"id": "big-refund", "match": {"kind": "tool_call", "name": "refund"}, "when": "args.amount > 100",
         "effect": "approve", "reason": "refunds over 100 need a human"},
        {"id": "no-admin", "match": {"kind": "handoff", "name": "admin"}, "effect": "deny",
         "reason": "nobody hands off to admin"},
        {"id": "secrets", "match": {"kind": "message"}, "effect": "redact", "redact": {"patterns": [r"secret-\w+"]}},
        {"id": "no-jailbreak", "match": {"kind": "model_call"}, "when": "content != null && content.contains('ignore previous')",
         "effect": "deny", "reason": "prompt injection"},
    ],
}


class Recorder:
    """A test plugin that keeps every decision (until the audit trail lands in core)."""

    name = "test_recorder"

    def __init__(self) -> None:
        self.seen: List[tuple[lictor.Action, lictor.Decision]] = []

    @lictor.hookimpl
    def lictor_on_decision(self, action: lictor.Action, decision: lictor.Decision, ctx: Any) -> None:
        self.seen.append((action, decision))

    def actions(self, kind: str) -> List[tuple[lictor.Action, lictor.Decision]]:
        """Decisions about actions (output checks carry the output and are left out)."""
        return [(a, d) for a, d in self.seen if a.kind == kind and d.output is None]

    def verdicts(self, kind: str, name: str | None = None, *, outputs: bool = False) -> List[str]:
        return [d.verdict for a, d in self.seen
                if a.kind == kind and (name is None or a.name == name) and ((d.output is not None) == outputs)]


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def gov(recorder: Recorder) -> Iterator[lictor.Governor]:
    g = lictor.Governor.from_dict(POLICY, plugins=[recorder], load_entrypoints=False)
    yield g
    g.close()


def call(name: str, args: dict[str, Any], call_id: str = "c1") -> CreateResult:
    """A scripted model turn that calls one tool (or hand-off)."""
    return CreateResult(finish_reason="function_calls",
                        content=[FunctionCall(id=call_id, arguments=json.dumps(args), name=name)],
                        usage=RequestUsage(prompt_tokens=0, completion_tokens=0), cached=False)


def model(*turns: Any) -> ReplayChatCompletionClient:
    return ReplayChatCompletionClient(list(turns), model_info=MODEL_INFO)  # type: ignore[arg-type]


class Tools:
    """Real FunctionTools that remember how they were called."""

    def __init__(self) -> None:
        self.calls: List[tuple[str, dict[str, Any]]] = []

    def all(self) -> list[FunctionTool]:
        def lookup(customer: str) -> str:
            """Look a customer up."""
            self.calls.append(("lookup", {"customer": customer}))
            return f"{customer}: ssn 123-45-6789, plan gold"

        def pay(amount: int, card: str) -> str:
            """Pay."""
            self.calls.append(("pay", {"amount": amount, "card": card}))
            return f"paid {amount} with {card}"

        def refund(amount: int) -> str:
            """Refund."""
            self.calls.append(("refund", {"amount": amount}))
            return f"refunded {amount}"

        def delete_records(table: str) -> str:
            """Delete."""
            self.calls.append(("delete_records", {"table": table}))
            return "deleted"

        return [FunctionTool(f, description=f.__doc__ or f.__name__) for f in (lookup, pay, refund, delete_records)]


@pytest.fixture
def tools() -> Tools:
    return Tools()
