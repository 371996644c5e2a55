"""Each verdict, end to end through a real create_agent agent: invoke, ainvoke and astream."""

from __future__ import annotations

import asyncio

import pytest
from langchain.agents import create_agent
from langchain_core.messages import ToolMessage
from langgraph.checkpoint.memory import InMemorySaver

import lictor
from lictor_langgraph import LictorMiddleware

from conftest import MODES, POLICY, RAN, TOOLS, ask, call, drive, model, says


def agent_for(gov, *replies, **options):
    return create_agent(model(*replies), TOOLS, middleware=[LictorMiddleware(gov, **options)],
                        checkpointer=InMemorySaver(), name="support-7")


def tool_messages(state):
    return {m.tool_call_id: m for m in state["messages"] if isinstance(m, ToolMessage)}


@pytest.mark.parametrize("mode", MODES)
def test_allowed_call_runs_unchanged(gov, recorder, mode):
    c = call("issue_refund", amount=50, iban="DE89")
    state = drive(agent_for(gov, says(c), says(text="done")), ask("refund 50"), f"allow-{mode}", mode)
    assert RAN == [("issue_refund", {"amount": 50, "iban": "DE89"})]
    msg = tool_messages(state)[c["id"]]
    assert msg.status == "success" and msg.content == "refunded 50 EUR to DE89"
    first = recorder.about(c["id"])[0]
    assert first.verdict == "allow"
    action = [a for a, d in recorder.decisions if a.call_id == c["id"]][0]
    assert (action.kind, action.agent, action.session) == ("tool_call", "support-7", f"allow-{mode}")


@pytest.mark.parametrize("mode", MODES)
def test_redacted_arguments_reach_the_tool(gov, mode):
    c = call("send_email", to="ann@example.com", body="card 4111111111111111 on file")
    state = drive(agent_for(gov, says(c), says(text="done")), ask("mail ann"), f"redact-{mode}", mode)
    assert RAN == [("send_email", {"to": "ann@example.com", "body": "card [CARD] on file"})]
    assert tool_messages(state)[c["id"]].status == "success"
    # The conversation keeps the model's own proposal; only the executed call was rewritten.
    assert state["messages"][1].tool_calls[0]["args"]["body"] == "card 4111111111111111 on file"


@pytest.mark.parametrize("mode", MODES)
def test_denied_call_answers_with_a_safe_error_tool_message(gov, recorder, mode):
    c = call("shell", cmd="rm -rf /")
    state = drive(agent_for(gov, says(c), says(text="sorry, I cannot")), ask("clean up"), f"deny-{mode}", mode)
    assert RAN == []
    msg = tool_messages(state)[c["id"]]
    assert msg.status == "error" and msg.name == "shell"
    assert "shell commands are not allowed for support agents" in msg.content
    assert "no-shell" in msg.content and "Do not retry" in msg.content
    assert state["messages"][-1].content == "sorry, I cannot"  # the model read it and went on
    assert [d.verdict for d in recorder.about(c["id"])] == ["deny"]


@pytest.mark.parametrize("mode", MODES)
def test_strict_mode_raises_policy_violation(gov, mode):
    c = call("shell", cmd="id")
    agent = agent_for(gov, says(c), says(text="unreachable"), strict=True)
    with pytest.raises(lictor.PolicyViolation) as err:
        drive(agent, ask("id"), f"strict-{mode}", mode)
    assert err.value.decision.rule_ids == ("no-shell",)
    assert RAN == []


@pytest.mark.parametrize("mode", MODES)
def test_tool_output_is_redacted_before_the_model_reads_it(gov, recorder, mode):
    c = call("lookup_customer", customer_id="42")
    agent = agent_for(gov, says(c), says(text="done"))
    state = drive(agent, ask("who is 42"), f"out-{mode}", mode)
    msg = tool_messages(state)[c["id"]]
    assert msg.content == "customer 42: card [CARD], status gold"
    assert "4111111111111111" not in str(agent.get_state({"configurable": {"thread_id": f"out-{mode}"}}).values)
    assert [d.verdict for d in recorder.about(c["id"])] == ["allow", "redact"]  # action, then output


@pytest.mark.parametrize("mode", MODES)
def test_parallel_tool_calls_in_one_step_are_each_decided_once(gov, recorder, mode):
    calls = [call("issue_refund", amount=20), call("shell", cmd="ls"),
             call("send_email", to="x@evil.test", body="hi"), call("lookup_customer", customer_id="7")]
    state = drive(agent_for(gov, says(*calls), says(text="done")), ask("do all"), f"par-{mode}", mode)
    msgs = tool_messages(state)
    assert [msgs[c["id"]].status for c in calls] == ["success", "error", "error", "success"]
    assert sorted(name for name, _ in RAN) == ["issue_refund", "lookup_customer"]
    for c in calls:  # one action decision per call (+ one output decision when it ran)
        action_phase = [d for a, d in recorder.decisions if a.call_id == c["id"] and d.output is None]
        assert len(action_phase) == 1


@pytest.mark.parametrize("mode", MODES)
def test_a_tool_that_raises_propagates_and_is_decided_once(gov, recorder, mode):
    c = call("flaky", x=1)
    agent = agent_for(gov, says(c), says(text="unreachable"))
    with pytest.raises(ValueError, match="backend down"):
        drive(agent, ask("try"), f"raise-{mode}", mode)
    assert RAN == [("flaky", {"x": 1})]
    assert [d.verdict for d in recorder.about(c["id"])] == ["allow"]  # no output check: no output


def test_monitor_mode_records_but_never_blocks(recorder):
    gov = lictor.Governor.from_dict({**POLICY, "mode": "monitor"}, plugins=[recorder], load_entrypoints=False)
    c = call("shell", cmd="ls")
    state = drive(agent_for(gov, says(c), says(text="done")), ask("ls"), "monitor", "invoke")
    assert RAN == [("shell", {"cmd": "ls"})]
    assert tool_messages(state)[c["id"]].status == "success"
    d = recorder.about(c["id"])[0]
    assert d.verdict == "deny" and not d.enforced


def test_without_a_thread_id_the_agent_still_runs_governed(gov, recorder):
    c = call("shell", cmd="ls")
    agent = create_agent(model(says(c), says(text="ok")), TOOLS, middleware=[LictorMiddleware(gov, agent="a1")])
    out = agent.invoke(ask("ls"))
    assert [m.status for m in out["messages"] if isinstance(m, ToolMessage)] == ["error"]
    action = [a for a, d in recorder.decisions if a.call_id == c["id"]][0]
    assert action.agent == "a1" and action.session is None
    out = asyncio.run(agent.ainvoke(ask("ls")))
    assert RAN == []
