"""ASI02 tool misuse: which agent (or role) may call which tool, with which arguments.

``protections.tool_access`` gives allow and deny lists of tool-name globs per agent glob and per
role (roles from the policy's ``agents:`` section plus ``metadata["roles"]``), and argument
constraints per tool: a JSON-schema-like subset (type, minimum/maximum, exclusive bounds,
minLength/maxLength, pattern, enum, const, items, minItems/maxItems, nested properties,
required, additionalProperties) plus an optional CEL ``require`` expression that must hold.

The permission check is exposed as :class:`ToolPermissions` so that ``delegation`` can ask the
same question for the agent on whose behalf an action is taken.
"""

from __future__ import annotations

import math
import re
from typing import Any, Callable, Optional

from ..hookspecs import hookimpl
from ..models import Action, Decision
from ..policy.conditions import Condition, ConditionError, compile_condition
from ..policy.roles import RoleResolver
from ._common import KindScoped, Section, glob_matcher

__all__ = ["ToolAccessPlugin", "ToolPermissions", "compile_schema"]

_CACHE_MAX = 16384
_TYPES = ("string", "number", "integer", "boolean", "array", "object", "null")
Validator = Callable[[Any], Optional[str]]


class _Entry:
    __slots__ = ("allow", "deny", "label")

    def __init__(self, allow: Optional[Callable[[str], bool]], deny: Optional[Callable[[str], bool]], label: str):
        self.allow, self.deny, self.label = allow, deny, label


class ToolPermissions:
    """Allow / deny lists of tool names per agent glob and per role.

    An agent's applicable entries are those of every agent glob matching its name and of every
    role it has. A tool in any applicable deny list is refused; when any applicable entry has an
    allow list the tool must be in one of them; with no allow list at all ``default`` decides.
    """

    def __init__(self, agents: list[tuple[Callable[[str], bool], _Entry]], roles: dict[str, _Entry],
                 default_allow: bool) -> None:
        self._agents = agents
        self._roles = roles
        self._default_allow = default_allow
        self._cache: dict[tuple[str, tuple[str, ...], str], Optional[str]] = {}

    @classmethod
    def from_section(cls, sec: Section) -> "ToolPermissions":
        default = sec.choice("default", ("allow", "deny"), "allow")
        agents: list[tuple[Callable[[str], bool], _Entry]] = []
        for pattern, spec in sec.mapping("agents").items():
            agents.append((glob_matcher([pattern]), _entry(sec.sub("agents", {}).sub(pattern, spec), f"agent '{pattern}'")))
        roles: dict[str, _Entry] = {}
        for role, spec in sec.mapping("roles").items():
            roles[role] = _entry(sec.sub("roles", {}).sub(role, spec), f"role '{role}'")
        return cls(agents, roles, default == "allow")

    def refusal(self, agent: str, roles: tuple[str, ...], tool: str) -> Optional[str]:
        """Why ``agent`` (with ``roles``) may not call ``tool``, or None when it may."""
        key = (agent, roles, tool)
        try:
            return self._cache[key]
        except KeyError:
            pass
        entries = [e for match, e in self._agents if match(agent)]
        entries.extend(self._roles[r] for r in roles if r in self._roles)
        why: Optional[str] = None
        denied = [e.label for e in entries if e.deny is not None and e.deny(tool)]
        if denied:
            why = f"tool '{tool}' is denied to agent '{agent}' by {denied[0]}"
        else:
            allows = [e for e in entries if e.allow is not None]
            if allows:
                if not any(e.allow(tool) for e in allows):  # type: ignore[misc]
                    labels = ", ".join(e.label for e in allows)
                    why = f"tool '{tool}' is not in the allowlist of agent '{agent}' ({labels})"
            elif not self._default_allow:
                why = f"no allowlist gives agent '{agent}' tool '{tool}' (tool_access default: deny)"
        if len(self._cache) >= _CACHE_MAX:
            self._cache.clear()
        self._cache[key] = why
        return why


def _entry(sec: Section, label: str) -> _Entry:
    allow = sec.strings("allow", ()) if sec.has("allow") else None
    deny = sec.strings("deny", ()) if sec.has("deny") else None
    sec.done(("allow", "deny"))
    return _Entry(glob_matcher(allow) if allow is not None else None,
                  glob_matcher(deny) if deny is not None else None, label)


# -- argument constraints -------------------------------------------------------------------

def _type_ok(t: str, v: Any) -> bool:
    if t == "string":
        return isinstance(v, str)
    if t == "boolean":
        return isinstance(v, bool)
    if t == "null":
        return v is None
    if t == "array":
        return isinstance(v, (list, tuple))
    if t == "object":
        return isinstance(v, dict)
    if isinstance(v, bool):
        return False
    if t == "integer":
        return isinstance(v, int) or (isinstance(v, float) and v.is_integer())
    return isinstance(v, (int, float)) and not (isinstance(v, float) and math.isnan(v))  # number


_PY_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,), "number": (int, float), "integer": (int,), "boolean": (bool,),
    "null": (type(None),), "array": (list, tuple), "object": (dict,),
}


def _bound(key: str, b: float, word: str, label: str) -> Validator:
    """One numeric bound as a specialised closure (non-numbers are the type check's business)."""
    def msg(v: Any) -> str:
        return f"{label} must be {word} {b:g}, got {v!r}"

    if key == "minimum":
        def check(v: Any) -> Optional[str]:
            t = type(v)
            if (t is int or t is float) and not v >= b:  # NaN fails every bound
                return msg(v)
            return None
    elif key == "maximum":
        def check(v: Any) -> Optional[str]:
            t = type(v)
            if (t is int or t is float) and not v <= b:
                return msg(v)
            return None
    elif key == "exclusiveMinimum":
        def check(v: Any) -> Optional[str]:
            t = type(v)
            if (t is int or t is float) and not v > b:
                return msg(v)
            return None
    else:
        def check(v: Any) -> Optional[str]:
            t = type(v)
            if (t is int or t is float) and not v < b:
                return msg(v)
            return None
    return check


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


_SCHEMA_KEYS = ("type", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength",
                "pattern", "enum", "const", "items", "minItems", "maxItems", "properties", "required",
                "additionalProperties", "description")


def compile_schema(sec: Section, where: str = "") -> Validator:
    """Compile a JSON-schema-like mapping into ``validate(value) -> problem or None``."""
    checks: list[Validator] = []
    label = where or "value"

    if sec.has("type"):
        raw = sec.take("type")
        types = [raw] if isinstance(raw, str) else raw
        if not isinstance(types, list) or not types or any(t not in _TYPES for t in types):
            sec.error("type", f"{raw!r} is not a type ({', '.join(_TYPES)}, or a list of them)")
        else:
            tt = tuple(types)
            fast = frozenset(pt for t in tt for pt in _PY_TYPES[t])

            def check_type(v: Any, _tt: tuple = tt, _fast: frozenset = fast) -> Optional[str]:
                if type(v) in _fast and not (type(v) is float and v != v):
                    return None
                if any(_type_ok(t, v) for t in _tt):
                    return None
                return f"{label} must be of type {' or '.join(_tt)}, got {type(v).__name__}"

            checks.append(check_type)

    for key, word in (("minimum", "at least"), ("maximum", "at most"),
                      ("exclusiveMinimum", "more than"), ("exclusiveMaximum", "less than")):
        if sec.has(key):
            checks.append(_bound(key, sec.number(key), word, label))

    for key, is_min, kind in (("minLength", True, "str"), ("maxLength", False, "str"),
                              ("minItems", True, "list"), ("maxItems", False, "list")):
        if sec.has(key):
            n = sec.integer(key, minimum=0)

            def check_len(v: Any, _n: int = n, _min: bool = is_min, _k: str = kind) -> Optional[str]:
                if _k == "str" and not isinstance(v, str):
                    return None
                if _k == "list" and not isinstance(v, (list, tuple)):
                    return None
                ln = len(v)
                if (_min and ln < _n) or (not _min and ln > _n):
                    unit = "characters" if _k == "str" else "items"
                    return f"{label} must have {'at least' if _min else 'at most'} {_n} {unit}, has {ln}"
                return None

            checks.append(check_len)

    if sec.has("pattern"):
        pat = sec.string("pattern")
        try:
            rx = re.compile(pat)
        except re.error as exc:
            sec.error("pattern", f"{pat!r} is not a valid regular expression: {exc}")
        else:
            def check_pattern(v: Any, _rx: re.Pattern[str] = rx) -> Optional[str]:
                if isinstance(v, str) and _rx.search(v) is None:
                    return f"{label} does not match the pattern {_rx.pattern!r}"
                return None

            checks.append(check_pattern)

    if sec.has("enum"):
        options = sec.take("enum")
        if not isinstance(options, list) or not options:
            sec.error("enum", f"expected a non-empty list of allowed values, got {options!r}")
        else:
            opts = list(options)

            def check_enum(v: Any, _o: list = opts) -> Optional[str]:
                # bool is not 1 here: compare types as well as values
                if any(v == o and type(v) is type(o) or (_is_num(v) and _is_num(o) and v == o) for o in _o):
                    return None
                return f"{label} must be one of {_o!r}, got {v!r}"

            checks.append(check_enum)

    if sec.has("const"):
        const = sec.take("const")

        def check_const(v: Any, _c: Any = const) -> Optional[str]:
            if v == _c and (type(v) is type(_c) or (_is_num(v) and _is_num(_c))):
                return None
            return f"{label} must be {_c!r}, got {v!r}"

        checks.append(check_const)

    items = sec.child("items")
    if items is not None:
        item_check = compile_schema(items, f"{label}[]")
        items.done(_SCHEMA_KEYS)

        def check_items(v: Any, _c: Validator = item_check) -> Optional[str]:
            if not isinstance(v, (list, tuple)):
                return None
            for x in v:
                p = _c(x)
                if p:
                    return p
            return None

        checks.append(check_items)

    props = sec.child("properties")
    required = sec.strings("required", ())
    extra_ok = sec.boolean("additionalProperties", True)
    if props is not None or required or not extra_ok:
        prop_checks: dict[str, Validator] = {}
        if props is not None:
            for pname, pspec in props.data.items():
                psec = props.sub(pname, pspec)
                prop_checks[str(pname)] = compile_schema(psec, f"{where + '.' if where else ''}{pname}")
                psec.done(_SCHEMA_KEYS)
            props._pending.clear()
        req = tuple(required)
        known = frozenset(prop_checks)
        pitems = tuple(prop_checks.items())

        def check_object(v: Any) -> Optional[str]:
            if not isinstance(v, dict):
                return None
            for r in req:
                if r not in v:
                    return f"{(where + '.') if where else ''}{r} is required"
            for k, c in pitems:
                if k in v:
                    p = c(v[k])
                    if p:
                        return p
            if not extra_ok:
                for k in v:
                    if k not in known:
                        return f"{(where + '.') if where else 'argument '}{k} is not allowed (additionalProperties: false)"
            return None

        checks.append(check_object)
    sec.take("description")

    if not checks:
        return lambda v: None
    if len(checks) == 1:
        slow = checks[0]
    else:
        frozen = tuple(checks)

        def check_all(v: Any) -> Optional[str]:
            for c in frozen:
                p = c(v)
                if p:
                    return p
            return None

        slow = check_all
    return _with_fast_accept(sec.data, slow)


_LEAF_KEYS = frozenset(("type", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength",
                        "maxLength", "description"))
_INF = float("inf")


def _with_fast_accept(spec: Any, slow: Validator) -> Validator:
    """``slow`` behind a one-call test that accepts the common valid values of the common leaf
    shapes (a number within bounds, a string within lengths) without running each check.

    Anything the test does not accept goes to ``slow``, which gives the answer and the message;
    the test accepts only values every check of ``slow`` passes (so answers are unchanged).
    """
    try:
        if not spec or not set(spec) <= _LEAF_KEYS:
            return slow
        t = spec.get("type", None)
        num = {k: spec[k] for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum") if k in spec}
        lens = {k: spec[k] for k in ("minLength", "maxLength") if k in spec}
        if any(isinstance(b, bool) or not isinstance(b, (int, float)) for b in num.values()):
            return slow
        if any(isinstance(n, bool) or not isinstance(n, int) for n in lens.values()):
            return slow
    except TypeError:
        return slow
    if t in ("number", "integer") and not lens:
        # float() as compile_schema's bounds do (an int bound beyond 2**53 compares as that float)
        lo = float(num.get("minimum", -_INF))
        hi = float(num.get("maximum", _INF))
        xlo = float(num.get("exclusiveMinimum", -_INF))
        xhi = float(num.get("exclusiveMaximum", _INF))
        if t == "integer":
            def check_int(v: Any) -> Optional[str]:
                if type(v) is int and lo <= v <= hi and xlo < v < xhi:
                    return None
                return slow(v)

            return check_int

        def check_number(v: Any) -> Optional[str]:
            tv = type(v)
            if (tv is int or tv is float) and lo <= v <= hi and xlo < v < xhi:  # NaN fails these
                return None
            return slow(v)

        return check_number
    if t == "string" and not num:
        mn = lens.get("minLength", 0)
        mx = lens.get("maxLength", _INF)

        def check_string(v: Any) -> Optional[str]:
            if type(v) is str and mn <= len(v) <= mx:
                return None
            return slow(v)

        return check_string
    return slow


class _ArgSpec:
    __slots__ = ("pattern", "validate", "require", "effect", "reason")

    def __init__(self, pattern: str, validate: Validator, require: Optional[Condition], effect: str, reason: str):
        self.pattern, self.validate, self.require, self.effect, self.reason = pattern, validate, require, effect, reason


class ToolAccessPlugin(KindScoped):
    """Tool allowlists / denylists per agent and role, and argument constraints (ASI02).
    Registered as ``tool_access``; inactive without a ``protections.tool_access`` section."""

    name = "tool_access"
    risks = ("ASI02",)

    def __init__(self) -> None:
        self.active = False
        self.permissions: Optional[ToolPermissions] = None
        self._roles: Optional[RoleResolver] = None
        self._kinds: frozenset[str] = frozenset()
        self._effect = "deny"
        self._specs: list[tuple[Callable[[str], bool], _ArgSpec]] = []
        self._spec_cache: dict[str, tuple[_ArgSpec, ...]] = {}
        self._fast: dict[tuple[str, str], tuple[Optional[str], tuple[_ArgSpec, ...]]] = {}

    @hookimpl
    def lictor_configure(self, policy: Any, ctx: Any) -> None:
        sec = Section(policy, self.name)
        self.active = sec.present
        if not self.active:
            return
        self._kinds = sec.kinds("on", ("tool_call",))
        self._effect = sec.effect()
        self.permissions = ToolPermissions.from_section(sec)
        self._roles = RoleResolver(policy)
        args = sec.child("args", {})
        assert args is not None
        self._specs = []
        for tool, spec in args.data.items():
            tsec = args.sub(tool, spec)
            require_src = tsec.take("require")
            require = None
            if require_src is not None:
                try:
                    require = compile_condition(require_src)
                except ValueError as exc:
                    tsec.error("require", str(exc))
            effect = tsec.effect()
            reason = tsec.string("reason", "")
            validate = compile_schema(tsec)
            tsec.done(_SCHEMA_KEYS + ("require", "effect", "reason"))
            self._specs.append((glob_matcher([str(tool)]), _ArgSpec(str(tool), validate, require, effect, reason)))
        args._pending.clear()
        sec.done(("on", "effect", "default", "agents", "roles", "args"))
        sec.raise_problems()
        self._spec_cache = {}
        self._fast = {}

    def _specs_for(self, tool: str) -> tuple[_ArgSpec, ...]:
        found = self._spec_cache.get(tool)
        if found is None:
            found = tuple(s for m, s in self._specs if m(tool))
            if len(self._spec_cache) >= _CACHE_MAX:
                self._spec_cache.clear()
            self._spec_cache[tool] = found
        return found

    def roles(self, action: Action) -> tuple[str, ...]:
        return self._roles.of(action) if self._roles is not None else ()

    @hookimpl
    def lictor_check_action(self, action: Action, ctx: Any) -> Optional[Decision]:
        if not self.active or action.kind not in self._kinds:
            return None
        md = action.metadata
        if md and md.get("roles"):
            return self.judge(action, action.agent, self._roles.of(action), ctx)  # type: ignore[union-attr]
        # Without metadata roles an agent's roles follow from its name, so the refusal and the
        # argument specs are a function of (agent, tool): one lookup. Both parts are fixed
        # until the next configure, which starts a new cache.
        key = (action.agent, action.name)
        hit = self._fast.get(key)
        if hit is None:
            agent, name = key
            hit = (self.permissions.refusal(agent, self._roles.of_name(agent), name),  # type: ignore[union-attr]
                   self._specs_for(name))
            if len(self._fast) >= _CACHE_MAX:
                self._fast.clear()
            self._fast[key] = hit
        why, specs = hit
        if why is not None:
            return self._refuse(why)
        args = action.args
        for s in specs:  # valid arguments without a condition (the common case) need no more
            if s.require is not None or s.validate(args) is not None:
                return self._check_args(action, specs, None, ctx)
        return None

    def judges(self, action: Action) -> bool:
        """Whether this protection looks at ``action`` at all."""
        return self.active and action.kind in self._kinds

    def judge(self, action: Action, agent: str, roles: tuple[str, ...], ctx: Any) -> Optional[Decision]:
        """The vote on ``action`` as if ``agent`` with ``roles`` took it (used by ``delegation``
        to ask for the principal an agent acts for)."""
        why = self.permissions.refusal(agent, roles, action.name)  # type: ignore[union-attr]
        if why is not None:
            return self._refuse(why)
        specs = self._specs_for(action.name)
        if not specs:
            return None
        return self._check_args(action, specs, roles, ctx)

    def _refuse(self, why: str) -> Decision:
        return Decision.vote(self._effect, why, rule_id="tool_access", risks=self.risks)

    def _check_args(self, action: Action, specs: tuple[_ArgSpec, ...], roles: Optional[tuple[str, ...]],
                    ctx: Any) -> Optional[Decision]:
        """The argument constraints' vote; ``roles`` None: the acting agent's, resolved only when
        a ``require`` condition needs them."""
        worst: Optional[Decision] = None
        args = action.args
        for s in specs:
            problem = s.validate(args)
            if problem is None and s.require is not None:
                if roles is None:
                    roles = self._roles.of(action)  # type: ignore[union-attr]
                try:
                    ok = s.require.test(action, roles, ctx.clock())
                except ConditionError as exc:
                    return Decision.deny(
                        f"tool_access: argument condition for '{s.pattern}' could not be evaluated ({exc}); denied (fail closed)",
                        rule_id="tool_access.args", risks=self.risks)
                if not ok:
                    problem = f"arguments do not satisfy {s.require.source!r}"
            if problem is None:
                continue
            why = f"{s.reason}: {problem}" if s.reason else f"tool '{action.name}': {problem}"
            if s.effect == "deny":
                return Decision.deny(why, rule_id="tool_access.args", risks=self.risks)
            worst = Decision.approve(why, rule_id="tool_access.args", risks=self.risks)
        return worst
