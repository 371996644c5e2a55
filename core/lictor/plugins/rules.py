"""The policy's ``rules:`` as a plugin: match, condition, effect, limit, redaction.

Rules are compiled and indexed by kind and name when the Governor is built, so a check only
looks at rules that can match its action: a 1,000-rule policy costs the same per check as a
10-rule one when only 10 can match. Every matching rule votes; votes combine like plugin votes
(deny > approve > redact > allow), and the policy's ``default`` applies when no rule matched.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

from ..errors import PolicyError
from ..hookspecs import hookimpl
from ..models import VERDICT_RANK, Action, Decision
from ..policy.conditions import Condition, ConditionError, compile_condition
from ..policy.roles import RoleResolver
from ..policy.schema import Policy, Rule

__all__ = ["RulesPlugin", "RuleTrace"]

_CACHE_MAX = 8192


def _glob(patterns: Optional[Sequence[str]]) -> Optional[re.Pattern[str]]:
    if not patterns:
        return None
    return re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns))


def _is_glob(s: str) -> bool:
    return any(c in s for c in "*?[")


@dataclass
class _Compiled:
    rule: Rule
    order: int
    effect: str
    kinds: Optional[frozenset[str]]
    names_exact: Optional[frozenset[str]]
    names_glob: Optional[re.Pattern[str]]
    agents: Optional[re.Pattern[str]]
    roles: Optional[frozenset[str]]
    when: Optional[Condition]
    limit_key: Optional[Callable[[Action, Sequence[str], float], str]] = None
    limit_prefix: str = ""  # of the state key: "limit:<rule id>:"
    limit_count: int = 0
    limit_per: float = 0.0
    redact_args: tuple[tuple[str, ...], ...] = ()
    redact_fields: frozenset[str] = frozenset()  # the top-level arguments redact_args reach into
    redact_patterns: Optional[re.Pattern[str]] = None
    replacement: str = "[REDACTED]"
    reason: str = ""
    risks: tuple[str, ...] = ()

    def matches_name(self, name: str) -> bool:
        if self.names_exact is None and self.names_glob is None:
            return True
        if self.names_exact is not None and name in self.names_exact:
            return True
        return self.names_glob is not None and self.names_glob.match(name) is not None


@dataclass
class RuleTrace:
    """What happened to one rule for one action (for ``lictor explain``)."""

    rule_id: str
    matched: bool
    why: str
    vote: Optional[str] = None
    extra: dict[str, Any] = field(default_factory=dict)


class RulesPlugin:
    """Evaluates the policy's rules. Registered as ``rules``."""

    name = "rules"

    def __init__(self) -> None:
        self._action_rules: list[_Compiled] = []
        self._output_rules: list[_Compiled] = []
        self._by_key: dict[tuple[str, str], list[_Compiled]] = {}
        self._wild: list[_Compiled] = []
        self._cache: dict[tuple[str, str, str, str], tuple[_Compiled, ...]] = {}
        self._role_names = RoleResolver(None)
        self._roles_cache = self._role_names.cache
        self._default_deny = False
        self._state: Any = None

    # -- configuration -----------------------------------------------------------------------
    @hookimpl
    def lictor_configure(self, policy: Policy, ctx: Any) -> None:
        problems: list[str] = []
        compiled: list[_Compiled] = []
        first_seen: dict[str, int] = {}
        for i, rule in enumerate(policy.rules):
            if rule.id in first_seen:
                problems.append(
                    f"{policy.where(('rules', i, 'id'))} rules[{i}].id: rule id '{rule.id}' is already used by "
                    f"rules[{first_seen[rule.id]}]; rule ids must be unique"
                )
                continue
            first_seen[rule.id] = i
            try:
                compiled.append(self._compile(i, rule, policy))
            except _RuleProblem as p:
                problems.append(f"{policy.where(('rules', i) + p.path)} rules[{i}]{_fmt(p.path)} (rule '{rule.id}'): {p}")
        if problems:
            raise PolicyError(problems)
        self._action_rules = [c for c in compiled if c.rule.phase == "action"]
        self._output_rules = [c for c in compiled if c.rule.phase == "output"]
        self._by_key = {}
        self._wild = []
        for c in compiled:
            exact_names = c.names_exact if c.names_glob is None else None
            if exact_names is None and c.names_glob is not None and c.names_exact is None:
                self._wild.append(c)
                continue
            if c.names_glob is not None:  # mixed exact names and globs
                self._wild.append(c)
                continue
            kinds = c.kinds or frozenset({"*"})
            names = exact_names or frozenset({"*"})
            for k in kinds:
                for n in names:
                    self._by_key.setdefault((k, n), []).append(c)
        self._cache = {}
        self._role_names = RoleResolver(policy)
        self._roles_cache = self._role_names.cache
        self._default_deny = policy.default == "deny"
        self._state = ctx.state

    def _compile(self, i: int, rule: Rule, policy: Policy) -> _Compiled:
        m = rule.match
        names = list(m.name or [])
        exact = frozenset(n for n in names if not _is_glob(n)) or None
        globs = [n for n in names if _is_glob(n)]
        when = None
        if rule.when is not None:
            try:
                when = compile_condition(rule.when, allow_output=rule.phase == "output")
            except ValueError as e:
                raise _RuleProblem(str(e), ("when",)) from None
        c = _Compiled(
            rule=rule,
            order=i,
            effect=rule.effect or "deny",
            kinds=frozenset(m.kind) if m.kind else None,
            names_exact=exact,
            names_glob=_glob(globs),
            agents=_glob(m.agent),
            roles=frozenset(m.roles) if m.roles else None,
            when=when,
            risks=tuple(rule.risks),
            reason=rule.reason or rule.description or f"matched rule '{rule.id}'",
        )
        if rule.phase == "output" and (rule.limit is not None or rule.effect == "approve"):
            raise _RuleProblem("output rules may allow, deny or redact; limits and approvals apply to actions", ("phase",))
        if rule.limit is not None:
            c.limit_count = rule.limit.count
            c.limit_per = rule.limit.per
            c.limit_key = _limit_key(rule.limit.key)
            c.limit_prefix = f"limit:{rule.id}:"
            if rule.effect is None:
                c.reason = rule.reason or rule.description or (
                    f"rate limit '{rule.id}': more than {rule.limit.count} per {rule.limit.per:g}s "
                    f"for {rule.limit.key}"
                )
        if rule.redact is not None:
            c.redact_args = tuple(tuple(a.split(".")) for a in rule.redact.args)
            c.redact_fields = frozenset(path[0] for path in c.redact_args)
            if rule.redact.patterns:
                c.redact_patterns = re.compile("|".join(f"(?:{p})" for p in rule.redact.patterns))
            c.replacement = rule.redact.replacement
        return c

    # -- checks ------------------------------------------------------------------------------
    def _roles(self, action: Action) -> tuple[str, ...]:
        roles = self._roles_cache.get(action.agent)
        if roles is None:
            roles = self._role_names.of_name(action.agent)
        extra = action.metadata.get("roles") if action.metadata else None
        if extra:
            # The same reading as every protection (RoleResolver.of): a single string is one
            # role, not one role per character; roles the policy already gives are not repeated.
            if isinstance(extra, str):
                extra = (extra,)
            return roles + tuple(r for r in extra if isinstance(r, str) and r not in roles)
        return roles

    def _candidates(self, action: Action, phase: str) -> tuple[_Compiled, ...]:
        key = (phase, action.kind, action.name, action.agent)
        found = self._cache.get(key)
        if found is not None:
            return found
        k, n = action.kind, action.name
        pool: list[_Compiled] = []
        for kk in (k, "*"):
            for nn in (n, "*"):
                pool.extend(self._by_key.get((kk, nn), ()))
        pool.extend(c for c in self._wild if (c.kinds is None or k in c.kinds) and c.matches_name(n))
        out = tuple(
            sorted(
                (c for c in pool if c.rule.phase == phase and (c.agents is None or c.agents.match(action.agent))),
                key=lambda c: c.order,
            )
        )
        if len(self._cache) >= _CACHE_MAX:
            self._cache.clear()
        self._cache[key] = out
        return out

    @hookimpl
    def lictor_check_action(self, action: Action, ctx: Any) -> Optional[Decision]:
        rules = self._candidates(action, "action")
        if not rules:
            if self._default_deny:
                return Decision.deny("no rule allows this action (policy default: deny)", rule_id="default")
            return None
        return self._evaluate(action, rules, ctx, None)

    @hookimpl
    def lictor_check_output(self, action: Action, output: Any, ctx: Any) -> Optional[Decision]:
        if not self._output_rules:
            return None
        rules = self._candidates(action, "output")
        if not rules:
            return None
        return self._evaluate(action, rules, ctx, output, output_phase=True)

    def _evaluate(
        self,
        action: Action,
        rules: Sequence[_Compiled],
        ctx: Any,
        output: Any,
        output_phase: bool = False,
        trace: Optional[list[RuleTrace]] = None,
    ) -> Optional[Decision]:
        roles = self._roles(action)
        now = ctx.clock()
        matched_any = False
        best = -1
        verdict = "allow"
        reasons: list[str] = []
        rule_ids: list[str] = []
        risks: list[str] = []
        current = action
        current_output = output
        rewritten = False
        for c in rules:
            if c.roles is not None and c.roles.isdisjoint(roles):
                if trace is not None:
                    trace.append(RuleTrace(c.rule.id, False, f"agent roles {list(roles)} have none of {sorted(c.roles)}"))
                continue
            if c.when is not None:
                try:
                    ok = c.when.test(current, roles, now, current_output)
                except ConditionError as e:
                    vote = "deny"
                    reason = f"rule '{c.rule.id}': condition could not be evaluated ({e}); denied (fail closed)"
                    if trace is not None:
                        trace.append(RuleTrace(c.rule.id, True, f"condition error: {e}", vote))
                    matched_any = True
                    if VERDICT_RANK[vote] > best:
                        best, verdict = VERDICT_RANK[vote], vote
                    reasons.append(reason)
                    rule_ids.append(c.rule.id)
                    risks.extend(c.risks)
                    continue
                if not ok:
                    if trace is not None:
                        trace.append(RuleTrace(c.rule.id, False, f"condition is false: {c.when.source}"))
                    continue
            vote = c.effect
            if c.limit_key is not None:
                try:
                    key = c.limit_key(current, roles, now)
                except ConditionError as e:
                    key = None
                    vote, reason = "deny", f"rate limit '{c.rule.id}': key could not be evaluated ({e}); denied (fail closed)"
                if key is not None:
                    state_key = c.limit_prefix + key
                    if trace is not None:
                        trace.append(RuleTrace(c.rule.id, True, f"limit {c.limit_count} per {c.limit_per:g}s keyed by {key!r} (not counted by explain)"))
                        continue
                    if self._state.hit(state_key, c.limit_count, c.limit_per, now):
                        continue  # under the limit: this rule has no objection
                    reason = c.reason
            elif vote == "redact":
                if output_phase:
                    new_output = _redact_value(current_output, c.redact_patterns, c.replacement)
                    changed = new_output != current_output
                    current_output = new_output
                elif c.redact_patterns is None and c.redact_fields.isdisjoint(current.args):
                    changed = False  # none of the arguments to mask is there (the common case)
                else:
                    current, changed = _redact_action(current, c)
                if not changed:
                    if trace is not None:
                        trace.append(RuleTrace(c.rule.id, True, "matched; nothing to redact"))
                    matched_any = True
                    continue
                rewritten = True
                reason = c.reason
            else:
                reason = c.reason
            if trace is not None:
                trace.append(RuleTrace(c.rule.id, True, "matched", vote))
            matched_any = True
            if vote == "allow":
                continue
            if VERDICT_RANK[vote] > best:
                best, verdict = VERDICT_RANK[vote], vote
            reasons.append(reason)
            rule_ids.append(c.rule.id)
            risks.extend(c.risks)
        if best < 0:
            if not matched_any and self._default_deny and not output_phase:
                return Decision.deny("no rule allows this action (policy default: deny)", rule_id="default")
            return None
        if verdict == "redact" or rewritten:
            d = Decision.redact(reasons[0], output=current_output if output_phase else None,
                                action=None if output_phase else current)
            object.__setattr__(d, "verdict", verdict)
        elif verdict == "deny":
            d = Decision.deny(reasons[0])
        else:
            d = Decision.approve(reasons[0])
        object.__setattr__(d, "reasons", tuple(reasons))
        object.__setattr__(d, "rule_ids", tuple(rule_ids))
        object.__setattr__(d, "risks", tuple(dict.fromkeys(risks)))
        return d

    # -- explain -----------------------------------------------------------------------------
    def explain(self, action: Action, ctx: Any, output: Any = None, phase: str = "action") -> list[RuleTrace]:
        """Why each rule did or did not apply to ``action`` (limits are not counted)."""
        traces: list[RuleTrace] = []
        candidates = set(id(c) for c in self._candidates(action, phase))
        pool = self._action_rules if phase == "action" else self._output_rules
        for c in pool:
            if id(c) in candidates:
                continue
            if c.kinds is not None and action.kind not in c.kinds:
                why = f"kind {action.kind!r} is not one of {sorted(c.kinds)}"
            elif not c.matches_name(action.name):
                why = f"name {action.name!r} does not match {list(c.rule.match.name or [])}"
            else:
                why = f"agent {action.agent!r} does not match {list(c.rule.match.agent or [])}"
            traces.append(RuleTrace(c.rule.id, False, why))
        ordered = [c for c in pool if id(c) in candidates]
        self._evaluate(action, ordered, ctx, output, output_phase=phase == "output", trace=traces)
        order = {c.rule.id: c.order for c in pool}
        traces.sort(key=lambda t: order.get(t.rule_id, -1))
        return traces


class _RuleProblem(ValueError):
    def __init__(self, msg: str, path: tuple[Any, ...] = ()):
        super().__init__(msg)
        self.path = path


def _fmt(path: tuple[Any, ...]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


def _limit_key(key: str) -> Callable[[Action, Sequence[str], float], str]:
    if key == "agent":
        return lambda a, r, n: a.agent
    if key == "session":
        return lambda a, r, n: a.session or ""
    if key == "name":
        return lambda a, r, n: a.name
    if key == "kind":
        return lambda a, r, n: a.kind
    if key == "global":
        return lambda a, r, n: "*"
    try:
        cond = compile_condition(key)
    except ValueError as e:
        raise _RuleProblem(
            f"limit key must be agent, session, name, kind, global or a CEL expression; {e}", ("limit", "key")
        ) from None
    return lambda a, r, n: str(cond.evaluate(a, r, n))


def _redact_value(value: Any, pattern: Optional[re.Pattern[str]], replacement: str) -> Any:
    if pattern is None:
        return value
    if isinstance(value, str):
        return pattern.sub(replacement, value)
    if isinstance(value, dict):
        return {k: _redact_value(v, pattern, replacement) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_redact_value(v, pattern, replacement) for v in value)
    return value


def _mask_path(args: Any, path: tuple[str, ...], replacement: str) -> tuple[Any, bool]:
    if not isinstance(args, dict) or path[0] not in args:
        return args, False
    head = path[0]
    if len(path) == 1:
        if args[head] == replacement:
            return args, False
        new = dict(args)
        new[head] = replacement
        return new, True
    inner, changed = _mask_path(args[head], path[1:], replacement)
    if not changed:
        return args, False
    new = dict(args)
    new[head] = inner
    return new, True


def _redact_action(action: Action, c: _Compiled) -> tuple[Action, bool]:
    args = action.args
    changed = False
    for path in c.redact_args:
        args, ch = _mask_path(args, path, c.replacement)
        changed = changed or ch
    if c.redact_patterns is not None:
        new_args = _redact_value(args, c.redact_patterns, c.replacement)
        if new_args != args:
            args, changed = new_args, True
        if action.content:
            new_content = c.redact_patterns.sub(c.replacement, action.content)
            if new_content != action.content:
                action = action.with_content(new_content)
                changed = True
    if args is not action.args:
        action = action.with_args(args)
    return action, changed
