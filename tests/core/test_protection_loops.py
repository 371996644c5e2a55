"""loops (ASI08): the same call with the same arguments repeated in a session."""

from __future__ import annotations

import lictor


def call(gov: lictor.Governor, args: dict, session: str | None = "s1", name: str = "search") -> str:
    return gov.check(lictor.Action(kind="tool_call", agent="a", name=name, args=args, session=session)).verdict


def test_identical_calls_beyond_max_repeats_are_refused(make_gov) -> None:
    gov = make_gov({"protections": {"loops": {"max_repeats": 3}}})
    assert [call(gov, {"q": "weather", "n": 5}) for _ in range(4)] == ["allow", "allow", "allow", "deny"]
    d = gov.check(lictor.Action(kind="tool_call", agent="a", name="search", args={"n": 5, "q": "weather"}, session="s1"))
    assert d.verdict == "deny" and d.rule_ids == ("loops",) and d.risks == ("ASI08",)  # key order does not matter


def test_different_arguments_sessions_or_tools_are_not_a_loop(make_gov) -> None:
    gov = make_gov({"protections": {"loops": {"max_repeats": 2}}})
    assert [call(gov, {"q": f"page {i}"}) for i in range(10)] == ["allow"] * 10
    assert [call(gov, {"q": "x"}, session=f"s{i}") for i in range(5)] == ["allow"] * 5
    assert call(gov, {"q": "x"}, name="other") == "allow"


def test_window_and_approve_effect_and_ignored_tools(make_gov, clock) -> None:
    gov = make_gov({"protections": {"loops": {"max_repeats": 1, "window": "30s", "effect": "approve",
                                              "ignore_tools": ["poll_*"]}}})
    assert call(gov, {"q": 1}) == "allow"
    assert call(gov, {"q": 1}) == "approve"
    clock.advance(31)
    assert call(gov, {"q": 1}) == "allow"
    assert [call(gov, {}, name="poll_status") for _ in range(5)] == ["allow"] * 5


def test_handoff_ping_pong_is_a_loop(make_gov) -> None:
    gov = make_gov({"protections": {"loops": {"max_repeats": 2}}})
    hand = lambda a, b: gov.check(lictor.Action(kind="handoff", agent=a, name=b, content="please handle", session="t")).verdict  # noqa: E731
    assert [hand("triage", "billing"), hand("billing", "triage"), hand("triage", "billing"), hand("billing", "triage"),
            hand("triage", "billing")] == ["allow", "allow", "allow", "allow", "deny"]


def test_no_session_counts_per_agent(make_gov) -> None:
    gov = make_gov({"protections": {"loops": {"max_repeats": 2}}})
    assert [call(gov, {"q": 1}, session=None) for _ in range(3)] == ["allow", "allow", "deny"]
