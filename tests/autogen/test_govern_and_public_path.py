"""govern() is idempotent and reversible; the private attributes it needs are where it expects;
the public-API path (LictorWorkbench / LictorModelClient) works without govern()."""

from __future__ import annotations

import asyncio

import lictor
import pytest
from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.conditions import MaxMessageTermination
from autogen_agentchat.messages import ToolCallExecutionEvent
from autogen_agentchat.teams import RoundRobinGroupChat
from lictor_autogen import LictorModelClient, LictorWorkbench, govern, governance_of, ungovern
from lictor_autogen import _private

from conftest import POLICY, Recorder, Tools, call, model

TIMEOUT = 10


def test_autogen_private_attributes_are_where_the_adapter_expects() -> None:
    problems = _private.check_layout()
    assert problems == [], (
        "This AutoGen release moved attributes lictor_autogen/_private.py relies on: " + "; ".join(problems))


def test_govern_twice_is_harmless_and_ungovern_restores_everything(gov, tools: Tools) -> None:
    agent = AssistantAgent("a", model_client=model("x"), tools=tools.all())
    team = RoundRobinGroupChat([agent], termination_condition=MaxMessageTermination(2))
    wb, client = _private.agent_workbenches(agent), _private.agent_model_client(agent)
    handlers_before = list(_private.team_runtime(team)._intervention_handlers or [])
    assert govern(team, gov) is team
    wrapped = _private.agent_workbenches(agent)
    assert govern(team, gov) is team
    assert _private.agent_workbenches(agent) == wrapped  # not wrapped twice
    assert isinstance(wrapped[0], LictorWorkbench) and isinstance(_private.agent_model_client(agent), LictorModelClient)
    with pytest.raises(ValueError, match="another Governor"):
        govern(team, lictor.Governor.from_dict({"version": 1}, load_entrypoints=False))
    ungovern(team)
    assert governance_of(team) is None and governance_of(agent) is None
    assert _private.agent_workbenches(agent) == wb and _private.agent_model_client(agent) is client
    assert list(_private.team_runtime(team)._intervention_handlers or []) == handlers_before
    govern(team, gov)  # and back again
    assert isinstance(_private.agent_workbenches(agent)[0], LictorWorkbench)


def test_govern_rejects_what_it_cannot_govern(gov) -> None:
    with pytest.raises(TypeError, match="LictorWorkbench"):
        govern(object(), gov)


async def test_ungoverned_agent_runs_unchecked_again(gov, tools: Tools, recorder: Recorder) -> None:
    agent = govern(AssistantAgent("a", model_client=model(call("delete_records", {"table": "t"}), "x"),
                                  tools=tools.all()), gov)
    ungovern(agent)
    await asyncio.wait_for(agent.run(task="go"), TIMEOUT)
    assert tools.calls == [("delete_records", {"table": "t"})] and recorder.seen == []


async def test_public_api_path_governs_without_private_access(gov, tools: Tools, recorder: Recorder) -> None:
    agent = AssistantAgent(
        "billing",
        model_client=LictorModelClient(model(call("pay", {"amount": 3, "card": "4111"}), call("delete_records", {"table": "t"}), "done"),
                                       gov, agent="billing"),
        workbench=LictorWorkbench(tools.all(), gov, agent="billing"),
        max_tool_iterations=3,
    )
    res = await asyncio.wait_for(agent.run(task="pay then wipe"), TIMEOUT)
    assert tools.calls == [("pay", {"amount": 3, "card": "[REDACTED]"})]
    errors = [r for m in res.messages if isinstance(m, ToolCallExecutionEvent) for r in m.content if r.is_error]
    assert len(errors) == 1 and "deleting records" in errors[0].content
    assert recorder.verdicts("tool_call") == ["redact", "deny"]


async def test_monitor_mode_records_but_never_blocks(tools: Tools) -> None:
    rec = Recorder()
    g = lictor.Governor.from_dict({**POLICY, "mode": "monitor"}, plugins=[rec], load_entrypoints=False)
    agent = govern(AssistantAgent("a", model_client=model(call("delete_records", {"table": "t"}), "x"),
                                  tools=tools.all()), g)
    await asyncio.wait_for(agent.run(task="go"), TIMEOUT)
    assert tools.calls == [("delete_records", {"table": "t"})]
    assert rec.verdicts("tool_call") == ["deny"]
    g.close()
