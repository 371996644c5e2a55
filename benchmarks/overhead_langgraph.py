"""LangGraph scenario for ``bench_overhead.py``: one offline create_agent run, governed or not.

The run is what a support agent does: 4 model calls and 4 tool calls (one step with two calls
in parallel), with an in-memory checkpointer. Governed, the same agent has
``middleware=[LictorMiddleware(gov)]`` and a 20-rule policy with an SQLite audit trail, so the
measured overhead includes prompt / reply / tool / output checks and audit records.
"""

from __future__ import annotations

import itertools
import time
from typing import Any

from langchain.agents import create_agent
from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver

import overhead_policy
from lictor_langgraph import LictorMiddleware


#: Seconds each scripted model call waits, like a real model would (set by bench_overhead.py).
MODEL_LATENCY = 0.0


class _Scripted(FakeMessagesListChatModel):
    def bind_tools(self, tools: Any, **kwargs: Any) -> "_Scripted":
        return self

    def _generate(self, *args: Any, **kwargs: Any) -> Any:
        if MODEL_LATENCY:
            time.sleep(MODEL_LATENCY)
        return super()._generate(*args, **kwargs)


@tool
def lookup_order(order: str) -> str:
    """Look an order up."""
    return f"order {order}: 2 items, 59.90 EUR, shipped"


@tool
def issue_refund(amount: int, order: str) -> str:
    """Refund an order."""
    return f"refunded {amount} EUR for {order}"


@tool
def send_email(to: str, body: str) -> str:
    """Send an e-mail."""
    return f"sent to {to}"


def _script() -> list[AIMessage]:
    def tc(name: str, cid: str, **args: Any) -> dict[str, Any]:
        return {"name": name, "args": args, "id": cid}
    return [
        AIMessage("", tool_calls=[tc("lookup_order", "b1", order="A-1")]),
        AIMessage("", tool_calls=[tc("issue_refund", "b2", amount=40, order="A-1"),
                                  tc("lookup_order", "b3", order="A-2")]),
        AIMessage("", tool_calls=[tc("send_email", "b4", to="ann@example.com", body="Refunded 40 EUR")]),
        AIMessage("Refunded 40 EUR and told the customer."),
    ]


_agents: dict[bool, Any] = {}
_threads = itertools.count()


def _agent(governed: bool) -> Any:
    if governed not in _agents:
        middleware = []
        if governed:
            middleware = [LictorMiddleware(overhead_policy.governor())]
        _agents[governed] = create_agent(_Scripted(responses=_script()), [lookup_order, issue_refund, send_email],
                                         middleware=middleware, checkpointer=InMemorySaver(), name="support-7")
    return _agents[governed]


def run(governed: bool, runs: int) -> list[float]:
    """Seconds per agent run, for ``runs`` runs (each on a fresh thread)."""
    agent = _agent(governed)
    times = []
    for _ in range(runs):
        cfg = {"configurable": {"thread_id": f"bench-{next(_threads)}"}}
        t0 = time.perf_counter()
        out = agent.invoke({"messages": [{"role": "user", "content": "Please refund order A-1"}]}, cfg)
        times.append(time.perf_counter() - t0)
        assert out["messages"][-1].content.startswith("Refunded"), out["messages"][-1]
    return times
