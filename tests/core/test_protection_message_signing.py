"""message_signing (ASI07): HMAC-signed messages and handoffs; unsigned, forged, replayed, misaddressed refused."""

from __future__ import annotations

from typing import Any

import pytest

import lictor
from lictor.protections.message_signing import MessageSigner

KEY = "k3y-for-tests-0123456789abcdef"


@pytest.fixture
def env_key(monkeypatch):
    monkeypatch.setenv("LICTOR_TEST_MSG_KEY", KEY)
    monkeypatch.setenv("LICTOR_TEST_OLD_KEY", "an-older-key-abcdefghijklmnop")


@pytest.fixture
def gov(make_gov, env_key):
    return make_gov({"protections": {"message_signing": {"key_env": "LICTOR_TEST_MSG_KEY", "max_age": "120s",
                                                         "exempt_senders": ["user"]}}})


def msg(sender: str, recipient: str, content: Any, meta: dict[str, Any] | None = None, kind: str = "message") -> lictor.Action:
    if kind == "handoff" and not isinstance(content, str):
        return lictor.Action(kind=kind, agent=sender, name=recipient, args=content, metadata=meta or {})
    return lictor.Action(kind=kind, agent=sender, name=recipient, content=content, metadata=meta or {})


def test_signed_message_passes_once(gov, clock) -> None:
    s = MessageSigner(KEY, clock=clock)
    meta = s.sign("planner", "executor", "Refund order ORD-123456")
    assert gov.check(msg("planner", "executor", "Refund order ORD-123456", meta)).verdict == "allow"
    d = gov.check(msg("planner", "executor", "Refund order ORD-123456", meta))
    assert d.verdict == "deny" and "replayed" in d.reasons[0] and d.risks == ("ASI07",)


def test_unsigned_and_adapter_status_strings_are_refused(gov) -> None:
    assert "unsigned" in gov.check(msg("planner", "executor", "hi")).reasons[0]
    assert gov.check(msg("planner", "executor", "hi", {"signature": "valid"})).verdict == "deny"


def test_altered_content_or_wrong_key_is_forgery(gov, clock) -> None:
    meta = MessageSigner(KEY, clock=clock).sign("planner", "executor", "Refund 10 EUR")
    d = gov.check(msg("planner", "executor", "Refund 10000 EUR", meta))
    assert d.verdict == "deny" and "does not match" in d.reasons[0]
    forged = MessageSigner("attacker-guess-0123456789abcdef", clock=clock).sign("planner", "executor", "x")
    assert gov.check(msg("planner", "executor", "x", forged)).verdict == "deny"
    # tampering with the signed fields themselves
    meta = MessageSigner(KEY, clock=clock).sign("planner", "executor", "x")
    meta["signature"]["ts"] += 1
    assert gov.check(msg("planner", "executor", "x", meta)).verdict == "deny"


def test_misattributed_and_misaddressed_messages(gov, clock) -> None:
    s = MessageSigner(KEY, clock=clock)
    meta = s.sign("planner", "executor", "x")
    d = gov.check(msg("rogue", "executor", "x", meta))
    assert d.verdict == "deny" and "misattributed" in d.reasons[0]
    d = gov.check(msg("planner", "treasury", "x", s.sign("planner", "executor", "x")))
    assert d.verdict == "deny" and "misaddressed" in d.reasons[0]


def test_expired_and_future_signatures(gov, clock) -> None:
    s = MessageSigner(KEY, clock=clock)
    meta = s.sign("planner", "executor", "x")
    clock.advance(121)
    assert "older than max_age" in gov.check(msg("planner", "executor", "x", meta)).reasons[0]
    clock.advance(-200)
    meta = s.sign("planner", "executor", "y")
    clock.advance(79)  # signed 79 s "before" the governor's now -> fine
    assert gov.check(msg("planner", "executor", "y", meta)).verdict == "allow"
    ahead = MessageSigner(KEY, clock=lambda: clock.t + 300).sign("planner", "executor", "z")
    assert "future" in gov.check(msg("planner", "executor", "z", ahead)).reasons[0]


def test_handoff_with_args_is_signed_over_canonical_json(gov, clock) -> None:
    s = MessageSigner(KEY, clock=clock)
    payload = {"task": "refund", "order": "ORD-1", "amount": 20}
    meta = s.sign("triage", "billing", {"amount": 20, "order": "ORD-1", "task": "refund"})  # key order irrelevant
    assert gov.check(msg("triage", "billing", payload, meta, kind="handoff")).verdict == "allow"
    meta = s.sign("triage", "billing", payload)
    tampered = dict(payload, amount=2000)
    assert gov.check(msg("triage", "billing", tampered, meta, kind="handoff")).verdict == "deny"


def test_exempt_senders_and_other_kinds(gov) -> None:
    assert gov.check(msg("user", "planner", "hello")).verdict == "allow"
    assert gov.check(lictor.Action(kind="tool_call", agent="planner", name="t")).verdict == "allow"


def test_previous_key_is_accepted_during_rotation(make_gov, env_key, clock) -> None:
    gov = make_gov({"protections": {"message_signing": {"key_env": "LICTOR_TEST_MSG_KEY",
                                                        "previous_key_env": "LICTOR_TEST_OLD_KEY"}}})
    old = MessageSigner("an-older-key-abcdefghijklmnop", clock=clock).sign("a", "b", "x")
    assert gov.check(msg("a", "b", "x", old)).verdict == "allow"


def test_bounded_nonce_cache_never_lets_a_replay_through(make_gov, env_key, clock) -> None:
    gov = make_gov({"protections": {"message_signing": {"key_env": "LICTOR_TEST_MSG_KEY", "max_nonces": 2}}})
    s = MessageSigner(KEY, clock=clock)
    first = s.sign("a", "b", "1")
    assert gov.check(msg("a", "b", "1", first)).verdict == "allow"
    for i in range(3):
        clock.advance(1)
        m = s.sign("a", "b", str(i + 2))
        assert gov.check(msg("a", "b", str(i + 2), m)).verdict == "allow"
    # `first` has been evicted from the cache, yet its replay is refused
    assert gov.check(msg("a", "b", "1", first)).verdict == "deny"


def test_key_is_never_in_errors_or_reprs(make_gov, monkeypatch) -> None:
    monkeypatch.setenv("LICTOR_TEST_SHORT", "short")
    with pytest.raises(lictor.PolicyError) as e:
        make_gov({"protections": {"message_signing": {"key_env": "LICTOR_TEST_SHORT"}}})
    assert "shorter than 16 bytes" in str(e.value) and "short\"" not in str(e.value).replace("LICTOR_TEST_SHORT", "")
    with pytest.raises(lictor.PolicyError, match="LICTOR_TEST_MISSING is not set"):
        make_gov({"protections": {"message_signing": {"key_env": "LICTOR_TEST_MISSING"}}})
    assert KEY not in repr(MessageSigner(KEY))


def test_signature_is_checked_before_other_plugins_rewrite_the_content(monkeypatch) -> None:
    # `secrets` redacts the token in the text; the signature covers what the sender wrote.
    monkeypatch.setenv("LICTOR_TEST_SIGNING_KEY_ORDER", "k" * 32)
    from lictor.protections.message_signing import MessageSigner

    gov = lictor.Governor.from_dict({"protections": {
        "message_signing": {"key_env": "LICTOR_TEST_SIGNING_KEY_ORDER"},
        "secrets": {},
    }}, load_entrypoints=False)
    text = "use token ghp_abcdefghijklmnopqrstuvwxyz0123456789 for the deploy"
    meta = MessageSigner("k" * 32).sign(sender="planner", recipient="executor", content=text)
    d = gov.check(lictor.Action(kind="message", agent="planner", name="executor", content=text, metadata=meta))
    assert "message_signing" not in d.rule_ids, d.reasons
    assert d.verdict in ("redact", "deny") and "secrets" in " ".join(d.rule_ids + d.plugins)
    gov.close()
