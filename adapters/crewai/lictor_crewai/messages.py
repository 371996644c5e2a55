"""What the agent (or the caller of ``kickoff()``) reads when Lictor refuses something.

CrewAI answers a blocked tool with a fixed "Tool execution blocked by hook" text that tells the
model nothing; Lictor replaces it with a refusal that says what was refused and why, and tells
the model not to retry. The texts carry the policy's reasons and rule ids, never the refused
arguments (they may be the very secret a rule protects).
"""

from __future__ import annotations

from lictor import Decision

__all__ = ["refusal", "withheld", "stop_reason", "failure"]


def _why(decision: Decision) -> str:
    why = "; ".join(r for r in decision.reasons if r) or "the policy does not allow it"
    if decision.rule_ids:
        why += f" (rules: {', '.join(decision.rule_ids)})"
    return why


def refusal(decision: Decision, what: str) -> str:
    """The observation the agent reads instead of a refused tool call or hand-off."""
    return (
        f"Lictor policy refused this {what}: {_why(decision)}. It was not run. "
        "Do not retry it; continue without it, or say in your final answer that it was refused."
    )


def withheld(decision: Decision, what: str) -> str:
    """The observation the agent reads when a tool ran but its result may not be shown."""
    return (
        f"Lictor policy withheld the result of this {what}: {_why(decision)}. "
        "Continue without it, or say in your final answer that it was withheld."
    )


def stop_reason(decision: Decision, what: str) -> str:
    """Why ``kickoff()`` stopped (kill switch, refused model call)."""
    head = "kill switch" if decision.halt else "policy refused"
    return f"Lictor stopped the run ({head}) at {what}: {_why(decision)}"


def failure(what: str, exc: BaseException) -> str:
    """Lictor itself failed: the action is refused (fail closed), never run unchecked."""
    return (
        f"Lictor could not check this {what} ({type(exc).__name__}: {exc}), so it was refused "
        "(fail closed). Do not retry it."
    )
