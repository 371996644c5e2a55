"""Human approval the LangGraph way: ``interrupt()`` with a summary, ``Command(resume=...)`` back.

When the Governor says ``approve`` and no approver plugin answered, the adapter pauses the run
with :func:`langgraph.types.interrupt`. The interrupt value (:func:`approval_request`) tells the
human exactly what would run and why it needs them: the action, its arguments, the reasons, the
rule ids and the OWASP risks, built from the action and never from the model's own
justification (ASI09). The human answers by resuming the thread::

    agent.invoke(Command(resume={"type": "approve", "approver": "alice"}), config)
    agent.invoke(Command(resume={"type": "edit", "args": {"amount": 90}, "approver": "alice"}), config)
    agent.invoke(Command(resume={"type": "reject", "approver": "alice", "comment": "no"}), config)

:func:`parse_answer` turns that answer into a :class:`lictor.Approval`. Anything it does not
recognise is a refusal (fail closed), with the reason recorded.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

from lictor import Approval, Decision
from lictor.protections.human_trust import approval_summary

__all__ = ["APPROVAL_TYPE", "approval_request", "parse_answer"]

#: The ``type`` field of every interrupt value Lictor raises, to tell them from other interrupts.
APPROVAL_TYPE = "lictor_approval"

_YES = frozenset({"approve", "approved", "accept", "accepted", "allow", "yes", "y", "ok"})
_NO = frozenset({"reject", "rejected", "deny", "denied", "refuse", "no", "n"})


def approval_request(decision: Decision) -> dict[str, Any]:
    """The interrupt value: what to show the human, and the raw action for programs.

    ``summary`` (plain text) and ``details`` are what a person should be shown (ASI09): built by
    :func:`lictor.protections.human_trust.approval_summary` from the action and the decision
    only — what would run, the arguments (secrets masked), why it was flagged (the policy's
    reasons), the rules and the OWASP risks; arguments in which the model argues for its own call
    (``reason``, ``justification``, ...) are kept apart as ``agent_statements`` and labelled
    unverified. ``action`` is the action as proposed (unmasked), for an ``edit`` answer.
    """
    action = decision.action
    assert action is not None
    shown = approval_summary(action, decision)
    text = shown.pop("text")
    return {
        "type": APPROVAL_TYPE,
        "decision_id": decision.decision_id,
        "question": f"Allow {action.agent} to run {action.kind} {action.name!r}?",
        "title": shown["title"],
        "action": {
            "kind": action.kind,
            "name": action.name,
            "agent": action.agent,
            "session": action.session,
            "call_id": action.call_id,
            "args": dict(action.args),
            "content": action.content,
        },
        "reasons": list(decision.reasons),
        "rule_ids": list(decision.rule_ids),
        "risks": list(decision.risks),
        "summary": text,
        "details": shown,
        "answers": ["approve", "edit", "reject"],
        "resume_example": {"type": "approve | edit | reject", "approver": "your name",
                           "args": "edited arguments (edit only)", "comment": "optional"},
    }


def parse_answer(answer: Any, default_approver: str) -> Approval:
    """Read the human's ``Command(resume=...)`` value as an :class:`Approval`.

    Accepted: a :class:`lictor.Approval`; ``True`` / ``False``; a word (``"approve"``,
    ``"reject"``); or a dict with ``type`` (approve / edit / reject), optional ``approver``,
    ``comment`` (or ``message``) and, for ``edit``, ``args`` (or ``edited_action: {"args": ...}``).
    """
    if isinstance(answer, Approval):
        return answer
    if isinstance(answer, bool):
        return Approval(approved=answer, approver=default_approver)
    if isinstance(answer, str):
        word = answer.strip().lower()
        if word in _YES:
            return Approval(approved=True, approver=default_approver)
        if word in _NO:
            return Approval(approved=False, approver=default_approver)
        return _unreadable(answer, default_approver)
    if isinstance(answer, Mapping):
        approver = str(answer.get("approver") or default_approver)
        comment = answer.get("comment") or answer.get("message")
        comment = None if comment is None else str(comment)
        kind = str(answer.get("type") or answer.get("decision") or "").strip().lower()
        if kind == "edit":
            args = _edited_args(answer)
            if args is None:
                return Approval(approved=False, approver=approver,
                                comment="edit answer without `args` (a dict); refused")
            return Approval(approved=True, approver=approver, comment=comment, args=args)
        if kind in _YES:
            args = _edited_args(answer)
            return Approval(approved=True, approver=approver, comment=comment, args=args)
        if kind in _NO:
            return Approval(approved=False, approver=approver, comment=comment)
        return _unreadable(answer, approver)
    return _unreadable(answer, default_approver)


def _edited_args(answer: Mapping[str, Any]) -> Optional[dict[str, Any]]:
    args = answer.get("args")
    if args is None and isinstance(answer.get("edited_action"), Mapping):
        args = answer["edited_action"].get("args")
    return dict(args) if isinstance(args, Mapping) else None


def _unreadable(answer: Any, approver: str) -> Approval:
    text = repr(answer)
    if len(text) > 120:
        text = text[:117] + "..."
    return Approval(approved=False, approver=approver,
                    comment=f"unrecognised answer {text}; refused (answer approve, edit or reject)")
