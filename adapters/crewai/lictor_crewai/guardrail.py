"""Lictor's output check as a CrewAI task guardrail.

Usage: ``Task(..., guardrail=lictor_guardrail(gov))``.

A task's final answer never passes a tool or model hook as a whole, so CrewAI's own seam for
judging it is the task guardrail: ``(False, why)`` makes the agent try again, ``(True, text)``
replaces the output. Lictor's ``check_output`` maps onto that: redact → the redacted text, deny →
retry with the policy's reasons (CrewAI fails the task after ``guardrail_max_retries``).

No ``from __future__ import annotations`` here on purpose: CrewAI validates the guardrail's
return annotation at runtime and needs a real ``tuple[bool, Any]``, not a string.
"""

from typing import Any, Callable, Optional, Tuple

from lictor import Action, Governor

from . import messages as msg
from .actions import FRAMEWORK

__all__ = ["lictor_guardrail"]

GuardrailFn = Callable[[Any], Tuple[bool, Any]]


def lictor_guardrail(gov: Governor, *, session: Optional[str] = None, name: Optional[str] = None) -> GuardrailFn:
    """A task guardrail function that runs ``gov.check_output`` on the task's raw output.

    The action judged is ``kind="model_output"``, ``agent`` the role that produced the output,
    ``name`` the task's name (CrewAI falls back to its description); ``session`` is optional (a governed crew's
    run id, ``governance_of(crew).session``, groups it with the run in the audit trail).
    It is a plain function, not a callable object, because CrewAI reads a guardrail's source
    code (``inspect``) for its events.
    """

    def lictor_output_check(output: Any) -> Tuple[bool, Any]:
        raw = getattr(output, "raw", output)
        try:
            action = Action(
                kind="model_output",
                agent=str(getattr(output, "agent", "") or "crewai-agent"),
                name=name or str(getattr(output, "name", None) or "task_output"),
                content=raw if isinstance(raw, str) else str(raw),
                session=session,
                metadata={"framework": FRAMEWORK, "source": "agent", "seam": "task_guardrail"},
            )
            out = gov.check_output(action, raw)
        except Exception as exc:  # fail closed: an unchecked answer is not accepted
            return False, msg.failure("task output", exc)
        if out.blocked:
            return False, (f"Lictor policy refused this answer: {'; '.join(out.reasons) or 'not allowed'}. "
                           "Write it again without what the policy refuses.")
        if out.enforced and out.verdict == "redact" and out.output is not None:
            return True, out.output if isinstance(out.output, str) else str(out.output)
        return True, raw

    return lictor_output_check
