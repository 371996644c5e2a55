"""The kill switch ends the run cleanly at the next step, with the reason, in every run mode."""

from __future__ import annotations

import pytest
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver

from lictor_langgraph import LictorMiddleware, RunHalted

from conftest import MODES, RAN, TOOLS, ask, call, drive, model, says


@pytest.mark.parametrize("mode", MODES)
def test_engaged_kill_switch_stops_before_the_first_model_call(gov, mode):
    gov.kill_switch.engage("incident 7")
    m = model(says(call("issue_refund", amount=1)))
    agent = create_agent(m, TOOLS, middleware=[LictorMiddleware(gov)], checkpointer=InMemorySaver())
    state = drive(agent, ask("refund"), f"ks-{mode}", mode)
    assert m.prompts == [] and RAN == []
    last = state["messages"][-1]
    assert isinstance(last, AIMessage) and not last.tool_calls
    assert "Lictor stopped this run" in last.content and "incident 7" in last.content


@pytest.mark.parametrize("mode", MODES)
def test_kill_switch_engaged_mid_run_ends_it_at_the_next_step(gov, recorder, mode):
    @tool
    def page_oncall(why: str) -> str:
        """Page the on-call engineer (who pulls the kill switch for this thread)."""
        gov.kill_switch.engage(f"on-call stopped it: {why}", session=f"mid-{mode}")
        return "paged"

    later = call("issue_refund", amount=3)
    m = model(says(call("page_oncall", why="fraud")), says(later), says(text="never"))
    agent = create_agent(m, TOOLS + [page_oncall], middleware=[LictorMiddleware(gov)], checkpointer=InMemorySaver())
    state = drive(agent, ask("go"), f"mid-{mode}", mode)
    assert len(m.prompts) == 1 and RAN == []  # the second model step never ran
    assert "on-call stopped it: fraud" in state["messages"][-1].content
    assert [d.rule_ids for a, d in recorder.decisions if d.halt] == [("kill_switch",)]


def test_halt_on_a_tool_call_refuses_it_and_stops_next_step(gov):
    c1, c2 = call("issue_refund", amount=1), call("send_email", to="a@example.com", body="x")
    m = model(says(c1, c2), says(text="never"))
    agent = create_agent(m, TOOLS, middleware=[LictorMiddleware(gov, check_models=False)], checkpointer=InMemorySaver())
    gov.kill_switch.engage("stop all tools", agent="langgraph-agent")
    state = drive(agent, ask("go"), "toolhalt", "invoke")
    msgs = [m_ for m_ in state["messages"] if isinstance(m_, ToolMessage)]
    assert [x.status for x in msgs] == ["error", "error"] and RAN == []
    assert "stop all tools" in state["messages"][-1].content and len(m.prompts) == 1


def test_on_halt_raise_raises_run_halted(gov):
    gov.kill_switch.engage("now")
    agent = create_agent(model(says(text="x")), TOOLS, middleware=[LictorMiddleware(gov, on_halt="raise")])
    with pytest.raises(RunHalted, match="now"):
        agent.invoke(ask("hi"))
