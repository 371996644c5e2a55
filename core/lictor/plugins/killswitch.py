"""The kill switch: one flag that stops every action of an agent, a session, or everything.

It lives in the Governor's state backend, so with a shared backend (Redis) one engagement stops
agents in every process. Adapters turn its ``halt`` decisions into "end the run now".
"""

from __future__ import annotations

from typing import Any, Optional

from ..hookspecs import hookimpl
from ..models import Action, Decision
from ..state import StateBackend

__all__ = ["KillSwitch", "KillSwitchPlugin"]

_GLOBAL = "kill:global"


class KillSwitch:
    """Engage and release the kill switch (``gov.kill_switch``)."""

    def __init__(self, state: StateBackend) -> None:
        self._state = state
        # With no flag set at all (nearly always) a check asks one cheap question, not three.
        has_flags = getattr(state, "has_flags", None)
        self._any_flag = has_flags if callable(has_flags) else None

    @staticmethod
    def _key(agent: Optional[str], session: Optional[str]) -> str:
        if agent is not None and session is not None:
            raise ValueError("engage the kill switch for an agent or a session, not both at once")
        if agent is not None:
            return f"kill:agent:{agent}"
        if session is not None:
            return f"kill:session:{session}"
        return _GLOBAL

    def engage(self, reason: str, *, agent: Optional[str] = None, session: Optional[str] = None) -> None:
        """Stop every later action (of ``agent``, of ``session``, or of everyone)."""
        if not reason:
            raise ValueError("say why the kill switch is engaged (reason=...)")
        self._state.set_flag(self._key(agent, session), reason)

    def release(self, *, agent: Optional[str] = None, session: Optional[str] = None) -> None:
        """Lift an engagement made with the same scope."""
        self._state.clear_flag(self._key(agent, session))

    def reason_for(self, action: Action) -> Optional[str]:
        """Why ``action`` must stop, or None when no engagement covers it."""
        any_flag = self._any_flag
        if any_flag is not None and not any_flag():
            return None
        state = self._state
        r = state.get_flag(_GLOBAL)
        if r is not None:
            return f"kill switch engaged for everyone: {r}"
        r = state.get_flag(f"kill:agent:{action.agent}")
        if r is not None:
            return f"kill switch engaged for agent {action.agent!r}: {r}"
        if action.session is not None:
            r = state.get_flag(f"kill:session:{action.session}")
            if r is not None:
                return f"kill switch engaged for session {action.session!r}: {r}"
        return None


class KillSwitchPlugin:
    """Denies, with ``halt``, every action covered by an engaged kill switch. Registered as
    ``kill_switch``; runs first."""

    name = "kill_switch"

    def __init__(self) -> None:
        self.switch: Optional[KillSwitch] = None
        self._any_flag: Any = None

    @hookimpl
    def lictor_configure(self, policy: Any, ctx: Any) -> None:
        self.switch = ctx.governor.kill_switch
        self._any_flag = self.switch._any_flag

    @hookimpl(tryfirst=True)
    def lictor_check_action(self, action: Action, ctx: Any) -> Optional[Decision]:
        any_flag = self._any_flag
        if any_flag is not None and not any_flag():
            return None  # no flag set at all, nearly always: reason_for() would say the same
        reason = self.switch.reason_for(action) if self.switch is not None else None
        if reason is None:
            return None
        return Decision.deny(reason, rule_id="kill_switch", risks=("ASI08",), halt=True)
