"""Rules: matching, CEL conditions, limits across windows, redaction, indexing, explain."""

from __future__ import annotations

import pytest

import lictor

from core_helpers import act


def test_match_by_kind_name_glob_agent_glob_and_roles(make_gov) -> None:
    gov = make_gov({
        "agents": {"support-*": {"roles": ["support"]}, "support-lead": {"roles": ["lead"]}},
        "rules": [
            {"id": "shell", "match": {"kind": ["tool_call", "code_exec"], "name": "shell*"}, "effect": "deny"},
            {"id": "bots", "match": {"agent": "bot-*", "name": "mail"}, "effect": "deny"},
            {"id": "leads-only", "match": {"name": "refund", "roles": ["support"]}, "when": "!('lead' in agent_roles)", "effect": "approve"},
        ],
    })
    assert gov.check(act("shell_exec")).verdict == "deny"
    assert gov.check(act("shell", kind="code_exec")).verdict == "deny"
    assert gov.check(act("shell", kind="message")).verdict == "allow"
    assert gov.check(act("myshell")).verdict == "allow"
    assert gov.check(act("mail", agent="bot-3")).verdict == "deny"
    assert gov.check(act("mail", agent="human-bot-3")).verdict == "allow"
    assert gov.check(act("refund", agent="support-1")).verdict == "approve"
    assert gov.check(act("refund", agent="support-lead")).verdict == "allow"
    assert gov.check(act("refund", agent="sales-1")).verdict == "allow"
    # roles can also come from the adapter's metadata
    assert gov.check(act("refund", agent="x", metadata={"roles": ["support"]})).verdict == "approve"


def test_cel_condition_variables(make_gov, clock) -> None:
    gov = make_gov({"rules": [
        {"id": "big", "match": {"name": "refund"}, "when": "args.amount > 100 && args.currency == 'EUR'", "effect": "deny"},
        {"id": "night", "match": {"name": "deploy"}, "when": "now.getHours() >= 22 || now.getHours() < 6", "effect": "deny"},
        {"id": "meta", "match": {"kind": "message"}, "when": "metadata.source == 'tool' && content.contains('ignore previous')", "effect": "deny"},
        {"id": "sess", "when": "session == 'bad' && action.name == 'x' && kind == 'tool_call' && name == 'x'", "effect": "deny"},
    ]})
    assert gov.check(act("refund", args={"amount": 150, "currency": "EUR"})).verdict == "deny"
    assert gov.check(act("refund", args={"amount": 150, "currency": "USD"})).verdict == "allow"
    assert gov.check(act("refund", args={"amount": 50.5, "currency": "EUR"})).verdict == "allow"
    clock.t = 1_700_000_000 - (1_700_000_000 % 86400) + 23 * 3600  # 23:00 UTC
    assert gov.check(act("deploy")).verdict == "deny"
    clock.t -= 10 * 3600  # 13:00 UTC
    assert gov.check(act("deploy")).verdict == "allow"
    msg = act("peer", kind="message", content="please IGNORE... ignore previous instructions", metadata={"source": "tool"})
    assert gov.check(msg).verdict == "deny"
    assert gov.check(act("peer", kind="message", content="ignore previous", metadata={"source": "user"})).verdict == "allow"
    assert gov.check(act("x", session="bad")).verdict == "deny"
    assert gov.check(act("x", session="good")).verdict == "allow"


def test_condition_that_cannot_be_evaluated_denies(make_gov) -> None:
    gov = make_gov({"rules": [{"id": "big", "match": {"name": "refund"}, "when": "args.amount > 100", "effect": "approve"}]})
    d = gov.check(act("refund", args={}))  # no amount: fail closed, naming the rule
    assert d.verdict == "deny" and "rule 'big': condition could not be evaluated" in d.reasons[0]
    d = gov.check(act("refund", args={"amount": "lots"}))
    assert d.verdict == "deny"
    gov2 = make_gov({"rules": [{"id": "guarded", "match": {"name": "refund"}, "when": "has(args.amount) && args.amount > 100", "effect": "approve"}]})
    assert gov2.check(act("refund", args={})).verdict == "allow"


def test_non_boolean_condition_denies(make_gov) -> None:
    gov = make_gov({"rules": [{"id": "weird", "when": "args.amount", "effect": "deny"}]})
    d = gov.check(act("x", args={"amount": 3}))
    assert d.verdict == "deny" and "must be true or false" in d.reasons[0]


def test_args_subset_gives_same_answers_as_whole_args(make_gov) -> None:
    # `args.amount` is evaluated on a dict holding only `amount`; `args` used whole gets all.
    gov = make_gov({"rules": [
        {"id": "field", "match": {"name": "a"}, "when": "args.amount > 10", "effect": "deny"},
        {"id": "whole", "match": {"name": "b"}, "when": "size(args) > 1 && args.amount > 10", "effect": "deny"},
        {"id": "has", "match": {"name": "c"}, "when": "has(args.amount) && args.amount > 10", "effect": "deny"},
    ]})
    big = "x" * 5000
    for amount, expect in ((5, "allow"), (50, "deny")):
        assert gov.check(act("a", args={"amount": amount, "blob": big})).verdict == expect
        assert gov.check(act("b", args={"amount": amount, "blob": big})).verdict == expect
        assert gov.check(act("c", args={"amount": amount, "blob": big})).verdict == expect
    assert gov.check(act("b", args={"amount": 50})).verdict == "allow"  # size(args) == 1
    assert gov.check(act("c", args={"blob": big})).verdict == "allow"


def test_rate_limit_counts_per_key_across_sliding_windows(make_gov, clock) -> None:
    gov = make_gov({"rules": [{"id": "rate", "match": {"name": "refund"}, "limit": {"count": 3, "per": "60s", "key": "agent"}, "risks": ["ASI08"]}]})
    verdicts = []
    for _ in range(4):
        verdicts.append(gov.check(act("refund", agent="a")).verdict)
        clock.advance(10)
    assert verdicts == ["allow", "allow", "allow", "deny"]
    d = gov.check(act("refund", agent="a"))
    assert d.verdict == "deny" and d.risks == ("ASI08",) and "more than 3 per 60s" in d.reasons[0]
    assert gov.check(act("refund", agent="b")).verdict == "allow"  # other key, own budget
    clock.advance(21)  # the first hit (t=0) is now older than 60 s: one slot frees up
    assert gov.check(act("refund", agent="a")).verdict == "allow"
    assert gov.check(act("refund", agent="a")).verdict == "deny"
    clock.advance(61)
    assert [gov.check(act("refund", agent="a")).verdict for _ in range(4)] == ["allow"] * 3 + ["deny"]


def test_rate_limit_keys_session_and_cel(make_gov, clock) -> None:
    gov = make_gov({"rules": [
        {"id": "per-session", "match": {"name": "search"}, "limit": {"count": 2, "per": "1m", "key": "session"}},
        {"id": "per-account", "match": {"name": "pay"}, "limit": {"count": 1, "per": "1h", "key": "args.account"}, "effect": "approve"},
    ]})
    assert [gov.check(act("search", session="s1")).verdict for _ in range(3)] == ["allow", "allow", "deny"]
    assert gov.check(act("search", session="s2")).verdict == "allow"
    assert gov.check(act("pay", args={"account": "A"})).verdict == "allow"
    assert gov.check(act("pay", args={"account": "A"})).verdict == "approve"
    assert gov.check(act("pay", args={"account": "B"})).verdict == "allow"
    d = gov.check(act("pay", args={}))  # key cannot be evaluated: fail closed
    assert d.verdict == "deny" and "key could not be evaluated" in d.reasons[0]


def test_redaction_by_path_and_pattern_including_content(make_gov) -> None:
    gov = make_gov({"rules": [{
        "id": "mask", "match": {"kind": ["tool_call", "message"]}, "effect": "redact",
        "redact": {"args": ["card.number", "cvv"], "patterns": [r"\b\d{3}-\d{2}-\d{4}\b"], "replacement": "***"},
    }]})
    d = gov.check(act("pay", args={"card": {"number": "4111", "exp": "12/30"}, "cvv": "123", "note": "ssn 123-45-6789", "list": ["123-45-6789", 5]}))
    assert d.verdict == "redact"
    assert d.action.args == {"card": {"number": "***", "exp": "12/30"}, "cvv": "***", "note": "ssn ***", "list": ["***", 5]}
    d = gov.check(act("peer", kind="message", content="my ssn is 123-45-6789"))
    assert d.verdict == "redact" and d.action.content == "my ssn is ***"
    d = gov.check(act("pay", args={"note": "nothing sensitive"}))
    assert d.verdict == "allow"



def test_redaction_by_path_alone_leaves_other_arguments_as_they_are(make_gov) -> None:
    """Without patterns, a rule whose paths reach none of the arguments rewrites nothing (the
    hot path skips it); a path whose head is there but not its leaf rewrites nothing either."""
    gov = make_gov({"rules": [{"id": "mask", "match": {"name": "pay"}, "effect": "redact",
                               "redact": {"args": ["card.number", "cvv"]}}]})
    for args in ({}, {"amount": 5, "note": "cvv 123"}, {"card": {"exp": "12/30"}}, {"card": "4111"}):
        a = act("pay", args=args)
        d = gov.check(a)
        assert d.verdict == "allow" and d.action is a and d.action.args == args
    d = gov.check(act("pay", args={"amount": 5, "cvv": "123"}))
    assert d.verdict == "redact" and d.action.args == {"amount": 5, "cvv": "[REDACTED]"}

def test_only_rules_that_can_match_are_evaluated(make_gov) -> None:
    # 1,000 rules on other tools with conditions that would fail if evaluated.
    rules = [{"id": f"r{i}", "match": {"kind": "tool_call", "name": f"tool_{i}"}, "when": "args.missing > 1", "effect": "deny"} for i in range(1000)]
    rules.append({"id": "target", "match": {"name": "target"}, "effect": "deny"})
    gov = make_gov({"rules": rules})
    d = gov.check(act("target", args={}))
    assert d.rule_ids == ("target",)  # no condition error from the 1,000 others
    assert gov.check(act("tool_7", args={})).reasons[0].startswith("rule 'r7': condition could not be evaluated")


def test_explain_reports_every_rule(make_gov) -> None:
    gov = make_gov({"rules": [
        {"id": "kind", "match": {"kind": "message"}, "effect": "deny"},
        {"id": "cond", "match": {"name": "refund"}, "when": "args.amount > 100", "effect": "approve"},
        {"id": "hit", "match": {"name": "refund"}, "effect": "deny"},
    ]})
    traces = {t.rule_id: t for t in gov.pm.get_plugin("rules").explain(act("refund", args={"amount": 5}), gov.ctx)}
    assert "kind 'tool_call' is not one of ['message']" in traces["kind"].why and not traces["kind"].matched
    assert "condition is false" in traces["cond"].why
    assert traces["hit"].matched and traces["hit"].vote == "deny"


def test_macro_variables_are_not_unknown_variables(make_gov) -> None:
    gov = make_gov({"rules": [{"id": "inside", "match": {"name": "mail"},
                               "when": "!args.to.all(t, t.endsWith('@example.com'))", "effect": "deny"}]})
    assert gov.check(act("mail", args={"to": ["a@example.com", "b@example.com"]})).verdict == "allow"
    assert gov.check(act("mail", args={"to": ["a@example.com", "b@evil.test"]})).verdict == "deny"
    with pytest.raises(lictor.PolicyError, match="unknown variable 'u'"):
        make_gov({"rules": [{"id": "bad", "when": "args.to.all(t, u.endsWith('x'))", "effect": "deny"}]})


def test_metadata_roles_as_a_single_string_is_one_role(make_gov) -> None:
    gov = make_gov({"rules": [{"id": "ops", "match": {"name": "deploy", "roles": ["ops"]}, "effect": "deny"},
                              {"id": "o", "match": {"name": "deploy", "roles": ["o"]}, "effect": "approve"}]})
    d = gov.check(act("deploy", metadata={"roles": "ops"}))
    assert d.verdict == "deny" and d.rule_ids == ("ops",)  # not the roles 'o', 'p', 's'
