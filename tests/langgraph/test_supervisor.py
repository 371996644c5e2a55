"""A supervisor graph: hand-offs (``transfer_to_*`` tools returning ``Command(graph=PARENT)``)
are ``handoff`` actions; each agent is governed under its own name."""

from __future__ import annotations


import pytest
from langchain.agents import create_agent
from langchain.tools import ToolRuntime
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.types import Command

from lictor_langgraph import LictorMiddleware

from conftest import MODES, RAN, TOOLS, ask, call, drive, model, says


def handoff(agent_name: str):
    @tool(f"transfer_to_{agent_name}")
    def transfer(runtime: ToolRuntime) -> Command:
        """Hand the conversation to another agent."""
        note = ToolMessage(f"transferred to {agent_name}", tool_call_id=runtime.tool_call_id)
        return Command(goto=agent_name, graph=Command.PARENT,
                       update={"messages": runtime.state["messages"] + [note]})
    return transfer


def supervisor_graph(gov, supervisor_replies, billing_replies):
    mw = LictorMiddleware(gov)  # one middleware instance may serve every agent
    supervisor = create_agent(model(*supervisor_replies), [handoff("billing"), handoff("finance")],
                              middleware=[mw], name="supervisor")
    billing = create_agent(model(*billing_replies), TOOLS, middleware=[mw], name="billing")
    finance = create_agent(model(says(text="finance here")), TOOLS, middleware=[mw], name="finance")
    b = StateGraph(MessagesState)
    b.add_node("supervisor", supervisor, destinations=("billing", "finance", END))
    b.add_node("billing", billing)
    b.add_node("finance", finance)
    b.add_edge(START, "supervisor")
    b.add_edge("billing", END)
    b.add_edge("finance", END)
    return b.compile(checkpointer=InMemorySaver())


@pytest.mark.parametrize("mode", MODES)
def test_allowed_hand_off_reaches_the_other_agent_governed_under_its_name(gov, recorder, mode):
    h, refund = call("transfer_to_billing"), call("issue_refund", amount=30)
    g = supervisor_graph(gov, [says(h)], [says(refund), says(text="billing: refunded")])
    state = drive(g, ask("refund please"), f"sup-{mode}", mode)
    assert state["messages"][-1].content == "billing: refunded"
    assert RAN == [("issue_refund", {"amount": 30, "iban": "DE00"})]
    (ha,) = [a for a, d in recorder.decisions if a.call_id == h["id"]]
    assert (ha.kind, ha.name, ha.agent, ha.metadata["tool"]) == ("handoff", "billing", "supervisor", "transfer_to_billing")
    ra = [a for a, d in recorder.decisions if a.call_id == refund["id"]][0]
    assert (ra.agent, ra.session) == ("billing", f"sup-{mode}")


@pytest.mark.parametrize("mode", MODES)
def test_denied_hand_off_stays_with_the_supervisor(gov, recorder, mode):
    h = call("transfer_to_finance")
    g = supervisor_graph(gov, [says(h), says(text="I cannot pass you to finance")], [says(text="unused")])
    state = drive(g, ask("finance please"), f"supno-{mode}", mode)
    assert state["messages"][-1].content == "I cannot pass you to finance"
    assert [d.verdict for d in recorder.about(h["id"])] == ["deny"]
    assert not any(isinstance(m, AIMessage) and m.content == "finance here" for m in state["messages"])
