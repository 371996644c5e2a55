"""Translate between LangGraph objects and Lictor's: tool calls and prompts to Actions, decisions
to the messages the agent reads.

Kept apart from the middleware so the same translation serves ``create_agent`` middleware and a
hand-built graph's ``ToolNode`` wrappers, and so the wording the model sees lives in one place.
"""

from __future__ import annotations

import fnmatch
from typing import Any, Callable, Iterable, Optional, Sequence, Union

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)

from lictor import Action, Decision

__all__ = [
    "FRAMEWORK",
    "PROMPT_SEPARATOR",
    "HandoffMatcher",
    "handoff_recipient",
    "tool_action",
    "prompt_parts",
    "refusal_text",
    "deny_tool_message",
    "message_text",
]

FRAMEWORK = "langgraph"

#: Joins the messages of a prompt in a ``model_call`` action's ``content``. A line holding only
#: the ASCII record separator: never typed by people, so a redaction can be mapped back to the
#: message it came from.
PROMPT_SEPARATOR = "\n\x1e\n"

#: Names of hand-off tools (supervisor / swarm): glob patterns or a predicate on the tool name.
HandoffMatcher = Union[Sequence[str], Callable[[str], bool]]
DEFAULT_HANDOFF_PATTERNS: tuple[str, ...] = ("transfer_to_*", "transfer_back_to_*")

_MAX_REASON = 400
# Trust of a message's text, by message type (DESIGN 3b). An AIMessage named after another agent
# is that agent speaking (untrusted); the agent's own earlier replies are not labelled.
_TRUSTED = {"user", "system"}


def handoff_recipient(tool_name: str, matcher: HandoffMatcher) -> Optional[str]:
    """The agent a hand-off tool transfers to, or None when the tool is not a hand-off."""
    if callable(matcher):
        if not matcher(tool_name):
            return None
    elif not any(fnmatch.fnmatchcase(tool_name, p) for p in matcher):
        return None
    for prefix in ("transfer_back_to_", "transfer_to_"):
        if tool_name.startswith(prefix):
            return tool_name[len(prefix):] or tool_name
    return tool_name


def tool_action(
    tool_call: dict[str, Any],
    agent: str,
    session: Optional[str],
    matcher: HandoffMatcher,
    signature: Optional[dict[str, Any]] = None,
) -> Action:
    """The Action for one proposed tool call: ``kind="handoff"`` (name = recipient) for a
    hand-off tool, else ``kind="tool_call"`` (name = tool name). ``signature`` (a hand-off's
    ASI07 signature) goes into ``metadata["signature"]``."""
    name = tool_call.get("name") or ""
    args = tool_call.get("args")
    recipient = handoff_recipient(name, matcher)
    if recipient is not None:
        meta: dict[str, Any] = {"framework": FRAMEWORK, "tool": name}
        if signature is not None:
            meta["signature"] = signature
        return Action(kind="handoff", agent=agent, name=recipient, args=dict(args or {}),
                      session=session, call_id=tool_call.get("id"), metadata=meta)
    return Action(kind="tool_call", agent=agent, name=name, args=dict(args or {}),
                  session=session, call_id=tool_call.get("id"),
                  metadata={"framework": FRAMEWORK})


def message_text(message: BaseMessage) -> str:
    """The text of a message (text blocks of multi-part content joined)."""
    content = message.content
    if isinstance(content, str):
        return content
    parts = []
    for block in content:
        if isinstance(block, str):
            parts.append(block)
        elif isinstance(block, dict) and isinstance(block.get("text"), str):
            parts.append(block["text"])
    return "".join(parts)


def message_source(message: BaseMessage, agent: str) -> Optional[str]:
    """Where a prompt message's text came from (DESIGN 3b), or None for the agent's own words."""
    if isinstance(message, SystemMessage):
        return "system"
    if isinstance(message, HumanMessage):
        return "user"
    if isinstance(message, ToolMessage):
        return "tool"
    if isinstance(message, AIMessage):
        return "agent" if message.name and message.name != agent else None
    return "agent"


def prompt_parts(
    system: Optional[SystemMessage], messages: Iterable[BaseMessage], agent: str
) -> tuple[list[BaseMessage], list[str], list[Optional[str]]]:
    """The messages of a prompt in order, with their texts and sources."""
    msgs: list[BaseMessage] = ([system] if system is not None else []) + list(messages)
    texts = [message_text(m) for m in msgs]
    sources = [message_source(m, agent) for m in msgs]
    return msgs, texts, sources


def least_trusted(sources: Iterable[Optional[str]]) -> str:
    """``user`` when every labelled source is trusted, else the first untrusted source seen
    (``tool`` before ``agent``: tool results are the classic indirect-injection channel)."""
    seen = {s for s in sources if s is not None}
    for s in ("tool", "retrieval", "memory", "agent"):
        if s in seen:
            return s
    return "user"


def refusal_text(decision: Decision, what: str) -> str:
    """What the model reads when Lictor refuses: safe, short, and actionable."""
    reasons = "; ".join(r for r in decision.reasons if r) or "the policy does not allow it"
    if len(reasons) > _MAX_REASON:
        reasons = reasons[: _MAX_REASON - 3] + "..."
    rules = f" (rule {', '.join(decision.rule_ids)})" if decision.rule_ids else ""
    if decision.halt:
        return (f"Lictor stopped this run: {reasons}{rules}. {what[:1].upper()}{what[1:]} was not run. "
                "Do not call any more tools; tell the user the run was stopped.")
    return (f"Lictor policy refused {what}: {reasons}{rules}. It was not run. "
            "Do not retry it with the same arguments; tell the user it is not allowed "
            "or choose another way.")


def deny_tool_message(tool_call: dict[str, Any], decision: Decision, what: str) -> ToolMessage:
    """The error ToolMessage that answers a refused tool call (the model can act on it)."""
    return ToolMessage(
        content=refusal_text(decision, what),
        name=tool_call.get("name"),
        tool_call_id=tool_call.get("id") or "",
        status="error",
        additional_kwargs={"lictor": {"verdict": decision.verdict, "decision_id": decision.decision_id,
                                      "rule_ids": list(decision.rule_ids), "halt": decision.halt}},
    )
