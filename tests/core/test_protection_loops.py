"""loops (ASI08): the same call with the same arguments repeated in a session."""

from __future__ import annotations

import hashlib

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

import lictor
from lictor.protections.loops import call_digest


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


@settings(max_examples=100, deadline=None)
@given(args=st.dictionaries(st.text(max_size=6), st.integers() | st.text(max_size=20) | st.none(), max_size=4),
       content=st.none() | st.text(max_size=40))
def test_the_digest_is_the_blake2b_of_the_canonical_call(args, content) -> None:
    """The state keys loop counts live under (shared through Redis) are the 12-byte BLAKE2b of
    the sorted-key JSON of (kind, name, args, content), whichever way it is computed; copying a
    prepared hasher must never carry one digest's input into the next."""
    a = lictor.Action(kind="tool_call", agent="a", name="search", args=args, content=content)
    try:
        body = orjson.dumps([a.kind, a.name, a.args, a.content], option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    except orjson.JSONEncodeError:  # integers beyond 64 bits: the repr fallback
        return
    want = hashlib.blake2b(body, digest_size=12).hexdigest()
    assert call_digest(a) == want
    assert call_digest(a) == want
