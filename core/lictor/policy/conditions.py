"""CEL conditions (``when:`` and CEL ``limit.key``), compiled once and evaluated cheaply.

The CEL engine converts its whole input into CEL values on every evaluation, so the cost grows
with what is passed. Each compiled condition therefore knows, from the expression itself, which
variables it reads, and when it only reads named fields of ``args`` (``args.amount``) it is
given just those fields, never a 2 KB argument it does not look at.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import re
from typing import Any, Callable, Optional, Sequence

import cel

from ..models import Action
from .native import Fallback, compile_native

__all__ = ["Condition", "ConditionError", "VARIABLES", "compile_condition"]

#: Variables a condition may use, and what they hold.
VARIABLES: dict[str, str] = {
    "action": "map: kind, agent, name, session, call_id",
    "kind": "string: the action kind (tool_call, model_call, ...)",
    "name": "string: tool, model or recipient name",
    "args": "map: the tool arguments",
    "content": "string or null: message / prompt / memory text",
    "agent": "string: the acting agent",
    "agent_roles": "list of strings: the agent's roles (policy `agents:` + metadata.roles)",
    "session": "string or null: conversation / run id",
    "metadata": "map: adapter-provided metadata",
    "now": "timestamp: the current time (UTC)",
    "output": "the action's output (output-phase rules only)",
}

# Functions of the CEL engine's standard library (and macros' internal operators, which start
# with '_', '@' or '!'). Anything else compiles but fails at evaluation: refuse it at load time.
_KNOWN_FUNCTIONS = frozenset(
    """size contains startsWith endsWith matches int uint double string bytes timestamp duration
    type dyn has exists all exists_one map filter getHours getMinutes getSeconds getMilliseconds
    getDayOfWeek getDayOfMonth getDayOfYear getDate getMonth getFullYear""".split()
)

# Macros bind their own variables: `args.to.all(t, t.endsWith('@example.com'))`.
_MACRO_VARIABLE = re.compile(r"\.\s*(?:all|exists|exists_one|map|filter)\s*\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*,")
_ARGS_FIELD = re.compile(r"\bargs\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)")
_ARGS_ANY = re.compile(r"\bargs\b")


class ConditionError(Exception):
    """A condition could not be evaluated for an action (missing field, wrong type ...)."""


class Condition:
    """A compiled CEL expression plus a function building its minimal input."""

    __slots__ = ("source", "program", "variables", "native", "_build", "_execute")

    def __init__(self, source: str, program: Any, variables: Sequence[str], build: Callable[..., dict],
                 native: Optional[Callable[[dict], Any]] = None):
        self.source = source
        self.program = program
        self.variables = tuple(variables)
        self.native = native
        self._build = build
        self._execute = program.execute

    def evaluate(self, action: Action, roles: Sequence[str], now: float, output: Any = None) -> Any:
        """The expression's value for this action; raises :class:`ConditionError`."""
        ctx = self._build(action, roles, now, output)
        native = self.native
        if native is not None:
            try:
                return native(ctx)
            except Fallback:
                pass  # a value outside the plain path: the engine decides
        return self._engine(ctx)

    def test(self, action: Action, roles: Sequence[str], now: float, output: Any = None) -> bool:
        """Evaluate as a condition: the result must be a bool.

        The same steps as :meth:`evaluate`, not a call to it: rules test conditions on every
        matching action, and a Python call costs about as much as the native comparison."""
        ctx = self._build(action, roles, now, output)
        native = self.native
        if native is None:
            value = self._engine(ctx)
        else:
            try:
                value = native(ctx)
            except Fallback:
                value = self._engine(ctx)
        if value is True or value is False:
            return value
        raise ConditionError(f"condition must be true or false, got {value!r}")

    def _engine(self, ctx: dict) -> Any:
        """The CEL engine's value for ``ctx``; its errors become :class:`ConditionError`."""
        try:
            return self._execute(ctx)
        except Exception as exc:  # the engine raises KeyError/RuntimeError/TypeError/ValueError
            raise ConditionError(f"{type(exc).__name__}: {exc}") from None


def _args_fields(source: str) -> Optional[tuple[str, ...]]:
    """The argument names an expression reads, or None when it uses ``args`` as a whole."""
    fields = _ARGS_FIELD.findall(source)
    # Every mention of `args` must be a field access for the subset to be equivalent.
    if len(fields) != len(_ARGS_ANY.findall(source)):
        return None
    return tuple(dict.fromkeys(fields))


def _builder(variables: Sequence[str], args_fields: Optional[tuple[str, ...]]) -> Callable[..., dict]:
    getters: list[tuple[str, Callable[[Action, Sequence[str], float, Any], Any]]] = []
    for v in variables:
        if v == "args":
            if args_fields is None:
                getters.append((v, lambda a, r, n, o: a.args))
            elif len(args_fields) == 1:
                f0 = args_fields[0]

                def one(a: Action, r: Any, n: Any, o: Any, _f: str = f0) -> dict:
                    args = a.args
                    return {_f: args[_f]} if _f in args else {}

                getters.append((v, one))
            else:
                fs = args_fields

                def some(a: Action, r: Any, n: Any, o: Any, _fs: tuple = fs) -> dict:
                    args = a.args
                    return {f: args[f] for f in _fs if f in args}

                getters.append((v, some))
        elif v == "action":
            getters.append(
                (v, lambda a, r, n, o: {"kind": a.kind, "agent": a.agent, "name": a.name, "session": a.session, "call_id": a.call_id})
            )
        elif v == "kind":
            getters.append((v, lambda a, r, n, o: a.kind))
        elif v == "name":
            getters.append((v, lambda a, r, n, o: a.name))
        elif v == "content":
            getters.append((v, lambda a, r, n, o: a.content))
        elif v == "agent":
            getters.append((v, lambda a, r, n, o: a.agent))
        elif v == "agent_roles":
            getters.append((v, lambda a, r, n, o: list(r)))
        elif v == "session":
            getters.append((v, lambda a, r, n, o: a.session))
        elif v == "metadata":
            getters.append((v, lambda a, r, n, o: a.metadata))
        elif v == "now":
            getters.append((v, lambda a, r, n, o: _dt.datetime.fromtimestamp(n, _dt.timezone.utc)))
        elif v == "output":
            getters.append((v, lambda a, r, n, o: o))
    if len(getters) == 1:
        (k1, g1), = getters
        return lambda a, r, n, o: {k1: g1(a, r, n, o)}
    if len(getters) == 2:
        (k1, g1), (k2, g2) = getters
        return lambda a, r, n, o: {k1: g1(a, r, n, o), k2: g2(a, r, n, o)}
    frozen = tuple(getters)
    return lambda a, r, n, o: {k: g(a, r, n, o) for k, g in frozen}


def compile_condition(source: str, *, allow_output: bool = False) -> Condition:
    """Compile a CEL expression; raise ``ValueError`` with a message for people when it uses
    bad syntax, a variable Lictor does not provide, or a function CEL does not have."""
    if not isinstance(source, str) or not source.strip():
        raise ValueError("condition is empty")
    try:
        program = cel.compile(source)
    except ValueError as exc:
        msg = str(exc)
        m = re.search(r"<input>:(\d+):(\d+): (?:Syntax error: )?([^\n]*)", msg)
        if m:
            msg = f"CEL syntax error at line {m.group(1)}, column {m.group(2)} of {source!r}: {m.group(3)}"
        raise ValueError(msg) from None
    bound = set(_MACRO_VARIABLE.findall(source))
    variables = [str(v) for v in program.variables() if str(v) not in bound]
    allowed = set(VARIABLES) - (set() if allow_output else {"output"})
    unknown = [v for v in variables if v not in allowed]
    if unknown:
        close = difflib.get_close_matches(unknown[0], sorted(allowed), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise ValueError(
            f"unknown variable {', '.join(repr(u) for u in unknown)} in {source!r}{hint}; "
            f"conditions may use {', '.join(sorted(allowed))}"
        )
    bad_functions = [
        f for f in program.functions() if f[:1].isalpha() and f not in _KNOWN_FUNCTIONS
    ]
    if bad_functions:
        raise ValueError(
            f"unknown function {', '.join(repr(f) for f in bad_functions)} in {source!r}; "
            f"CEL here has {', '.join(sorted(_KNOWN_FUNCTIONS))}"
        )
    args_fields = _args_fields(source) if "args" in variables else None
    return Condition(source, program, variables, _builder(variables, args_fields), compile_native(source))
