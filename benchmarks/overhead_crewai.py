"""CrewAI scenario for ``bench_overhead.py``: one offline crew kickoff, governed or not.

The run is what a support agent does: 5 model calls and 4 tool calls through CrewAI's ReAct
path, driven by a scripted ``BaseLLM``. Governed, the same crew is ``govern(crew, gov)`` with a
20-rule policy and an SQLite audit trail, so the measured overhead includes model, tool and
output checks and their audit records. Only ``kickoff()`` is timed; building the crew (and
governing it, which registers hooks) happens before the clock starts.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any, Optional

for _k in ("CREWAI_DISABLE_TELEMETRY", "CREWAI_DISABLE_VERSION_CHECK"):
    os.environ.setdefault(_k, "true")
os.environ.setdefault("OTEL_SDK_DISABLED", "true")
os.environ.setdefault("CREWAI_TRACING_ENABLED", "false")

from crewai import Agent, Crew, Task  # noqa: E402
from crewai.llms.base_llm import BaseLLM  # noqa: E402
from crewai.tools import tool  # noqa: E402
from pydantic import PrivateAttr  # noqa: E402

import lictor  # noqa: E402
import overhead_policy  # noqa: E402
from lictor_crewai import govern, ungovern  # noqa: E402


def _act(name: str, **args: Any) -> str:
    return f"Thought: use {name}\nAction: {name}\nAction Input: {json.dumps(args)}"


_SCRIPT = [
    _act("lookup_order", order="A-1"),
    _act("issue_refund", amount=40, order="A-1"),
    _act("lookup_order", order="A-2"),
    _act("send_email", to="ann@example.com", body="Refunded 40 EUR"),
    "Thought: I now know the final answer\nFinal Answer: Refunded 40 EUR and told the customer.",
]


#: Seconds each scripted model call waits, like a real model would (set by bench_overhead.py).
MODEL_LATENCY = 0.0


class _Scripted(BaseLLM):
    _i: int = PrivateAttr(default=0)

    def call(self, messages: Any, tools: Any = None, callbacks: Any = None, available_functions: Any = None,
             from_task: Any = None, from_agent: Any = None, response_model: Any = None) -> str:
        reply = _SCRIPT[min(self._i, len(_SCRIPT) - 1)]
        self._i += 1
        if MODEL_LATENCY:
            time.sleep(MODEL_LATENCY)
        return reply


@tool("lookup_order")
def lookup_order(order: str) -> str:
    """Look an order up."""
    return f"order {order}: 2 items, 59.90 EUR, shipped"


@tool("issue_refund")
def issue_refund(amount: int, order: str) -> str:
    """Refund an order."""
    return f"refunded {amount} EUR for {order}"


@tool("send_email")
def send_email(to: str, body: str) -> str:
    """Send an e-mail."""
    return f"sent to {to}"


_gov: Optional[lictor.Governor] = None


def _governor() -> lictor.Governor:
    global _gov
    if _gov is None:
        _gov = overhead_policy.governor()
    return _gov


def _crew() -> Crew:
    agent = Agent(role="support-7", goal="help customers", backstory="a support agent",
                  llm=_Scripted(model="scripted"), tools=[lookup_order, issue_refund, send_email])
    task = Task(description="Please refund order A-1", expected_output="what was done", agent=agent)
    return Crew(agents=[agent], tasks=[task])


def run(governed: bool, runs: int) -> list[float]:
    """Seconds per ``kickoff()``, for ``runs`` runs (each on a freshly built crew)."""
    times = []
    for _ in range(runs):
        crew = _crew()
        if governed:
            govern(crew, _governor())
        t0 = time.perf_counter()
        out = crew.kickoff()
        times.append(time.perf_counter() - t0)
        if governed:
            ungovern(crew)
        assert out.raw.startswith("Refunded"), out.raw
    return times
