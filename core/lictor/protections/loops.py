"""ASI08 loop detection: the same call, with the same arguments, repeated in one session.

An agent stuck in a loop (a tool that keeps failing the same way, two agents handing a task back
and forth, an injected "try again") repeats an identical action. Each action is reduced to a
digest of its kind, name and canonical arguments (sorted-key JSON); more than ``max_repeats``
identical actions in a session within ``window`` are refused (or sent for approval). Counting
happens in the Governor's state backend, so with Redis the count is shared between processes.
Actions without a session are counted per agent.
"""

from __future__ import annotations

import hashlib
from typing import Any, Callable, Optional

import orjson

from ..hookspecs import hookimpl
from ..models import Action, Decision
from ._common import Section, glob_matcher

__all__ = ["LoopsPlugin", "call_digest"]

_OPTS = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS


_dumps = orjson.dumps
# Copied for each digest: a third cheaper than the constructor, which parses its keywords.
_BLAKE2B_12 = hashlib.blake2b(digest_size=12)


def call_digest(action: Action) -> str:
    """A short digest of what the action does: kind, name, arguments and content."""
    try:
        body = _dumps([action.kind, action.name, action.args, action.content], option=_OPTS)
    except (TypeError, orjson.JSONEncodeError):
        body = repr((action.kind, action.name, sorted(action.args.items(), key=lambda kv: str(kv[0])),
                     action.content)).encode("utf-8", "surrogatepass")
    h = _BLAKE2B_12.copy()
    h.update(body)
    return h.hexdigest()


class LoopsPlugin:
    """Refuses the same call repeated more than ``max_repeats`` times in a session (ASI08).
    Registered as ``loops``; inactive without a ``protections.loops`` section."""

    name = "loops"
    risks = ("ASI08",)

    def __init__(self) -> None:
        self.active = False
        self._max = 3
        self._window = 600.0
        self._kinds: frozenset[str] = frozenset()
        self._ignore: Optional[Callable[[str], bool]] = None
        self._effect = "deny"
        self._state: Any = None

    @hookimpl
    def lictor_configure(self, policy: Any, ctx: Any) -> None:
        sec = Section(policy, self.name)
        self.active = sec.present
        if not self.active:
            return
        self._max = sec.integer("max_repeats", 3, minimum=1)
        self._window = sec.duration("window", "10m")
        self._kinds = sec.kinds("on", ("tool_call", "handoff", "message", "code_exec"))
        ignore = sec.strings("ignore_tools", ())
        self._ignore = glob_matcher(ignore) if ignore else None
        self._effect = sec.effect()
        sec.done(("max_repeats", "window", "on", "ignore_tools", "effect"))
        sec.raise_problems()
        self._state = ctx.state

    def applies_to(self, kind: str, name: str) -> bool:
        """The Governor calls this plugin only for actions of kinds (and names) it judges."""
        return kind in self._kinds and not (self._ignore is not None and self._ignore(name))

    @hookimpl
    def lictor_check_action(self, action: Action, ctx: Any) -> Optional[Decision]:
        if not self.active or action.kind not in self._kinds:
            return None
        if self._ignore is not None and self._ignore(action.name):
            return None
        session = action.session
        if session is not None:
            key = f"loops:s:{session}:{call_digest(action)}"
        else:
            key = f"loops:a:{action.agent}:{call_digest(action)}"
        if self._state.hit(key, self._max, self._window, ctx.clock()):
            return None
        why = (f"loop: {action.kind} '{action.name}' with the same arguments was already made {self._max} "
               f"times in this {'session' if action.session is not None else 'agent'} within {self._window:g}s")
        return Decision.vote(self._effect, why, rule_id="loops", risks=self.risks)
