"""Asking a human (or an approving system) in-process, the AutoGen way.

AutoGen has no checkpointed pause inside a tool call, so an ``approve`` verdict is answered by
awaiting an approver right where the call is: the same shape as ``UserProxyAgent``'s
``input_func`` (``(prompt) -> str`` or ``async (prompt, cancellation_token) -> str``), so a
console ``input``, a web form or a chat bot can answer. It may also return ``bool`` or a
``lictor.Approval``. No answer within the timeout means no (fail closed).
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any, Awaitable, Callable, Optional, Union

import lictor
from autogen_core import CancellationToken
from lictor.protections.human_trust import approval_summary

__all__ = ["Approver", "ask_approver", "approval_prompt"]

#: A UserProxyAgent-style input function, or one answering with a bool or a lictor.Approval.
Approver = Union[
    Callable[[str], Any],
    Callable[[str, Optional[CancellationToken]], Awaitable[Any]],
]

_YES = frozenset({"y", "yes", "approve", "approved", "ok", "allow", "accept"})


def approval_prompt(decision: lictor.Decision) -> str:
    """The question shown to the approver (ASI09): a summary built from the action and the
    decision only (what would run, with which arguments, why it was flagged, which risks), by
    :func:`lictor.protections.human_trust.approval_summary`. Arguments in which the agent
    argues for its own action (``reason``, ``justification``, ...) are shown apart, labelled
    unverified; secrets are masked."""
    a = decision.action
    assert a is not None
    return f"Lictor approval needed.\n{approval_summary(a, decision)['text']}\nApprove? [y/N] "


def _to_approval(answer: Any, approver_name: str) -> lictor.Approval:
    if isinstance(answer, lictor.Approval):
        return answer
    if isinstance(answer, bool):
        return lictor.Approval(approved=answer, approver=approver_name)
    text = str(answer).strip()
    first = text.split(None, 1)[0].lower().rstrip(".,!:") if text else ""
    return lictor.Approval(approved=first in _YES, approver=approver_name, comment=text or None)


async def ask_approver(
    approver: Approver,
    decision: lictor.Decision,
    *,
    timeout: float,
    approver_name: str,
    cancellation_token: Optional[CancellationToken],
) -> lictor.Approval:
    """Await ``approver``'s answer to ``decision``; a timeout, error or cancellation is a refusal.

    Never raises (a tool call must not raise inside AutoGen, see workbench.py).
    """
    prompt = approval_prompt(decision)
    try:
        if inspect.iscoroutinefunction(approver) or inspect.iscoroutinefunction(getattr(approver, "__call__", None)):
            coro = approver(prompt, cancellation_token)  # type: ignore[call-arg]
        else:
            loop = asyncio.get_running_loop()
            # A sync input function may block (console input): run it off the event loop, as
            # UserProxyAgent does. On timeout the thread is abandoned, the answer ignored.
            coro = loop.run_in_executor(None, approver, prompt)
        answer = await asyncio.wait_for(coro, timeout)
        return _to_approval(answer, approver_name)
    except asyncio.TimeoutError:
        return lictor.Approval(approved=False, approver="lictor:timeout",
                               comment=f"no answer from {approver_name} within {timeout:g}s")
    except asyncio.CancelledError:
        return lictor.Approval(approved=False, approver="lictor:cancelled", comment="the run was cancelled")
    except Exception as exc:  # an approver that fails must not approve
        return lictor.Approval(approved=False, approver="lictor:error",
                               comment=f"approver failed: {type(exc).__name__}: {exc}")
