"""Inputs users control (policy files, conditions, action arguments) never crash Lictor and
never turn into a silent allow."""

from __future__ import annotations

import math

import pydantic
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lictor
from lictor import PolicyError

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=20))
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)

FIELDS = ["version", "mode", "default", "rules", "agents", "protections", "plugins", "rollout", "audit", "state",
          "id", "match", "when", "effect", "limit", "redact", "risks", "kind", "name", "count", "per", "key", "phase"]
policy_like = st.recursive(
    st.one_of(json_scalars, st.sampled_from(["deny", "allow", "approve", "redact", "tool_call", "60s", "ASI02", "args.x > 1"])),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=6), inner, max_size=5),
    max_leaves=25,
)

settings.register_profile("lictor", deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=150)
settings.load_profile("lictor")


@given(policy_like)
def test_any_policy_shape_loads_or_gives_a_clear_error(data) -> None:
    try:
        gov = lictor.Governor.from_dict(data if isinstance(data, dict) else {"rules": data}, load_entrypoints=False)
    except PolicyError as exc:
        assert exc.problems and all(isinstance(p, str) and p for p in exc.problems)
        return
    gov.close()


@given(st.text(max_size=60))
def test_any_yaml_text_loads_or_gives_a_clear_error(text) -> None:
    try:
        lictor.load_policy_text(text, "fuzz.yaml")
    except PolicyError as exc:
        assert all(p.startswith("fuzz.yaml") for p in exc.problems)


@given(st.text(alphabet=st.sampled_from(list("args.amount><=!&|()'\"0123456789 +-*/[]{}:,?_ntruefalsehaszie")), max_size=40))
def test_any_condition_compiles_or_is_reported_with_its_rule(expr) -> None:
    try:
        gov = lictor.Governor.from_dict({"rules": [{"id": "fuzzed", "when": expr, "effect": "deny"}]}, load_entrypoints=False)
    except PolicyError as exc:
        assert any("rule 'fuzzed'" in p or "rules[0]" in p for p in exc.problems), exc.problems
        return
    with gov:
        d = gov.check(lictor.Action(kind="tool_call", agent="a", name="t", args={"amount": 5}))
        assert d.verdict in ("allow", "deny")


_DENY_BIG = lictor.Governor.from_dict(
    {"rules": [{"id": "big", "match": {"name": "refund"}, "when": "args.amount > 100", "effect": "deny"}]},
    load_entrypoints=False,
)


@given(st.dictionaries(st.sampled_from(["amount", "to", "note"]), json_values, max_size=3))
def test_deny_rule_never_silently_allows_odd_arguments(args) -> None:
    d = _DENY_BIG.check(lictor.Action(kind="tool_call", agent="a", name="refund", args=args))
    if d.verdict == "allow":
        amount = args.get("amount")
        assert isinstance(amount, (int, float)) and not isinstance(amount, bool)
        assert not math.isnan(amount) and amount <= 100 if isinstance(amount, float) else amount <= 100
    else:
        assert d.verdict == "deny" and d.blocked


@given(st.dictionaries(st.sampled_from(["kind", "agent", "name", "args", "content", "session", "metadata", "extra"]), json_values, max_size=6))
def test_action_from_untrusted_dict_validates_or_raises_validation_error(data) -> None:
    try:
        a = lictor.Action.model_validate(data)
    except pydantic.ValidationError:
        return
    d = _DENY_BIG.check(a)
    assert d.verdict in ("allow", "deny")


def test_values_reached_through_yaml_aliases_are_still_validated() -> None:
    # Aliases are plain YAML; every place an aliased value lands is validated on its own, and
    # the line named is where the bad value is written (the anchor).
    text = ("rules:\n  - {id: a, effect: &e deny}\n  - {id: b, match: &m {kind: tool_cal}, effect: *e}\n"
            "  - {id: c, match: *m, effect: deny}\n")
    with pytest.raises(PolicyError) as info:
        lictor.load_policy_text(text, "alias.yaml")
    assert [p.split(": ")[0] for p in info.value.problems] == ["alias.yaml:3 rules[1].match.kind[0]",
                                                                 "alias.yaml:3 rules[2].match.kind[0]"]
