"""ASI08 circuit breakers: a tool that keeps failing is taken out of use for a cool-down.

Failures are seen in ``Governor.check_output(action, output)``. An output counts as a failure
when it is (first match wins):

* an exception instance (adapters pass the exception a tool raised);
* a mapping with ``is_error``/``isError`` true, ``ok``/``success`` false, ``status`` one of
  ``error``, ``failed``, ``failure``, ``timeout``, or a non-empty ``error``;
* an object with a true ``is_error``/``isError`` attribute (MCP ``CallToolResult``) or
  ``status == "error"`` (LangChain ``ToolMessage``);
* text starting with one of ``error_prefixes`` (default ``Error:``, ``ERROR:``,
  ``Traceback (most recent call last)``);
* or when the adapter says so: ``metadata["outcome"] == "error"`` on the action.

``failures`` failures within ``within`` open the breaker for the tool (or for the agent and
tool, with ``scope: agent_tool``): calls are refused for ``cooldown``. Then one trial call is let
through (half-open): if its output fails the breaker opens again, if it succeeds it closes.
State is per Governor (this process).
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any, Callable, Mapping, Optional

from ..hookspecs import hookimpl
from ..models import Action, Decision
from ._common import KindScoped, Section, glob_matcher

__all__ = ["CircuitBreakerPlugin", "is_failure"]

_FAIL_STATUS = frozenset(("error", "failed", "failure", "timeout", "timed_out"))


def is_failure(output: Any, action: Optional[Action] = None,
               prefixes: tuple[str, ...] = ("Error:", "ERROR:", "Traceback (most recent call last)")) -> bool:
    """Whether an output reports a failed call (see the module docstring for the rules)."""
    if action is not None and action.metadata and action.metadata.get("outcome") == "error":
        return True
    if isinstance(output, BaseException):
        return True
    if isinstance(output, Mapping):
        if output.get("is_error") is True or output.get("isError") is True:
            return True
        if output.get("ok") is False or output.get("success") is False:
            return True
        st = output.get("status")
        if isinstance(st, str) and st.lower() in _FAIL_STATUS:
            return True
        err = output.get("error")
        return bool(err) and err is not False
    if isinstance(output, str):
        return output.lstrip().startswith(prefixes)
    if output is None or isinstance(output, (int, float, list, tuple, bytes)):
        return False
    if getattr(output, "is_error", None) is True or getattr(output, "isError", None) is True:
        return True
    st = getattr(output, "status", None)
    return isinstance(st, str) and st.lower() in _FAIL_STATUS


class _Breaker:
    __slots__ = ("failures", "open_until", "probe_at")

    def __init__(self) -> None:
        self.failures: deque[float] = deque()
        self.open_until = 0.0
        self.probe_at = 0.0


class CircuitBreakerPlugin(KindScoped):
    """Opens a per-tool circuit after repeated failures (ASI08). Registered as
    ``circuit_breaker``; inactive without a ``protections.circuit_breaker`` section."""

    name = "circuit_breaker"
    risks = ("ASI08",)

    def __init__(self) -> None:
        self.active = False
        self._failures = 5
        self._within = 60.0
        self._cooldown = 30.0
        self._tools: Callable[[str], bool] = lambda n: True
        self._per_agent = False
        self._prefixes: tuple[str, ...] = ()
        self._effect = "deny"
        self._kinds: frozenset[str] = frozenset()
        self._breakers: dict[str, _Breaker] = {}
        self._lock = threading.Lock()

    @hookimpl
    def lictor_configure(self, policy: Any, ctx: Any) -> None:
        sec = Section(policy, self.name)
        self.active = sec.present
        if not self.active:
            return
        self._failures = sec.integer("failures", 5, minimum=1)
        self._within = sec.duration("within", "60s")
        self._cooldown = sec.duration("cooldown", "30s")
        tools = sec.strings("tools", ("*",))
        self._tools = glob_matcher(tools)
        self._per_agent = sec.choice("scope", ("tool", "agent_tool"), "tool") == "agent_tool"
        self._prefixes = tuple(sec.strings("error_prefixes", ("Error:", "ERROR:", "Traceback (most recent call last)")))
        self._kinds = sec.kinds("on", ("tool_call", "model_call"))
        self._effect = sec.effect()
        sec.done(("failures", "within", "cooldown", "tools", "scope", "error_prefixes", "on", "effect"))
        sec.raise_problems()
        self._breakers = {}

    def _key(self, action: Action) -> str:
        return f"{action.agent}\x1f{action.name}" if self._per_agent else action.name

    def state_of(self, action: Action, now: float) -> str:
        """``closed``, ``open`` or ``half-open`` for the breaker covering ``action``."""
        b = self._breakers.get(self._key(action))
        if b is None or not b.open_until:
            return "closed"
        return "open" if now < b.open_until else "half-open"

    @hookimpl
    def lictor_check_action(self, action: Action, ctx: Any) -> Optional[Decision]:
        if not self.active or not self._breakers or action.kind not in self._kinds:
            return None
        b = self._breakers.get(self._key(action))
        if b is None or not b.open_until:
            return None
        now = ctx.clock()
        with self._lock:
            if now < b.open_until:
                why = (f"circuit breaker open for '{action.name}': {self._failures} failures within "
                       f"{self._within:g}s; retry in {b.open_until - now:.0f}s")
            elif b.probe_at and now - b.probe_at < self._cooldown:
                why = f"circuit breaker half-open for '{action.name}': a trial call is in progress"
            else:
                b.probe_at = now  # half-open: let one trial call through
                return None
        return Decision.vote(self._effect, why, rule_id="circuit_breaker", risks=self.risks)

    @hookimpl
    def lictor_check_output(self, action: Action, output: Any, ctx: Any) -> Optional[Decision]:
        if not self.active or action.kind not in self._kinds or not self._tools(action.name):
            return None
        failed = is_failure(output, action, self._prefixes)
        key = self._key(action)
        b = self._breakers.get(key)
        if b is None and not failed:
            return None
        now = ctx.clock()
        with self._lock:
            if b is None:
                if len(self._breakers) > 65_536:
                    self._breakers = {k: v for k, v in self._breakers.items() if v.open_until}
                b = self._breakers[key] = _Breaker()
            if not failed:
                if b.open_until and now >= b.open_until:  # the trial call succeeded: close
                    b.failures.clear()
                    b.open_until = b.probe_at = 0.0
                return None
            if b.open_until and now >= b.open_until:  # the trial call failed: open again
                b.open_until = now + self._cooldown
                b.probe_at = 0.0
                return None
            q = b.failures
            q.append(now)
            while q and q[0] <= now - self._within:
                q.popleft()
            if len(q) >= self._failures and not b.open_until:
                b.open_until = now + self._cooldown
                q.clear()
        return None
