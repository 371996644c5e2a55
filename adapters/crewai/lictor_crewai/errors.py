"""The one exception the adapter raises into a CrewAI run.

CrewAI's hook engine lets exactly one exception type through: ``HookAborted``. Anything else a
hook raises is printed and swallowed, and the tool or model call goes ahead (fail open). So a
Lictor stop must *be* a ``HookAborted`` to stop anything; it is also a
:class:`lictor.PolicyViolation` so callers can catch Lictor's error type and read the decision.
"""

from __future__ import annotations

from typing import Optional

from crewai.hooks import HookAborted
from lictor import Decision, PolicyViolation

__all__ = ["LictorStop"]


class LictorStop(HookAborted, PolicyViolation):
    """Lictor stopped a CrewAI run (kill switch, refused model call, or a failure inside Lictor).

    ``kickoff()`` raises it; ``.decision`` is the decision that stopped the run (``None`` when
    Lictor itself failed), ``.reason`` the text CrewAI records.
    """

    def __init__(self, reason: str, decision: Optional[Decision] = None) -> None:
        # Not cooperative on purpose: HookAborted.__init__ calls super().__init__(reason), which
        # here would be PolicyViolation's (it wants a Decision). A failing constructor inside a
        # hook is just another exception CrewAI would swallow before running the tool.
        Exception.__init__(self, reason)
        self.reason = reason
        self.source = "lictor"
        self.decision = decision  # type: ignore[assignment]  # None when Lictor itself failed

    def __str__(self) -> str:
        return self.reason
