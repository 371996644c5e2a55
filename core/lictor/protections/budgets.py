"""ASI02 / ASI08 budgets: how much a session or an agent may spend, call and consume.

Three kinds, each per session and/or per agent within a sliding window:

* ``spend`` — the sum of a numeric argument (``amount``) of the listed tools. Negative or
  missing amounts are refused (a negative refund must not buy back budget).
* ``calls`` — the number of actions (of the listed kinds), counted in the Governor's state
  backend (shared between processes with Redis).
* ``tokens`` — the sum of ``metadata["tokens"]`` (a number, or a mapping with ``total`` or
  ``input``/``output`` / ``prompt``/``completion``) that adapters attach to model calls.

Every sum and count lives in the Governor's state backend: in memory for one process, shared
by every process and machine with ``state: {backend: redis}``. The sums an action adds to (per
session and per agent) are checked and added at once, all or nothing. An action is counted when
this protection lets it through, even if another plugin then refuses it: budgets err on the
side of running out early.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from ..hookspecs import hookimpl
from ..models import ACTION_KINDS, Action, Decision
from ._common import Section, glob_matcher

__all__ = ["BudgetsPlugin", "token_count"]


def token_count(value: Any) -> Optional[float]:
    """Tokens from ``metadata["tokens"]``: a number or a usage mapping; None when absent/unreadable."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, dict):
        if "total" in value:
            return token_count(value["total"])
        n = 0.0
        found = False
        for k in ("input", "output", "prompt", "completion", "prompt_tokens", "completion_tokens",
                  "input_tokens", "output_tokens"):
            v = value.get(k)
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                n += v
                found = True
        return n if found else None
    return None


def _getter(path: str) -> Callable[[dict], Any]:
    parts = tuple(path.split("."))
    if len(parts) == 1:
        p0 = parts[0]
        return lambda args: args.get(p0)

    def get(args: dict) -> Any:
        v: Any = args
        for p in parts:
            if not isinstance(v, dict):
                return None
            v = v.get(p)
        return v

    return get


class _Spend:
    __slots__ = ("index", "tools", "amount", "amount_path", "per_session", "per_agent", "window", "effect", "label")

    def __init__(self, index: int, tools: Callable[[str], bool], amount_path: str, per_session: Optional[float],
                 per_agent: Optional[float], window: float, effect: str, label: str) -> None:
        self.index = index
        self.tools = tools
        self.amount = _getter(amount_path)
        self.amount_path = amount_path
        self.per_session, self.per_agent = per_session, per_agent
        self.window = window
        self.effect = effect
        self.label = label


class BudgetsPlugin:
    """Spend, call and token budgets per session and per agent (ASI02, ASI08).
    Registered as ``budgets``; inactive without a ``protections.budgets`` section."""

    name = "budgets"
    risks = ("ASI02", "ASI08")

    def __init__(self) -> None:
        self.active = False
        self._spend: list[_Spend] = []
        self._spend_cache: dict[str, tuple[_Spend, ...]] = {}
        self._calls: Optional[dict[str, Any]] = None
        self._tokens: Optional[dict[str, Any]] = None
        self._state: Any = None
        self._calls_on: frozenset[str] = frozenset()
        self._calls_session: Optional[int] = None
        self._calls_agent: Optional[int] = None
        self._calls_window = 0.0
        self._tokens_on: frozenset[str] = frozenset()

    @hookimpl
    def lictor_configure(self, policy: Any, ctx: Any) -> None:
        sec = Section(policy, self.name)
        self.active = sec.present
        if not self.active:
            return
        self._state = ctx.state
        self._spend = []
        raw_spend = sec.take("spend", [])
        if isinstance(raw_spend, dict):
            raw_spend = [raw_spend]
        if not isinstance(raw_spend, list):
            sec.error("spend", "expected a list of spend budgets ({tools: [...], amount_arg: amount, per_session: 500})")
            raw_spend = []
        for i, item in enumerate(raw_spend):
            s = sec.sub("spend", {}).sub(i, item)
            tools = s.strings("tools")
            if not tools:
                s.error("tools", "name the tools whose amounts count (e.g. [issue_refund])")
            amount_arg = s.string("amount_arg", "amount")
            per_session = s.number("per_session", None, minimum=0)
            per_agent = s.number("per_agent", None, minimum=0)
            if per_session is None and per_agent is None:
                s.error((), "a spend budget needs per_session and/or per_agent")
            window = s.duration("window", "24h")
            effect = s.effect()
            s.done(("tools", "amount_arg", "per_session", "per_agent", "window", "effect"))
            self._spend.append(_Spend(i, glob_matcher(tools), amount_arg, per_session, per_agent, window, effect,
                                      f"spend budget {i} ({', '.join(tools)})"))
        self._calls = self._limits(sec, "calls", integer=True)
        self._tokens = self._limits(sec, "tokens", integer=True)
        sec.done(("spend", "calls", "tokens"))
        sec.raise_problems()
        self._spend_cache = {}
        # what the hot path reads, unpacked once
        c = self._calls
        self._calls_on = c["on"] if c is not None else frozenset()
        if c is not None:
            self._calls_session = c["per_session"]
            self._calls_agent = c["per_agent"]
            self._calls_window = c["window"]
        self._tokens_on = self._tokens["on"] if self._tokens is not None else frozenset()

    @staticmethod
    def _limits(sec: Section, key: str, integer: bool) -> Optional[dict[str, Any]]:
        s = sec.child(key)
        if s is None:
            return None
        out = {
            "per_session": s.integer("per_session", None, minimum=1),
            "per_agent": s.integer("per_agent", None, minimum=1),
            "window": s.duration("window", "24h"),
            "on": s.kinds("on", ACTION_KINDS),
            "effect": s.effect(),
        }
        if out["per_session"] is None and out["per_agent"] is None:
            s.error((), f"a {key} budget needs per_session and/or per_agent")
        s.done(("per_session", "per_agent", "window", "on", "effect"))
        return out

    def _vote(self, effect: str, why: str, rule: str) -> Decision:
        return Decision.vote(effect, why, rule_id=rule, risks=self.risks)

    def _spends_for(self, tool: str) -> tuple[_Spend, ...]:
        found = self._spend_cache.get(tool)
        if found is None:
            found = tuple(s for s in self._spend if s.tools(tool))
            if len(self._spend_cache) > 4096:
                self._spend_cache.clear()
            self._spend_cache[tool] = found
        return found

    @hookimpl
    def lictor_check_action(self, action: Action, ctx: Any) -> Optional[Decision]:
        if not self.active:
            return None
        now = ctx.clock()
        kind = action.kind
        spends: tuple[_Spend, ...] = ()
        if self._spend and kind == "tool_call":
            spends = self._spend_cache.get(action.name)  # type: ignore[assignment]
            if spends is None:
                spends = self._spends_for(action.name)
        tokens = None
        if kind in self._tokens_on:
            md = action.metadata
            if md:
                raw = md.get("tokens")
                if raw is not None:  # token_count(None) is None
                    tokens = token_count(raw)
        if spends or tokens is not None:
            vote = self._sums(action, spends, tokens, now)
            if vote is not None:
                return vote
        if kind not in self._calls_on:
            return None
        # Session and agent call budgets count together, all or nothing: a call the agent budget
        # refuses does not use up the session's, and the other way round.
        session = action.session
        by_session = self._calls_session is not None and session is not None
        by_agent = self._calls_agent is not None
        if by_session != by_agent:  # one budget applies: a plain sliding-window count, cheaper than a sum
            scope, who, limit = ("session", session, self._calls_session) if by_session else ("agent", action.agent, self._calls_agent)
            if self._state.hit(f"budgets:calls:{scope}:{who}", limit, self._calls_window, now):
                return None
            return self._call_refusal(scope, who)
        if not by_session:
            return None
        scopes = (("session", session, self._calls_session), ("agent", action.agent, self._calls_agent))
        over = self._state.spend([(f"budgets:callsum:{scope}:{who}", 1.0, float(limit), self._calls_window)
                                  for scope, who, limit in scopes], now)
        if over is None:
            return None
        scope, who, _ = scopes[over[0]]
        return self._call_refusal(scope, who)

    def _call_refusal(self, scope: str, who: str) -> Decision:
        calls = self._calls
        assert calls is not None
        per = calls["per_session"] if scope == "session" else calls["per_agent"]
        return self._vote(calls["effect"], f"call budget of {scope} '{who}' used up ({per} actions per {calls['window']:g}s)",
                          "budgets.calls")

    def _sums(self, action: Action, spends: tuple[_Spend, ...], tokens: Optional[float], now: float) -> Optional[Decision]:
        """Check and count every sum this action adds to, all or nothing, in the state backend
        (so with Redis the budgets hold across every process and machine)."""
        session, agent = action.session, action.agent
        entries: list[tuple[str, float, float, float]] = []
        refusals: list[tuple[str, str]] = []  # (effect, message prefix) per entry
        args = action.args
        for s in spends:
            amount = s.amount(args)
            ta = type(amount)
            if not (ta is int or ta is float) and (isinstance(amount, bool) or not isinstance(amount, (int, float))) \
                    or amount != amount:
                return self._vote("deny", f"{s.label}: argument '{s.amount_path}' is missing or not a number "
                                  f"({amount!r}); denied (fail closed)", "budgets.spend")
            if amount < 0:
                return self._vote("deny", f"{s.label}: negative amount {amount!r} refused", "budgets.spend")
            for scope, who, limit in (("session", session, s.per_session), ("agent", agent, s.per_agent)):
                if limit is None or who is None:
                    continue
                entries.append((f"budgets:spend:{s.index}:{scope}:{who}", float(amount), float(limit), s.window))
                refusals.append((s.effect, f"{s.label}: {scope} '{who}' would spend"))
        if tokens is not None:
            t = self._tokens
            assert t is not None
            if tokens < 0:
                return self._vote("deny", f"negative token count {tokens!r} refused", "budgets.tokens")
            for scope, who, limit in (("session", session, t["per_session"]), ("agent", agent, t["per_agent"])):
                if limit is None or who is None:
                    continue
                entries.append((f"budgets:tokens:{scope}:{who}", float(tokens), float(limit), t["window"]))
                refusals.append((t["effect"], f"token budget of {scope} '{who}' used up:"))
        if not entries:
            return None
        over = self._state.spend(entries, now)
        if over is None:
            return None
        i, used = over
        _, amount, limit, _ = entries[i]
        effect, prefix = refusals[i]
        rule = "budgets.tokens" if entries[i][0].startswith("budgets:tokens:") else "budgets.spend"
        if rule == "budgets.spend":
            return self._vote(effect, f"{prefix} {used + amount:g} of a budget of {limit:g}", rule)
        return self._vote(effect, f"{prefix} ({used + amount:g} of {limit:g})", rule)
