"""AutoGen scenario for ``bench_overhead.py``: one offline team run, governed or not.

The run is what a support agent does: 4 model calls and 4 tool calls (one step with two calls
in parallel), inside a ``RoundRobinGroupChat`` so that the team runtime (and, governed, the
message handler) is on the path. Governed, the team is ``govern(team, gov)`` with a 20-rule
policy and an SQLite audit trail, so the overhead includes model-call, answer, tool, tool-output
and message checks and their audit records. Agents and teams are built outside the timed part.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import warnings
from typing import Any

import lictor
import overhead_policy
from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.conditions import MaxMessageTermination
from autogen_agentchat.teams import RoundRobinGroupChat
from autogen_core import FunctionCall
from autogen_core.models import CreateResult, RequestUsage
from autogen_core.tools import FunctionTool
from autogen_ext.models.replay import ReplayChatCompletionClient
from lictor_autogen import govern

logging.disable(logging.WARNING)  # the replay client logs a token-count note per call
warnings.filterwarnings("ignore", message="Intervention handler on_response returned None")

_INFO = {"vision": False, "function_calling": True, "json_output": False, "family": "unknown",
         "structured_output": False}


def lookup_order(order: str) -> str:
    """Look an order up."""
    return f"order {order}: 2 items, 59.90 EUR, shipped"


def issue_refund(amount: int, order: str) -> str:
    """Refund an order."""
    return f"refunded {amount} EUR for {order}"


def send_email(to: str, body: str) -> str:
    """Send an e-mail."""
    return f"sent to {to}"


_TOOLS = [FunctionTool(f, description=f.__doc__ or "") for f in (lookup_order, issue_refund, send_email)]


def _calls(*calls: tuple[str, str, dict[str, Any]]) -> CreateResult:
    return CreateResult(finish_reason="function_calls",
                        content=[FunctionCall(id=cid, name=n, arguments=json.dumps(a)) for n, cid, a in calls],
                        usage=RequestUsage(prompt_tokens=0, completion_tokens=0), cached=False)


def _script() -> list[Any]:
    return [
        _calls(("lookup_order", "b1", {"order": "A-1"})),
        _calls(("issue_refund", "b2", {"amount": 40, "order": "A-1"}), ("lookup_order", "b3", {"order": "A-2"})),
        _calls(("send_email", "b4", {"to": "ann@example.com", "body": "Refunded 40 EUR"})),
        "Refunded 40 EUR and told the customer.",
    ]


_gov: list[lictor.Governor] = []


def _governor() -> lictor.Governor:
    if not _gov:
        _gov.append(overhead_policy.governor())
    return _gov[0]


#: Seconds each scripted model call waits, like a real model would (set by bench_overhead.py).
MODEL_LATENCY = 0.0


class _Slow(ReplayChatCompletionClient):
    async def create(self, *args: Any, **kwargs: Any) -> Any:
        if MODEL_LATENCY:
            await asyncio.sleep(MODEL_LATENCY)
        return await super().create(*args, **kwargs)


def _team(governed: bool) -> RoundRobinGroupChat:
    agent = AssistantAgent("support_7", model_client=_Slow(_script(), model_info=_INFO),  # type: ignore[arg-type]
                           tools=_TOOLS, max_tool_iterations=4)
    team = RoundRobinGroupChat([agent], termination_condition=MaxMessageTermination(2))
    return govern(team, _governor()) if governed else team


async def _runs(governed: bool, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        team = _team(governed)
        t0 = time.perf_counter()
        res = await team.run(task="Please refund order A-1")
        times.append(time.perf_counter() - t0)
        assert res.messages[-1].to_text().startswith("Refunded"), res.messages[-1]
    return times


def run(governed: bool, runs: int) -> list[float]:
    """Seconds per team run, for ``runs`` runs (each on a freshly built team)."""
    return asyncio.run(_runs(governed, runs))
