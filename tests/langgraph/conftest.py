"""Shared pieces for the LangGraph adapter tests: a scripted chat model, tools, a policy, a
decision recorder, and one runner that drives an agent through invoke, ainvoke or astream.

Everything is the real LangGraph / LangChain object; the only test double is the chat model,
langchain_core's own offline fake with ``bind_tools`` returning itself (create_agent calls it).
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any, Optional

import pytest
from pydantic import Field
from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.tools import tool

import lictor

_ids = itertools.count(1)


class ScriptedModel(FakeMessagesListChatModel):
    """langchain_core's list-of-replies fake, usable by create_agent (which binds tools).

    ``prompts`` keeps what the model was shown, so tests can prove a redaction reached it.
    """

    prompts: list[list[BaseMessage]] = Field(default_factory=list)

    def bind_tools(self, tools: Any, **kwargs: Any) -> "ScriptedModel":
        return self

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any) -> Any:
        self.prompts.append(list(messages))
        return super()._generate(messages, stop=stop, run_manager=run_manager, **kwargs)


def call(name: str, **args: Any) -> dict[str, Any]:
    """A proposed tool call with a unique id (the fake model replays ids when it cycles)."""
    return {"name": name, "args": args, "id": f"call-{next(_ids)}"}


def says(*calls: dict[str, Any], text: str = "") -> AIMessage:
    return AIMessage(content=text, tool_calls=list(calls))


def model(*replies: AIMessage) -> ScriptedModel:
    return ScriptedModel(responses=list(replies))


RAN: list[tuple[str, dict[str, Any]]] = []


@tool
def issue_refund(amount: int, iban: str = "DE00") -> str:
    """Refund a customer."""
    RAN.append(("issue_refund", {"amount": amount, "iban": iban}))
    return f"refunded {amount} EUR to {iban}"


@tool
def send_email(to: str, body: str) -> str:
    """Send an e-mail."""
    RAN.append(("send_email", {"to": to, "body": body}))
    return f"sent to {to}"


@tool
def shell(cmd: str) -> str:
    """Run a shell command."""
    RAN.append(("shell", {"cmd": cmd}))
    return "ran"


@tool
def lookup_customer(customer_id: str) -> str:
    """Look a customer up (returns a card number: the output check must redact it)."""
    RAN.append(("lookup_customer", {"customer_id": customer_id}))
    return f"customer {customer_id}: card 4111111111111111, status gold"


@tool
def flaky(x: int) -> str:
    """A tool that fails."""
    RAN.append(("flaky", {"x": x}))
    raise ValueError("backend down")


TOOLS = [issue_refund, send_email, shell, lookup_customer, flaky]

POLICY: dict[str, Any] = {
    "version": 1,
    "rules": [
        {"id": "no-shell", "match": {"kind": "tool_call", "name": "shell*"}, "effect": "deny",
         "risks": ["ASI05"], "reason": "shell commands are not allowed for support agents"},
        {"id": "big-refunds-need-a-human", "match": {"name": "issue_refund"}, "when": "args.amount > 100",
         "effect": "approve", "risks": ["ASI02"], "reason": "refunds over 100 EUR need a human"},
        {"id": "mask-cards-in-mail", "match": {"name": "send_email"}, "effect": "redact",
         "redact": {"patterns": ["\\d{16}"], "replacement": "[CARD]"}},
        {"id": "no-external-mail", "match": {"name": "send_email"}, "when": "!args.to.endsWith('@example.com')",
         "effect": "deny", "reason": "mail only goes to example.com"},
        {"id": "card-numbers", "match": {"name": "lookup_customer"}, "phase": "output", "effect": "redact",
         "redact": {"patterns": ["\\d{16}"], "replacement": "[CARD]"}},
        {"id": "no-secrets-in-prompts", "match": {"kind": "model_call"}, "effect": "redact",
         "redact": {"patterns": ["sk-[A-Za-z0-9]{8,}"], "replacement": "[SECRET]"}},
        {"id": "no-password-replies", "match": {"kind": "model_output"}, "when": "content.contains('password')",
         "effect": "deny", "reason": "the model must not reveal passwords"},
        {"id": "no-hand-off-to-finance", "match": {"kind": "handoff", "name": "finance"}, "effect": "deny",
         "reason": "support may not hand off to finance"},
    ],
}


class Recorder:
    """A plugin that keeps every decision the Governor reports (``lictor_on_decision``)."""

    name = "recorder"

    def __init__(self) -> None:
        self.decisions: list[tuple[lictor.Action, lictor.Decision]] = []

    @lictor.hookimpl
    def lictor_on_decision(self, action: lictor.Action, decision: lictor.Decision, ctx: Any) -> None:
        self.decisions.append((action, decision))

    def about(self, call_id: str) -> list[lictor.Decision]:
        return [d for a, d in self.decisions if a.call_id == call_id]

    def verdicts(self, kind: Optional[str] = None) -> list[str]:
        return [d.verdict for a, d in self.decisions if kind is None or a.kind == kind]


@pytest.fixture(autouse=True)
def _clear_ran() -> None:
    RAN.clear()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def gov(recorder: Recorder) -> lictor.Governor:
    g = lictor.Governor.from_dict(POLICY, plugins=[recorder], load_entrypoints=False)
    yield g
    g.close()


MODES = ["invoke", "ainvoke", "astream"]


def drive(graph: Any, payload: Any, thread: str, mode: str) -> dict[str, Any]:
    """Run a compiled graph one way; return the thread's state values plus ``interrupts``."""
    cfg = {"configurable": {"thread_id": thread}}
    if mode == "invoke":
        graph.invoke(payload, cfg)
    elif mode == "ainvoke":
        asyncio.run(graph.ainvoke(payload, cfg))
    elif mode == "astream":
        async def consume() -> None:
            async for _ in graph.astream(payload, cfg, stream_mode="updates"):
                pass
        asyncio.run(consume())
    else:  # pragma: no cover
        raise ValueError(mode)
    snap = graph.get_state(cfg)
    values = dict(snap.values)
    values["interrupts"] = list(snap.interrupts)
    return values


def ask(text: str) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text}]}
