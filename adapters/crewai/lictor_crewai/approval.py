"""Asking a human (or an approving system) when a policy says ``approve``.

A CrewAI crew cannot be paused and resumed in the middle of a tool call: the hook must answer
before the tool runs. So the adapter asks an *approver* synchronously, bounded by a timeout that
denies (fail closed), and records the answer with ``Governor.resolve_approval``.

CrewAI's own pause (``@human_feedback`` / ``HumanFeedbackPending`` in Flows) does not fit: it
pauses a flow *method* after it returned, to collect feedback on its output, and a hook cannot
raise it (the hook engine swallows every exception but ``HookAborted`` and then runs the tool).

An approver is any callable ``(action, decision) -> Approval | bool | None``: ``True`` / ``False``
is an answer from an approver named after the callable; ``None`` means "no answer" (denied).
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Optional, Union

from lictor import Action, Approval, Decision
from lictor.protections.human_trust import approval_summary

__all__ = ["Approver", "approval_text", "console_approver", "ask"]

Approver = Callable[[Action, Decision], Union[Approval, bool, None]]


def approval_text(action: Action, decision: Decision) -> str:
    """What a human approver should read (ASI09): built by
    :func:`lictor.protections.human_trust.approval_summary` from the action and the decision
    only — what would run, each argument (secrets masked), why it was flagged, the rules and the
    OWASP risks; arguments in which the agent argues for its own call (``reason``,
    ``justification``, ...) are listed apart, labelled unverified."""
    return str(approval_summary(action, decision)["text"])


def console_approver(action: Action, decision: Decision) -> Approval:
    """The default approver: shows :func:`approval_text` on the console and asks (``y``
    approves, anything else refuses)."""
    pause = resume = None
    try:  # CrewAI's live console output would draw over the question
        from crewai.events.event_listener import event_listener

        pause = event_listener.formatter.pause_live_updates
        resume = event_listener.formatter.resume_live_updates
    except Exception:  # pragma: no cover - console niceties only
        pass
    if pause:
        pause()
    try:
        print(f"\n[lictor] approval needed\n{approval_text(action, decision)}")
        answer = input("[lictor] approve? [y/N] ").strip().lower()
    finally:
        if resume:
            resume()
    return Approval(approved=answer in ("y", "yes"), approver="console")


def _name_of(fn: Any) -> str:
    return str(getattr(fn, "__name__", None) or type(fn).__name__)


def ask(approver: Approver, action: Action, decision: Decision, timeout: Optional[float]) -> Approval:
    """Ask ``approver`` and return its answer as an :class:`Approval`; never raises.

    No answer within ``timeout`` seconds, an approver that fails, or an answer that is not an
    approval all become a refusal (fail closed) whose comment says which it was. The approver
    runs in a daemon thread so a console prompt left unanswered cannot keep the process alive.
    """
    result: dict[str, Any] = {}
    done = threading.Event()

    def run() -> None:
        try:
            result["answer"] = approver(action, decision)
        except BaseException as exc:  # noqa: BLE001 - every failure becomes a refusal
            result["error"] = exc
        finally:
            done.set()

    worker = threading.Thread(target=run, name="lictor-approver", daemon=True)
    worker.start()
    if not done.wait(timeout):
        return Approval(approved=False, approver="lictor-timeout",
                        comment=f"no answer within {timeout:g} s; refused")
    if "error" in result:
        exc = result["error"]
        return Approval(approved=False, approver=_name_of(approver),
                        comment=f"approver failed ({type(exc).__name__}: {exc}); refused")
    answer = result.get("answer")
    if isinstance(answer, Approval):
        return answer
    if isinstance(answer, bool):
        return Approval(approved=answer, approver=_name_of(approver))
    return Approval(approved=False, approver=_name_of(approver),
                    comment="approver gave no answer; refused")
