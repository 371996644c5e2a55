"""Native evaluation of the common, simple shapes of CEL conditions.

The CEL engine costs ~2–5 µs per evaluation here, mostly converting its input; a comparison in
Python costs a tenth of that. Conditions made only of field reads, literals, comparisons,
``in``, ``&&``, ``||``, ``!``, ``has()``, ``size()`` and ``startsWith`` / ``endsWith`` /
``contains`` are parsed once at load time into Python closures.

Only the plain path is native. Whenever a value is of a kind whose CEL semantics differ from
Python's or are not modelled here (a missing field, mixed types in an ordering, NaN, integers
beyond 64 bits, non-ASCII strings under ``size()``, nested lists or maps in ``==``), the closure
raises :class:`Fallback` and the CEL engine evaluates the whole condition instead, so results
and errors are always the engine's own. ``tests/core/test_native_conditions.py`` checks both
paths agree on generated expressions and inputs.
"""

from __future__ import annotations

import math
import operator
import re
from typing import Any, Callable, Optional

__all__ = ["Fallback", "compile_native"]

Fn = Callable[[dict], Any]


class Fallback(Exception):
    """This input needs the CEL engine (not an error: CEL decides what happens)."""


class _Unsupported(Exception):
    pass


_TOKEN = re.compile(
    r"""\s*(?:
      (?P<num>\d+\.\d+(?:[eE][+-]?\d+)?(?![\w.])|\d+(?![\w.]))
    | (?P<str>'(?:[^'\\\n]|\\['"\\])*'|"(?:[^"\\\n]|\\['"\\])*")
    | (?P<op>&&|\|\||==|!=|<=|>=|[<>!().,\[\]])
    | (?P<id>[A-Za-z_][A-Za-z0-9_]*)
    )""",
    re.X,
)
_INT64 = 2**63
_KEYWORDS = {"true": True, "false": False, "null": None}
_METHODS = {"startsWith", "endsWith", "contains", "size"}


def _tokens(source: str) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    pos, n = 0, len(source)
    while pos < n:
        if source[pos:].strip() == "":
            break
        m = _TOKEN.match(source, pos)
        if m is None or m.end() == pos:
            raise _Unsupported(source[pos:])
        pos = m.end()
        if m.group("num") is not None:
            text = m.group("num")
            out.append(("lit", float(text) if ("." in text or "e" in text or "E" in text) else int(text)))
        elif m.group("str") is not None:
            body = m.group("str")[1:-1]
            out.append(("lit", re.sub(r"\\(['\"\\])", r"\1", body)))
        elif m.group("op") is not None:
            out.append(("op", m.group("op")))
        else:
            name = m.group("id")
            if name in _KEYWORDS:
                out.append(("lit", _KEYWORDS[name]))
            elif name == "in":
                out.append(("op", "in"))
            else:
                out.append(("id", name))
    out.append(("end", None))
    return out


# -- value helpers: the plain path, or Fallback -------------------------------------------------

def _is_num(v: Any) -> bool:
    t = type(v)
    if t is int:
        return -_INT64 <= v < _INT64
    if t is float:
        return not math.isnan(v)
    return False


_PLAIN = (str, bool, type(None))


def _scalar_eq(a: Any, b: Any) -> bool:
    """CEL equality on scalars: numbers compare across int/double, other types are never equal
    to each other (``1 == true`` is false). Containers and odd values go to the engine."""
    ta, tb = type(a), type(b)
    a_num = ta is int or ta is float
    b_num = tb is int or tb is float
    if (a_num and not _is_num(a)) or (b_num and not _is_num(b)):
        raise Fallback  # NaN, integers beyond 64 bits
    if a_num and b_num:
        return a == b
    if (a_num or ta in _PLAIN) and (b_num or tb in _PLAIN):
        return ta is tb and a == b
    raise Fallback


_ORDER = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
_NOT_LITERAL = object()


def _order(op: str, left: Fn, right: Fn, literal: Any = _NOT_LITERAL) -> Fn:
    """``left op right`` on two numbers (64-bit integers, doubles but NaN) or two strings;
    anything else goes to the engine. Against a literal (``args.amount > 100``, the common
    shape) the literal's side is known here, so a check reads and tests only the other."""
    f = _ORDER[op]
    if literal is not _NOT_LITERAL and _is_num(literal):
        def compare_with_number(c: dict) -> bool:
            a = left(c)
            ta = type(a)
            if (ta is int and -_INT64 <= a < _INT64) or (ta is float and a == a):  # = _is_num(a)
                return f(a, literal)
            raise Fallback

        return compare_with_number
    if type(literal) is str:
        def compare_with_string(c: dict) -> bool:
            a = left(c)
            if type(a) is str:
                return f(a, literal)
            raise Fallback

        return compare_with_string

    def compare(c: dict) -> bool:
        a, b = left(c), right(c)
        if _is_num(a) and _is_num(b):
            return f(a, b)
        if type(a) is str and type(b) is str:
            return f(a, b)
        raise Fallback

    return compare


# -- parser -------------------------------------------------------------------------------------

class _Parser:
    def __init__(self, source: str) -> None:
        self.toks = _tokens(source)
        self.i = 0
        # What the parser knows about the closures it made, so that it can fuse them: the
        # literals (by closure) and the closures whose value is always a bool.
        self.literals: dict[Fn, Any] = {}
        self.booleans: set[Fn] = set()

    def boolean(self, fn: Fn) -> Fn:
        """``fn`` returns a bool or raises Fallback, never anything else."""
        self.booleans.add(fn)
        return fn

    def peek(self) -> tuple[str, Any]:
        return self.toks[self.i]

    def ahead(self, n: int) -> tuple[str, Any]:
        """The token ``n`` places after the current one (the end token past the end)."""
        return self.toks[min(self.i + n, len(self.toks) - 1)]

    def take(self, kind: str, value: Any = None) -> Any:
        k, v = self.toks[self.i]
        if k != kind or (value is not None and v != value):
            raise _Unsupported(f"expected {value or kind}")
        self.i += 1
        return v

    def parse(self) -> Fn:
        fn = self.or_()
        self.take("end")
        if fn in self.booleans:
            return fn  # what result() below would check and let through

        def result(c: dict) -> Any:
            v = fn(c)
            if type(v) is bool:  # a condition's value: by far the common case
                return v
            # The engine turns integers beyond 64 bits into doubles, also inside containers;
            # a value that is not a plain scalar is the engine's to produce.
            if (type(v) is int and not -_INT64 <= v < _INT64) or isinstance(v, (list, dict, tuple)):
                raise Fallback
            return v

        return result

    def or_(self) -> Fn:
        left = self.and_()
        while self.peek() == ("op", "||"):
            self.i += 1
            right = self.and_()
            left = self.boolean(_logic(left, right, True))
        return left

    def and_(self) -> Fn:
        left = self.rel()
        while self.peek() == ("op", "&&"):
            self.i += 1
            right = self.rel()
            left = self.boolean(_logic(left, right, False))
        return left

    def rel(self) -> Fn:
        left = self.unary()
        k, v = self.peek()
        if k == "op" and v in ("==", "!=", "<", "<=", ">", ">=", "in"):
            self.i += 1
            right = self.unary()
            if v == "==":
                return self.boolean(lambda c: _scalar_eq(left(c), right(c)))
            if v == "!=":
                return self.boolean(lambda c: not _scalar_eq(left(c), right(c)))
            if v == "in":
                return self.boolean(_in(left, right))
            return self.boolean(_order(v, left, right, self.literals.get(right, _NOT_LITERAL)))
        return left

    def unary(self) -> Fn:
        if self.peek() == ("op", "!"):
            self.i += 1
            inner = self.unary()

            def neg(c: dict) -> bool:
                v = inner(c)
                if type(v) is not bool:
                    raise Fallback
                return not v

            return self.boolean(neg)
        return self.postfix()

    def postfix(self) -> Fn:
        k, v = self.peek()
        # A variable's field (``args.amount``), the commonest operand: one read, not two.
        fused = k == "id" and self.ahead(1) == ("op", ".") and self.ahead(2)[0] == "id" \
            and self.ahead(3) != ("op", "(")
        fn = self.primary()
        while self.peek() == ("op", "."):
            self.i += 1
            name = self.take("id")
            if self.peek() == ("op", "("):
                if name not in _METHODS:
                    raise _Unsupported(name)
                self.i += 1
                args = self.args()
                fn = _method(name, fn, args, self.literals.get(args[0], _NOT_LITERAL) if len(args) == 1 else _NOT_LITERAL)
                if name != "size":
                    self.boolean(fn)
            elif fused:
                fn, fused = _var_field(v, name), False
            else:
                fn = _field(fn, name)
        return fn

    def args(self) -> list[Fn]:
        out: list[Fn] = []
        if self.peek() == ("op", ")"):
            self.i += 1
            return out
        while True:
            out.append(self.or_())
            if self.peek() == ("op", ","):
                self.i += 1
                continue
            self.take("op", ")")
            return out

    def primary(self) -> Fn:
        k, v = self.peek()
        if k == "lit":
            self.i += 1
            if type(v) is int and not -_INT64 <= v < _INT64:
                raise _Unsupported("integer literal beyond 64 bits")
            fn = lambda c, _v=v: _v  # noqa: E731
            self.literals[fn] = v
            return fn
        if k == "op" and v == "(":
            self.i += 1
            inner = self.or_()
            self.take("op", ")")
            return inner
        if k == "op" and v == "[":
            self.i += 1
            items: list[Fn] = []
            if self.peek() != ("op", "]"):
                while True:
                    items.append(self.or_())
                    if self.peek() == ("op", ","):
                        self.i += 1
                        continue
                    break
            self.take("op", "]")
            return lambda c: [f(c) for f in items]
        if k == "id":
            self.i += 1
            if self.peek() == ("op", "("):
                self.i += 1
                if v == "has":
                    return self.has()
                if v == "size":
                    (arg,) = self.args() or [None]
                    if arg is None:
                        raise _Unsupported("size()")
                    return _size(arg)
                raise _Unsupported(v)
            return _var(v)
        raise _Unsupported(str(v))

    def has(self) -> Fn:
        # has(x.y.z): the last step is a presence test, the ones before are plain reads.
        base = _var(self.take("id"))
        steps = []
        while self.peek() == ("op", "."):
            self.i += 1
            steps.append(self.take("id"))
        self.take("op", ")")
        if not steps:
            raise _Unsupported("has() needs a field selection")
        for s in steps[:-1]:
            base = _field(base, s)
        last = steps[-1]

        def present(c: dict) -> bool:
            obj = base(c)
            if type(obj) is not dict:
                raise Fallback
            return last in obj

        return self.boolean(present)


def _var(name: str) -> Fn:
    def read(c: dict) -> Any:
        try:
            return c[name]
        except KeyError:
            raise Fallback from None

    return read


def _var_field(var: str, name: str) -> Fn:
    """``_field(_var(var), name)`` in one closure."""
    def read(c: dict) -> Any:
        try:
            obj = c[var]
        except KeyError:
            raise Fallback from None
        if type(obj) is not dict:
            raise Fallback
        try:
            return obj[name]
        except KeyError:
            raise Fallback from None

    return read


def _field(obj_fn: Fn, name: str) -> Fn:
    def read(c: dict) -> Any:
        obj = obj_fn(c)
        if type(obj) is not dict:
            raise Fallback
        try:
            return obj[name]
        except KeyError:
            raise Fallback from None

    return read


def _logic(left: Fn, right: Fn, decisive: bool) -> Fn:
    """``&&`` (decisive value False) or ``||`` (decisive value True): the left side alone
    decides when it has the decisive value; anything but a bool goes to the engine, whose
    operators also absorb errors in ways the plain path does not model."""

    def combine(c: dict) -> bool:
        a = left(c)
        if a is decisive:
            return decisive
        if a is not (not decisive):
            raise Fallback
        b = right(c)
        if type(b) is not bool:
            raise Fallback
        return b

    return combine


def _in(left: Fn, right: Fn) -> Fn:
    def member(c: dict) -> bool:
        x, coll = left(c), right(c)
        t = type(coll)
        if t is list or t is tuple:
            return any(_scalar_eq(x, item) for item in coll)
        if t is dict:
            if type(x) is str and all(type(k) is str for k in coll):
                return x in coll
            raise Fallback
        raise Fallback

    return member


def _size(arg: Fn) -> Fn:
    def size(c: dict) -> int:
        v = arg(c)
        t = type(v)
        if t is str:
            if not v.isascii():
                raise Fallback  # the engine counts UTF-8 bytes; leave it to the engine
            return len(v)
        if t is list or t is tuple or t is dict:
            return len(v)
        raise Fallback

    return size


_STRING_TESTS: dict[str, Callable[[str, str], bool]] = {
    "startsWith": str.startswith, "endsWith": str.endswith, "contains": lambda s, a: a in s,
}


def _method(name: str, target: Fn, args: list[Fn], literal: Any = _NOT_LITERAL) -> Fn:
    if name == "size":
        if args:
            raise _Unsupported("size() takes no argument as a method")
        return _size(target)
    if len(args) != 1:
        raise _Unsupported(f"{name}() takes one argument")
    (arg,) = args
    if type(literal) is str:  # `args.target.startsWith('prod-')`: the argument is known here
        test = _STRING_TESTS[name]

        def call_with_literal(c: dict) -> bool:
            s = target(c)
            if type(s) is not str:
                raise Fallback
            return test(s, literal)

        return call_with_literal

    def call(c: dict) -> bool:
        s, a = target(c), arg(c)
        if type(s) is not str or type(a) is not str:
            raise Fallback
        if name == "startsWith":
            return s.startswith(a)
        if name == "endsWith":
            return s.endswith(a)
        return a in s

    return call


def compile_native(source: str) -> Optional[Fn]:
    """A Python closure evaluating ``source`` on the condition's input dict, or None when the
    expression uses anything beyond the simple shapes (the CEL engine then always evaluates it)."""
    try:
        return _Parser(source).parse()
    except (_Unsupported, RecursionError, ValueError):
        return None
