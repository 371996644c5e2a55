"""budgets (ASI02/ASI08): spend sums, call counts and token sums per session and agent."""

from __future__ import annotations

from typing import Any

import pytest

import lictor

POLICY: dict[str, Any] = {"protections": {"budgets": {
    "spend": [{"tools": ["issue_refund", "wire_*"], "amount_arg": "amount", "per_session": 500, "per_agent": 800,
               "window": "1h"},
              {"tools": ["buy_gift_card"], "amount_arg": "order.total", "per_session": 100, "effect": "approve"}],
    "calls": {"per_session": 20, "on": ["tool_call"]},
    "tokens": {"per_session": 10_000, "window": "24h"},
}}}


def refund(gov: lictor.Governor, amount: Any, session: str = "s1", agent: str = "support-1", name: str = "issue_refund") -> lictor.Decision:
    return gov.check(lictor.Action(kind="tool_call", agent=agent, name=name, args={"amount": amount}, session=session))


def test_spend_accumulates_per_session_until_the_budget(make_gov) -> None:
    gov = make_gov(POLICY)
    assert [refund(gov, a).verdict for a in (200, 200, 100)] == ["allow"] * 3
    d = refund(gov, 1)
    assert d.verdict == "deny" and "would spend 501 of a budget of 500" in d.reasons[0]
    assert d.rule_ids == ("budgets.spend",) and "ASI02" in d.risks
    # another session of the same agent still has its own session budget, but the agent budget is shared
    assert refund(gov, 250, session="s2").verdict == "allow"
    d = refund(gov, 100, session="s3")
    assert d.verdict == "deny" and "agent 'support-1'" in d.reasons[0]


def test_splitting_across_tools_of_one_budget_does_not_help(make_gov) -> None:
    gov = make_gov(POLICY)
    assert refund(gov, 300).verdict == "allow"
    assert refund(gov, 300, name="wire_transfer").verdict == "deny"


def test_refused_spend_is_not_counted(make_gov) -> None:
    gov = make_gov(POLICY)
    assert refund(gov, 450).verdict == "allow"
    assert refund(gov, 100).verdict == "deny"
    assert refund(gov, 50).verdict == "allow"  # the refused 100 used nothing


def test_window_expiry_frees_the_budget(make_gov, clock) -> None:
    gov = make_gov(POLICY)
    assert refund(gov, 500).verdict == "allow"
    assert refund(gov, 10).verdict == "deny"
    clock.advance(3601)
    assert refund(gov, 10).verdict == "allow"


@pytest.mark.parametrize("amount", [-100, "100", None, True, float("nan")])
def test_negative_missing_or_non_numeric_amounts_are_refused(make_gov, amount: Any) -> None:
    gov = make_gov(POLICY)
    d = refund(gov, amount)
    assert d.verdict == "deny"


def test_negative_amount_cannot_buy_back_budget(make_gov) -> None:
    gov = make_gov(POLICY)
    assert refund(gov, 500).verdict == "allow"
    assert refund(gov, -400).verdict == "deny"
    assert refund(gov, 100).verdict == "deny"


def test_nested_amount_path_and_approve_effect(make_gov) -> None:
    gov = make_gov(POLICY)
    buy = lambda total: gov.check(lictor.Action(kind="tool_call", agent="a", name="buy_gift_card",  # noqa: E731
                                                args={"order": {"total": total}}, session="s"))
    assert buy(60).verdict == "allow"
    assert buy(60).verdict == "approve"


def test_call_budget_per_session(make_gov) -> None:
    gov = make_gov(POLICY)
    verdicts = [gov.check(lictor.Action(kind="tool_call", agent="a", name=f"t{i}", session="busy")).verdict for i in range(21)]
    assert verdicts[:20] == ["allow"] * 20 and verdicts[20] == "deny"
    # messages are not counted (on: [tool_call]); another session is fresh
    assert gov.check(lictor.Action(kind="message", agent="a", name="b", content="x", session="busy")).verdict == "allow"
    assert gov.check(lictor.Action(kind="tool_call", agent="a", name="t", session="calm")).verdict == "allow"


@pytest.mark.parametrize("tokens", [6000, {"total": 6000}, {"input": 4000, "output": 2000},
                                    {"prompt_tokens": 5000, "completion_tokens": 1000}])
def test_token_budget_reads_the_usual_usage_shapes(make_gov, tokens: Any) -> None:
    gov = make_gov(POLICY)
    call = lambda: gov.check(lictor.Action(kind="model_call", agent="a", name="gpt", content="hi", session="s",  # noqa: E731
                                           metadata={"tokens": tokens}))
    assert call().verdict == "allow"
    d = call()
    assert d.verdict == "deny" and d.rule_ids == ("budgets.tokens",)


def test_inactive_without_section_and_config_errors(make_gov) -> None:
    assert refund(make_gov({}), 10**9).verdict == "allow"
    with pytest.raises(lictor.PolicyError) as e:
        make_gov({"protections": {"budgets": {"spend": [{"amount_arg": "amount", "per_session": -1}],
                                              "calls": {"per_session": 0}, "tokens": {}}}})
    msg = str(e.value)
    assert "protections.budgets.spend[0].tools: name the tools" in msg
    assert "protections.budgets.spend[0].per_session: must be at least 0" in msg
    assert "protections.budgets.calls.per_session: must be at least 1" in msg
    assert "a tokens budget needs per_session and/or per_agent" in msg


@pytest.mark.parametrize("backend", ["memory", "redis"])
def test_a_call_refused_by_one_call_budget_uses_up_neither(make_gov, backend: str, request) -> None:
    """Session and agent call budgets count together: the call the agent budget refuses does
    not count against the session, so another agent can still work in that session."""
    policy: dict[str, Any] = {"protections": {"budgets": {"calls": {"per_session": 3, "per_agent": 2}}}}
    if backend == "redis":
        url = request.getfixturevalue("redis_url")
        policy["state"] = {"backend": "redis", "url": url, "prefix": f"lictor-test-{request.node.name}:"}
    gov = make_gov(policy)

    def call(agent: str) -> str:
        return gov.check(lictor.Action(kind="tool_call", agent=agent, name="lookup", session="shared")).verdict

    assert [call("a"), call("a")] == ["allow", "allow"]
    d_verdict = call("a")
    assert d_verdict == "deny"  # agent a's budget of 2 is used up
    assert call("b") == "allow"  # the session has used 2 of 3: the refused call did not count
    assert call("b") == "deny"  # now the session budget of 3 is used up
