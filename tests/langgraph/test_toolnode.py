"""A hand-built StateGraph with a governed ToolNode: the same verdicts without create_agent."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import ToolMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition
from langgraph.types import Command

from lictor_langgraph import LictorMiddleware, RunHalted, govern, governed_tool_node, tool_wrappers

from conftest import MODES, RAN, TOOLS, ask, call, drive, model, says


def graph(m, tool_node) -> Any:
    def agent(state: MessagesState) -> dict[str, Any]:
        return {"messages": [m.invoke(state["messages"])]}

    async def aagent(state: MessagesState) -> dict[str, Any]:
        return {"messages": [await m.ainvoke(state["messages"])]}

    from langchain_core.runnables import RunnableLambda
    b = StateGraph(MessagesState)
    b.add_node("agent", RunnableLambda(agent, afunc=aagent))
    b.add_node("tools", tool_node)
    b.add_edge(START, "agent")
    b.add_conditional_edges("agent", tools_condition)
    b.add_edge("tools", "agent")
    return b.compile(checkpointer=InMemorySaver())


def tool_msgs(state):
    return {m.tool_call_id: m for m in state["messages"] if isinstance(m, ToolMessage)}


@pytest.mark.parametrize("mode", MODES)
def test_raw_graph_allow_redact_deny_and_output_redaction(gov, mode):
    ok, red, bad, out = (call("issue_refund", amount=5), call("send_email", to="a@example.com", body="4111111111111111"),
                         call("shell", cmd="ls"), call("lookup_customer", customer_id="1"))
    g = graph(model(says(ok, red, bad, out), says(text="done")), governed_tool_node(TOOLS, gov, agent="raw-agent"))
    state = drive(g, ask("go"), f"raw-{mode}", mode)
    msgs = tool_msgs(state)
    assert [msgs[c["id"]].status for c in (ok, red, bad, out)] == ["success", "success", "error", "success"]
    assert ("send_email", {"to": "a@example.com", "body": "[CARD]"}) in RAN
    assert msgs[out["id"]].content == "customer 1: card [CARD], status gold"
    assert state["messages"][-1].content == "done"


@pytest.mark.parametrize("mode", MODES)
def test_raw_graph_approval_pauses_and_resumes(gov, recorder, mode):
    c = call("issue_refund", amount=500)
    g = graph(model(says(c), says(text="done")), ToolNode(TOOLS, **tool_wrappers(gov)))
    state = drive(g, ask("refund"), f"rawap-{mode}", mode)
    assert state["interrupts"][0].value["action"]["args"] == {"amount": 500}
    state = drive(g, Command(resume={"type": "approve", "approver": "alice"}), f"rawap-{mode}", mode)
    assert RAN == [("issue_refund", {"amount": 500, "iban": "DE00"})]
    assert [d.verdict for d in recorder.about(c["id"]) if d.output is None] == ["approve", "allow"]


def test_tool_errors_handled_by_toolnode_still_get_the_output_check(gov, recorder):
    c = call("flaky", x=1)
    g = graph(model(says(c), says(text="done")), governed_tool_node(TOOLS, gov, handle_tool_errors=True))
    state = drive(g, ask("try"), "handled", "invoke")
    msg = tool_msgs(state)[c["id"]]
    assert msg.status == "error" and "backend down" in msg.content
    assert [d.verdict for d in recorder.about(c["id"])] == ["allow", "allow"]  # action + output check


def test_kill_switch_in_a_raw_graph_raises_run_halted(gov):
    gov.kill_switch.engage("maintenance")
    g = graph(model(says(call("issue_refund", amount=1))), governed_tool_node(TOOLS, gov))
    with pytest.raises(RunHalted, match="maintenance"):
        drive(g, ask("go"), "rawkill", "invoke")
    assert RAN == []


def test_govern_builds_governed_tool_nodes_and_explains_what_it_cannot_wrap(gov):
    node = govern(ToolNode(TOOLS, name="my_tools", handle_tool_errors=True), gov)
    assert isinstance(node, ToolNode) and node.name == "my_tools" and set(node.tools_by_name) == {t.name for t in TOOLS}
    assert isinstance(govern(TOOLS, gov), ToolNode)
    g = graph(model(says(text="x")), ToolNode(TOOLS))
    with pytest.raises(TypeError, match="LictorMiddleware"):
        govern(g, gov)


def test_middleware_rejects_what_is_not_a_governor():
    with pytest.raises(TypeError, match="lictor.Governor"):
        LictorMiddleware(object())  # type: ignore[arg-type]
