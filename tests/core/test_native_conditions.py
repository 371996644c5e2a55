"""The native evaluator of simple conditions agrees with the CEL engine, value for value and
error for error, on generated expressions and inputs."""

from __future__ import annotations

import cel
from hypothesis import given, settings
from hypothesis import strategies as st

from lictor.policy.native import Fallback, compile_native

from core_helpers import act

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(alphabet="ab-", max_size=4),
    st.sampled_from(["prod-db", "prod-", "héllo", "a", "", "ab", "ba"]),
)
values = st.one_of(scalars, st.lists(scalars, max_size=3), st.dictionaries(st.sampled_from(["a", "b", "x"]), scalars, max_size=3))
contexts = st.fixed_dictionaries({"args": st.dictionaries(st.sampled_from(["a", "b", "x", "amount"]), values, max_size=4),
                                  "name": st.text(alphabet="ab-", max_size=4),
                                  "agent_roles": st.lists(st.sampled_from(["a", "b", "treasurer"]), max_size=3)})

atoms = st.sampled_from([
    "args.a", "args.b", "args.x", "args.amount", "name", "agent_roles", "1", "100", "2.5", "-0.0".lstrip("-"),
    "'a'", "\"prod-\"", "true", "false", "null", "[1, 'a', true]", "size(args.a)", "args.a.size()",
])
comparisons = st.builds(lambda l, op, r: f"{l} {op} {r}", atoms, st.sampled_from(["==", "!=", "<", "<=", ">", ">=", "in"]), atoms)
calls = st.builds(lambda t, m, a: f"{t}.{m}({a})", st.sampled_from(["args.a", "args.x", "name"]),
                  st.sampled_from(["startsWith", "endsWith", "contains"]), st.sampled_from(["'a'", "'prod-'", "args.b", "1"]))
leaves = st.one_of(comparisons, calls, st.sampled_from(["has(args.a)", "has(args.x.a)", "true", "args.a"]))
exprs = st.recursive(leaves, lambda inner: st.one_of(
    st.builds(lambda a, b: f"({a}) && ({b})", inner, inner),
    st.builds(lambda a, b: f"({a}) || ({b})", inner, inner),
    st.builds(lambda a: f"!({a})", inner)), max_leaves=4)


def _engine(expr: str, ctx: dict):
    try:
        return ("value", cel.compile(expr).execute(ctx))
    except Exception:
        return ("error", None)


@settings(max_examples=2000, deadline=None)
@given(exprs, contexts)
def test_native_agrees_with_the_engine_or_defers_to_it(expr: str, ctx: dict) -> None:
    native = compile_native(expr)
    if native is None:
        return
    try:
        got = ("value", native(ctx))
    except Fallback:
        return  # the engine decides: nothing to compare
    expected = _engine(expr, ctx)
    assert got == expected or (got[0] == expected[0] == "value" and type(got[1]) is type(expected[1])
                               and got[1] == expected[1]), (expr, ctx, got, expected)


def test_common_shapes_are_native() -> None:
    for expr in ("args.amount > 100 && !('treasurer' in agent_roles)", "args.target.startsWith('prod-')",
                 "has(args.to) && !args.to.endsWith('@example.com')", "size(content) > 4000", "name in ['a', 'b']"):
        assert compile_native(expr) is not None, expr
    for expr in ("args.to.all(t, t.endsWith('x'))", "args.amount + 1 > 2", "now.getHours() >= 22", "int(args.a) > 1"):
        assert compile_native(expr) is None, expr


def test_rules_decide_the_same_on_both_paths(make_gov) -> None:
    gov = make_gov({"rules": [{"id": "big", "match": {"name": "refund"},
                               "when": "args.amount > 100 && !('treasurer' in agent_roles)", "effect": "deny"}]})
    cond = gov.pm.get_plugin("rules")._action_rules[0].when
    assert cond.native is not None
    cases = [{"amount": 500}, {"amount": 50}, {"amount": 100.5}, {"amount": "lots"}, {}, {"amount": float("nan")},
             {"amount": True}, {"amount": 2**70}]
    with_native = [gov.check(act("refund", args=a)).verdict for a in cases]
    cond.native = None  # the engine alone
    engine_only = [gov.check(act("refund", args=a)).verdict for a in cases]
    assert with_native == engine_only == ["deny", "allow", "deny", "deny", "deny", "deny", "deny", "deny"]


def test_integers_beyond_64_bits_are_the_engines_to_read() -> None:
    """The engine reads such an integer as a double; the plain path must not answer otherwise."""
    ctx = {"args": {"a": -(2**63) - 1, "b": 2**64}, "name": "", "agent_roles": []}
    for expr in ("args.a", "args.b", "args.b > 1", "args.a == args.a", "args.a < 0"):
        fn = compile_native(expr)
        assert fn is not None, expr
        try:
            got = ("value", fn(ctx))
        except Fallback:
            continue  # deferred to the engine: what the rule sees is then the engine's answer
        assert got == _engine(expr, ctx) and type(got[1]) is type(_engine(expr, ctx)[1]), expr
    for expr in ("args.a", "args.b"):
        try:
            compile_native(expr)(ctx)
            raise AssertionError(f"{expr} was answered natively")
        except Fallback:
            pass
