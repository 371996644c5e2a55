"""Exceptions Lictor raises to its users, each saying what was wrong, where, and what to do."""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:  # pragma: no cover
    from .models import Decision

__all__ = ["LictorError", "PolicyError", "PolicyViolation", "PluginError"]


class LictorError(Exception):
    """Base class of every error Lictor raises on purpose."""


class PolicyError(LictorError, ValueError):
    """A policy (file or dict) is invalid; nothing of it was applied.

    ``problems`` lists every problem found, each as ``file:line field: what was expected``.
    """

    def __init__(self, problems: Sequence[str] | str):
        if isinstance(problems, str):
            problems = [problems]
        self.problems: list[str] = list(problems)
        head = "invalid policy" if len(self.problems) == 1 else f"invalid policy ({len(self.problems)} problems)"
        super().__init__(head + ":\n  " + "\n  ".join(self.problems))


class PluginError(LictorError):
    """A plugin could not be loaded or configured (names the plugin)."""


class PolicyViolation(LictorError):
    """Raised by adapters in strict ("raise") mode, and by ``Governor.guard``.

    Carries the :class:`~lictor.Decision` that refused the action (``.decision``).
    """

    def __init__(self, decision: "Decision", message: str | None = None):
        self.decision = decision
        if message is None:
            what = ""
            if decision.action is not None:
                what = f"{decision.action.kind} {decision.action.name!r}: "
            message = f"{what}{decision.summary()}"
        super().__init__(message)
