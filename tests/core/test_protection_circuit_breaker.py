"""circuit_breaker (ASI08): failures seen in output checks open a per-tool breaker for a cool-down."""

from __future__ import annotations

from typing import Any

import pytest

import lictor
from lictor.protections.circuit_breaker import is_failure

POLICY = {"protections": {"circuit_breaker": {"failures": 3, "within": "60s", "cooldown": "30s"}}}


def act(name: str = "payments_api", agent: str = "a", **kw: Any) -> lictor.Action:
    return lictor.Action(kind="tool_call", agent=agent, name=name, **kw)


def fail(gov: lictor.Governor, name: str = "payments_api", output: Any = None) -> None:
    a = act(name)
    assert gov.check(a).verdict == "allow"
    gov.check_output(a, output if output is not None else TimeoutError("upstream timed out"))


def test_breaker_opens_after_n_failures_and_half_opens_after_cooldown(make_gov, clock) -> None:
    gov = make_gov(POLICY)
    for _ in range(3):
        fail(gov)
    d = gov.check(act())
    assert d.verdict == "deny" and d.rule_ids == ("circuit_breaker",) and "ASI08" in d.risks
    assert gov.check(act("other_tool")).verdict == "allow"  # per tool
    clock.advance(31)
    trial = act()
    assert gov.check(trial).verdict == "allow"  # one trial call
    assert gov.check(act()).verdict == "deny"   # while it runs, others wait
    gov.check_output(trial, {"status": "ok", "result": 1})
    assert gov.check(act()).verdict == "allow"  # closed again


def test_failed_trial_reopens(make_gov, clock) -> None:
    gov = make_gov(POLICY)
    for _ in range(3):
        fail(gov)
    clock.advance(31)
    trial = act()
    assert gov.check(trial).verdict == "allow"
    gov.check_output(trial, "Error: connection refused")
    assert gov.check(act()).verdict == "deny"


def test_failures_outside_the_window_do_not_add_up(make_gov, clock) -> None:
    gov = make_gov(POLICY)
    for _ in range(2):
        fail(gov)
    clock.advance(61)
    fail(gov)
    assert gov.check(act()).verdict == "allow"


def test_successes_never_open(make_gov) -> None:
    gov = make_gov(POLICY)
    for _ in range(10):
        a = act()
        gov.check(a)
        gov.check_output(a, "Found 3 orders. No error occurred.")
    assert gov.check(act()).verdict == "allow"


@pytest.mark.parametrize("output, failed", [
    (RuntimeError("x"), True), ({"isError": True, "content": []}, True), ({"is_error": True}, True),
    ({"status": "error"}, True), ({"status": "FAILED"}, True), ({"ok": False}, True), ({"error": "quota exceeded"}, True),
    ("Error: 500 Internal Server Error", True), ("Traceback (most recent call last):\n  File", True),
    ({"status": "ok"}, False), ({"error": None, "data": 1}, False), ({"error": ""}, False),
    ("The error rate fell to 0.1%", False), ("no errors", False), (None, False), (42, False), ([], False),
])
def test_what_counts_as_a_failure(output: Any, failed: bool) -> None:
    assert is_failure(output) is failed


def test_adapter_outcome_metadata_counts(make_gov) -> None:
    gov = make_gov(POLICY)
    for _ in range(3):
        a = act(metadata={"outcome": "error"})
        gov.check(a)
        gov.check_output(a, "whatever")
    assert gov.check(act()).verdict == "deny"


def test_agent_tool_scope(make_gov) -> None:
    gov = make_gov({"protections": {"circuit_breaker": {"failures": 1, "scope": "agent_tool"}}})
    a = act(agent="x")
    gov.check(a)
    gov.check_output(a, ValueError("bad"))
    assert gov.check(act(agent="x")).verdict == "deny"
    assert gov.check(act(agent="y")).verdict == "allow"
