"""Every access to AutoGen's private attributes, in one place.

AutoGen AgentChat 0.7 has no public hook for an *existing* agent's tools or model client, nor
for an existing team's runtime or termination condition: ``govern()`` has to swap them on the
objects. This module is the only one that touches ``_underscore`` attributes of AutoGen objects,
so that a new AutoGen release that moves them breaks here, loudly, and nowhere else:
:func:`check_layout` builds real AutoGen objects and reports every attribute that is missing or
changed type; ``tests/autogen/test_private_layout.py`` fails when it reports anything.

Users who want no private access at all build their agents with
``workbench=LictorWorkbench(...)`` and ``model_client=LictorModelClient(...)`` instead.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.base import TerminationCondition
from autogen_agentchat.teams import BaseGroupChat

# The messages a team's runtime carries between its manager and agents are only defined in a
# private module; messages.py matches on them (fields used: GroupChatStart.messages,
# GroupChatMessage.message, GroupChatAgentResponse.response.chat_message).
from autogen_agentchat.teams._group_chat._events import (  # noqa: F401  (re-exported)
    GroupChatAgentResponse,
    GroupChatMessage,
    GroupChatStart,
)
from autogen_core import SingleThreadedAgentRuntime
from autogen_core.models import ChatCompletionClient
from autogen_core.tools import Workbench

__all__ = [
    "GroupChatAgentResponse",
    "GroupChatMessage",
    "GroupChatStart",
    "agent_workbenches",
    "set_agent_workbenches",
    "agent_model_client",
    "set_agent_model_client",
    "agent_handoff_targets",
    "team_participants",
    "team_runtime",
    "team_initialized",
    "team_termination",
    "set_team_termination",
    "add_intervention_handler",
    "remove_intervention_handler",
    "check_layout",
]


# -- AssistantAgent ----------------------------------------------------------------------------
def agent_workbenches(agent: AssistantAgent) -> List[Workbench]:
    """The workbenches the agent calls tools on (``tools=`` is wrapped into one in __init__)."""
    return list(agent._workbench)


def set_agent_workbenches(agent: AssistantAgent, workbenches: List[Workbench]) -> None:
    # on_messages_stream reads self._workbench at the start of every turn, so a swap between
    # runs (or between turns) takes effect without rebuilding the agent.
    agent._workbench = workbenches


def agent_model_client(agent: AssistantAgent) -> ChatCompletionClient:
    return agent._model_client


def set_agent_model_client(agent: AssistantAgent, client: ChatCompletionClient) -> None:
    agent._model_client = client


def agent_handoff_targets(agent: AssistantAgent) -> Dict[str, str]:
    """Hand-off tool name -> target agent name (``transfer_to_x`` -> ``x``)."""
    return {name: h.target for name, h in agent._handoffs.items()}


# -- teams -------------------------------------------------------------------------------------
def team_participants(team: BaseGroupChat) -> List[Any]:
    return list(team._participants)


def team_runtime(team: BaseGroupChat) -> Any:
    return team._runtime


def team_initialized(team: BaseGroupChat) -> bool:
    # After the first run the group chat manager holds the termination condition it was built
    # with; swapping team._termination_condition then has no effect.
    return bool(team._initialized)


def team_termination(team: BaseGroupChat) -> Optional[TerminationCondition]:
    return team._termination_condition


def set_team_termination(team: BaseGroupChat, condition: Optional[TerminationCondition]) -> None:
    team._termination_condition = condition


def add_intervention_handler(team: BaseGroupChat, handler: Any) -> bool:
    """Put ``handler`` first on the team's runtime; False when the runtime has no such list."""
    runtime = team._runtime
    if not isinstance(runtime, SingleThreadedAgentRuntime):
        return False
    handlers = runtime._intervention_handlers
    if handlers is None:
        runtime._intervention_handlers = [handler]
    elif handler not in handlers:
        handlers.insert(0, handler)
    return True


def remove_intervention_handler(team: BaseGroupChat, handler: Any) -> None:
    runtime = team._runtime
    handlers = getattr(runtime, "_intervention_handlers", None)
    if handlers and handler in handlers:
        handlers.remove(handler)


# -- the loud check ------------------------------------------------------------------------------
def check_layout() -> List[str]:
    """Build real AutoGen objects and list every private attribute this module relies on that
    is missing or has changed shape. An empty list means this AutoGen release is supported."""
    from autogen_agentchat.base import Handoff
    from autogen_agentchat.conditions import MaxMessageTermination
    from autogen_agentchat.teams import RoundRobinGroupChat
    from autogen_core.tools import FunctionTool
    from autogen_ext.models.replay import ReplayChatCompletionClient

    problems: List[str] = []

    def tool(x: int) -> int:
        """Return x."""
        return x

    client = ReplayChatCompletionClient(
        ["ok"],
        model_info={"vision": False, "function_calling": True, "json_output": False,
                    "family": "unknown", "structured_output": False},
    )
    agent = AssistantAgent("probe", model_client=client, tools=[FunctionTool(tool, description="x")],
                           handoffs=[Handoff(target="other")])
    wb = getattr(agent, "_workbench", None)
    if not isinstance(wb, list) or not all(isinstance(w, Workbench) for w in wb):
        problems.append(f"AssistantAgent._workbench is not a list of Workbench (got {type(wb).__name__})")
    if getattr(agent, "_model_client", None) is not client:
        problems.append("AssistantAgent._model_client does not hold the model client")
    handoffs = getattr(agent, "_handoffs", None)
    if not isinstance(handoffs, dict) or getattr(handoffs.get("transfer_to_other"), "target", None) != "other":
        problems.append("AssistantAgent._handoffs is not {tool name: Handoff(target=...)}")
    term = MaxMessageTermination(3)
    team = RoundRobinGroupChat([agent], termination_condition=term)
    if getattr(team, "_participants", None) != [agent]:
        problems.append("BaseGroupChat._participants does not list the participants")
    if getattr(team, "_termination_condition", None) is not term:
        problems.append("BaseGroupChat._termination_condition does not hold the termination condition")
    if getattr(team, "_initialized", None) is not False:
        problems.append("BaseGroupChat._initialized is missing")
    runtime = getattr(team, "_runtime", None)
    if not isinstance(runtime, SingleThreadedAgentRuntime):
        problems.append("BaseGroupChat._runtime is not a SingleThreadedAgentRuntime")
    elif not hasattr(runtime, "_intervention_handlers"):
        problems.append("SingleThreadedAgentRuntime._intervention_handlers is missing")
    for cls, fields in ((GroupChatStart, ("messages",)), (GroupChatMessage, ("message",)),
                        (GroupChatAgentResponse, ("response", "name"))):
        missing = [f for f in fields if f not in cls.model_fields]
        if missing:
            problems.append(f"{cls.__name__} has no field(s) {missing}")
    return problems
