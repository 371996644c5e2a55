"""Translate CrewAI hook contexts into Lictor actions.

The adapter's only job is translation: a ``ToolCallHookContext`` becomes a ``tool_call`` (or a
``handoff`` for CrewAI's delegation tools), an ``LLMCallHookContext`` a ``model_call``. The agent
is the CrewAI agent's role (what policies and people call it); the session comes from the scope.
"""

from __future__ import annotations

from typing import Any, Optional

from lictor import Action

__all__ = ["DELEGATION_TOOLS", "tool_action", "model_action", "agent_name", "message_text"]

#: CrewAI's delegation tools ("Delegate work to coworker", "Ask question to coworker") as the
#: hooks see them (sanitised names). Calling one hands work to another agent: kind="handoff".
DELEGATION_TOOLS = {
    "delegate_work_to_coworker": "delegate_work",
    "ask_question_to_coworker": "ask_question",
}

FRAMEWORK = "crewai"


def agent_name(agent: Any) -> str:
    """The agent's role, or a stable placeholder when CrewAI gives none (a direct LLM call)."""
    role = getattr(agent, "role", None)
    if isinstance(role, str) and role.strip():
        return role.strip()
    return "crewai-agent"


def _task_label(task: Any) -> Optional[str]:
    if task is None:
        return None
    name = getattr(task, "name", None)
    if name:
        return str(name)
    desc = getattr(task, "description", None)
    return str(desc)[:80] if desc else None


def tool_action(ctx: Any, session: str, signer: Any = None) -> Action:
    """The Action for a PRE_TOOL_CALL context (arguments copied: CrewAI owns ``tool_input``).

    With ``signer`` (a core ``MessageSigner``) a delegation is signed here (ASI07): sender = the
    delegating agent's role, recipient = the coworker, content = the task or question (the
    arguments when there is none), exactly as put on the Action.
    """
    tool = str(ctx.tool_name)
    args = dict(ctx.tool_input) if isinstance(ctx.tool_input, dict) else {"input": ctx.tool_input}
    meta: dict[str, Any] = {"framework": FRAMEWORK, "source": "agent", "tool": tool}
    task = _task_label(getattr(ctx, "task", None))
    if task:
        meta["task"] = task
    if tool in DELEGATION_TOOLS:
        # A handoff's name is the recipient (DESIGN §2); which delegation tool is in metadata.
        recipient = args.get("coworker")
        meta["delegation"] = DELEGATION_TOOLS[tool]
        sender, name = agent_name(ctx.agent), str(recipient) if recipient else tool
        content = str(args.get("task") or args.get("question") or "") or None
        if signer is not None:
            signed = signer.sign(sender=sender, recipient=name, content=content if content is not None else args)
            meta["signature"] = dict(signed["signature"])
        return Action(kind="handoff", agent=sender, name=name, args=args, content=content,
                      session=session, metadata=meta)
    return Action(kind="tool_call", agent=agent_name(ctx.agent), name=tool, args=args,
                  session=session, metadata=meta)


def message_text(message: Any) -> str:
    """The text of one chat message (CrewAI messages are dicts; content may be a list of parts)."""
    content = message.get("content") if isinstance(message, dict) else getattr(message, "content", message)
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                parts.append(part["text"])
            elif isinstance(part, str):
                parts.append(part)
        return "\n".join(parts)
    return str(content)


def model_name(llm: Any) -> str:
    model = getattr(llm, "model", None)
    return str(model) if model else type(llm).__name__


def model_action(ctx: Any, session: str, new_from: int, sep: str = "\n") -> Action:
    """The Action for a PRE_MODEL_CALL context.

    ``content`` is the text added to the conversation since this agent's previous model call
    (messages ``new_from`` onwards, without the system prompt), joined by ``sep``: that is what
    is new for a check to judge (the task on the first call, a tool's observation later). Its
    source is ``user`` on the first call (the task the user wrote) and ``tool`` afterwards.
    """
    messages = ctx.messages if isinstance(ctx.messages, list) else []
    fresh = [m for m in messages[new_from:]
             if isinstance(m, dict) and m.get("role") != "system" and m.get("content")]
    text = sep.join(message_text(m) for m in fresh)
    meta: dict[str, Any] = {
        "framework": FRAMEWORK,
        "source": "user" if new_from == 0 else "tool",
        "iteration": int(getattr(ctx, "iterations", 0) or 0),
        "messages": len(messages),
    }
    task = _task_label(getattr(ctx, "task", None))
    if task:
        meta["task"] = task
    return Action(kind="model_call", agent=agent_name(ctx.agent), name=model_name(ctx.llm),
                  content=text or None, session=session, metadata=meta)
