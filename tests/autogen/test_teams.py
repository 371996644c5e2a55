"""Governed teams: messages between agents, hand-offs, kill switch, streaming (signatures: test_signing.py)."""

from __future__ import annotations

import asyncio

import lictor
import pytest
from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.base import TaskResult
from autogen_agentchat.conditions import MaxMessageTermination
from autogen_agentchat.messages import HandoffMessage, TextMessage, ToolCallExecutionEvent
from autogen_agentchat.teams import RoundRobinGroupChat, SelectorGroupChat, Swarm
from autogen_core import CancellationToken
from autogen_core.tools import FunctionTool
from lictor_autogen import govern

from conftest import Recorder, Tools, call, model

TIMEOUT = 10


async def test_inter_agent_message_is_redacted_in_round_robin(gov, recorder: Recorder) -> None:
    reader = model("thanks")
    a = AssistantAgent("writer", model_client=model("the code is secret-abc123, keep it"))
    b = AssistantAgent("reader", model_client=reader)
    team = govern(RoundRobinGroupChat([a, b], termination_condition=MaxMessageTermination(3)), gov)
    res = await asyncio.wait_for(team.run(task="share"), TIMEOUT)
    said = [m for m in res.messages if isinstance(m, TextMessage) and m.source == "writer"][0]
    assert said.content == "the code is [REDACTED], keep it"
    # what the other agent's model received was redacted too
    assert "secret-abc123" not in str(reader.create_calls[0]["messages"])
    msgs = recorder.actions("message")
    assert [d.verdict for _, d in msgs] == ["redact", "allow"]  # one check per message, not per copy
    assert msgs[0][0].agent == "writer" and msgs[0][0].session == msgs[1][0].session


async def test_each_team_run_is_its_own_session(gov, recorder: Recorder) -> None:
    a = AssistantAgent("a", model_client=model("one", "two"))
    team = govern(RoundRobinGroupChat([a], termination_condition=MaxMessageTermination(2)), gov)
    await asyncio.wait_for(team.run(task="x"), TIMEOUT)
    await asyncio.wait_for(team.run(task="y"), TIMEOUT)
    sessions = [a.session for a, _ in recorder.actions("message")]
    assert len(sessions) == 2 and sessions[0] != sessions[1] and sessions[0].startswith("RoundRobinGroupChat-")


async def test_tool_verdicts_inside_a_team(gov, tools: Tools, recorder: Recorder) -> None:
    a = AssistantAgent("ops", model_client=model(call("delete_records", {"table": "t"}), "ok"), tools=tools.all())
    b = AssistantAgent("billing", model_client=model(call("pay", {"amount": 1, "card": "4111"}), "paid"),
                       tools=tools.all())
    team = govern(RoundRobinGroupChat([a, b], termination_condition=MaxMessageTermination(3)), gov)
    res = await asyncio.wait_for(team.run(task="go"), TIMEOUT)
    assert tools.calls == [("pay", {"amount": 1, "card": "[REDACTED]"})]
    events = [m for m in res.messages if isinstance(m, ToolCallExecutionEvent)]
    assert events[0].content[0].is_error and "deleting records" in events[0].content[0].content
    assert recorder.verdicts("tool_call") == ["deny", "redact"]


async def test_handoff_is_refused_in_a_swarm(gov, recorder: Recorder) -> None:
    triage = AssistantAgent("triage", model_client=model(call("transfer_to_admin", {}), "I cannot, done"),
                            handoffs=["admin", "billing"])
    admin = AssistantAgent("admin", model_client=model("admin here"))
    billing = AssistantAgent("billing", model_client=model("billing here"))
    team = govern(Swarm([triage, admin, billing], termination_condition=MaxMessageTermination(3)), gov)
    res = await asyncio.wait_for(team.run(task="make me admin"), TIMEOUT)
    assert not any(isinstance(m, HandoffMessage) for m in res.messages)
    assert all(m.source != "admin" for m in res.messages)
    assert "nobody hands off to admin" in res.messages[1].content
    assert recorder.verdicts("handoff", "admin") == ["deny"]


async def test_allowed_handoff_still_works_in_a_swarm(gov, recorder: Recorder) -> None:
    triage = AssistantAgent("triage", model_client=model(call("transfer_to_billing", {})), handoffs=["billing"])
    billing = AssistantAgent("billing", model_client=model("billing here"))
    team = govern(Swarm([triage, billing], termination_condition=MaxMessageTermination(3)), gov)
    res = await asyncio.wait_for(team.run(task="invoice"), TIMEOUT)
    assert any(isinstance(m, HandoffMessage) and m.target == "billing" for m in res.messages)
    assert res.messages[-1].source == "billing"
    assert recorder.verdicts("handoff", "billing") == ["allow"]


async def test_selector_group_chat_is_governed(gov, tools: Tools) -> None:
    a = AssistantAgent("ops", model_client=model(call("delete_records", {"table": "t"}), "ok"), tools=tools.all())
    b = AssistantAgent("writer", model_client=model("secret-x1 leaked"))

    def select(thread) -> str:
        return "writer" if any(m.source == "ops" for m in thread) else "ops"

    team = govern(SelectorGroupChat([a, b], model_client=model(), selector_func=select,
                                    termination_condition=MaxMessageTermination(3)), gov)
    res = await asyncio.wait_for(team.run(task="go"), TIMEOUT)
    assert tools.calls == []
    assert any(isinstance(m, TextMessage) and m.content == "[REDACTED] leaked" for m in res.messages)


def _kill_tool(gov: lictor.Governor) -> FunctionTool:
    def lookup(customer: str) -> str:
        """Looks up, and an operator pulls the kill switch meanwhile."""
        gov.kill_switch.engage("incident 42")
        return "found"

    return FunctionTool(lookup, description="lookup")


async def test_kill_switch_mid_run_stops_the_team_with_a_clear_reason(gov, tools: Tools, recorder: Recorder) -> None:
    a = AssistantAgent("a", model_client=model(call("lookup", {"customer": "x"}), "more", "more"),
                       tools=[_kill_tool(gov)], reflect_on_tool_use=True)
    b = AssistantAgent("b", model_client=model("b speaks", "b speaks"), tools=tools.all())
    team = govern(RoundRobinGroupChat([a, b], termination_condition=MaxMessageTermination(10)), gov)
    res = await asyncio.wait_for(team.run(task="go"), TIMEOUT)
    assert "Lictor stopped the run" in (res.stop_reason or "") and "incident 42" in res.stop_reason
    assert all(m.source != "b" for m in res.messages)  # nobody spoke after the halt
    assert any(d.halt for _, d in recorder.seen)


async def test_kill_switch_can_cancel_the_run_token(gov) -> None:
    a = AssistantAgent("a", model_client=model(call("lookup", {"customer": "x"}), "more", "more"),
                       tools=[_kill_tool(gov)], reflect_on_tool_use=True)
    team = govern(RoundRobinGroupChat([a], termination_condition=MaxMessageTermination(10)), gov, on_halt="cancel")
    token = CancellationToken()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(team.run(task="go", cancellation_token=token), TIMEOUT)
    assert token.is_cancelled()


async def test_run_stream_emits_the_governed_events(gov, tools: Tools) -> None:
    a = AssistantAgent("ops", model_client=model(call("delete_records", {"table": "t"}), "secret-zz gone"),
                       tools=tools.all(), reflect_on_tool_use=True)
    team = govern(RoundRobinGroupChat([a], termination_condition=MaxMessageTermination(2)), gov)

    async def collect() -> list:
        return [e async for e in team.run_stream(task="go")]

    events = await asyncio.wait_for(collect(), TIMEOUT)
    assert isinstance(events[-1], TaskResult)
    execs = [e for e in events if isinstance(e, ToolCallExecutionEvent)]
    assert execs and execs[0].content[0].is_error and "[lictor]" in execs[0].content[0].content
    texts = [e for e in events if isinstance(e, TextMessage) and e.source == "ops"]
    assert texts and texts[0].content == "[REDACTED] gone"
