"""The protections' fast paths and caches give the answers the plain code gives, and a change
that must be seen (a learned profile, a new minute, ...) is seen through every cache."""

from __future__ import annotations

import random
import re
from typing import Any

import lictor
from lictor.protections import secret_scan

# -- secrets: the pre-scan filter ------------------------------------------------------------

_REF_RUN = re.compile(r"[A-Za-z0-9+/_\-]{16}")
_REF_WORDS = re.compile(r"key|secret|token|passw|pwd|bearer|private")


def _reference_candidate(text: str) -> bool:
    """The filter as first written: three regular-expression tests."""
    if len(text) < 8:
        return False
    if _REF_RUN.search(text) is not None:
        return True
    if "@" in text and "://" in text:
        return True
    return _REF_WORDS.search(text.lower()) is not None


def _random_texts(n: int) -> list[str]:
    rnd = random.Random(11)
    pieces = ["key", "KEY", "Secret", "tOkEn", "passw", "PWD", "bearer", "Private", "@", "://", " ", "-", "_", "+",
              "/", ".", "=", ",", "a", "Z", "9", "x" * 7, "y" * 15, "Ab3" * 5, "ſecret", "\u212aey", "é", "İ",
              "\u00a0", "😀", "\n", "sk_live_", "AKIA", "ghp_"]
    out = []
    for _ in range(n):
        out.append("".join(rnd.choice(pieces) for _ in range(rnd.randrange(0, 12))))
    return out


def test_candidate_filter_agrees_with_the_regular_expressions() -> None:
    texts = _random_texts(5000) + ["customer asked for a refund", "4111 1111 1111 1111", "a" * 16, "a" * 15 + " b",
                                   "x" * 600, "x" * 600 + " API_KEY", "see https://u:p@host/", "\u212aEY=1234567890"]
    for t in texts:
        want = _reference_candidate(t)
        assert secret_scan._candidate(t) is want, t
        assert secret_scan._candidate(t) is want, t  # second time: from the cache when negative


def test_candidate_cache_keeps_only_short_negatives_and_stays_bounded() -> None:
    secret_scan._CLEAN.clear()
    secret = "api_key=" + "Zq8" * 8
    assert secret_scan._candidate(secret) and secret not in secret_scan._CLEAN
    long_clean = "plain words " * 60
    assert not secret_scan._candidate(long_clean) and long_clean not in secret_scan._CLEAN
    for i in range(secret_scan._CLEAN_MAX + 10):
        secret_scan._candidate(f"note number {i}")
    assert len(secret_scan._CLEAN) <= secret_scan._CLEAN_MAX
    # a value seen clean is still judged with the others: a secret next to it is found
    gov = lictor.Governor.from_dict({"protections": {"secrets": {}}}, load_entrypoints=False)
    a = lictor.Action(kind="tool_call", agent="a", name="t", args={"note": "note number 3", "k": secret})
    assert gov.check(a).verdict == "deny"


# -- baseline: compiled profiles --------------------------------------------------------------

def _act(name: str, **args: Any) -> lictor.Action:
    return lictor.Action(kind="tool_call", agent="support-1", name=name, args=args or {"order_id": "A-1"})


def test_baseline_score_sees_what_was_learned_after_it_was_compiled(make_gov, tmp_path) -> None:
    gov = make_gov({"protections": {"baseline": {"path": str(tmp_path / "b.json"), "learn": True}}})
    plugin = gov.pm.get_plugin("baseline")
    gov.check(_act("lookup_order"))
    now = gov.ctx.clock()
    score, evidence = plugin.score(_act("send_reply", text="hi"), now)
    assert score > 0 and any("unknown tool_call 'send_reply'" in e for e in evidence)
    gov.check(_act("send_reply", text="hi"))  # learned now: the compiled profile must be dropped
    score, evidence = plugin.score(_act("send_reply", text="hi"), now)
    assert not any("unknown" in e for e in evidence)


def test_baseline_evidence_only_when_a_threshold_is_reached(make_gov, tmp_path, clock) -> None:
    path = tmp_path / "b.json"
    learner = make_gov({"mode": "monitor", "protections": {"baseline": {"path": str(path)}}})
    for i in range(3):
        learner.check(_act("lookup_order", order_id=str(i)))
    learner.close()
    clock.advance(3600)
    gov = make_gov({"protections": {"baseline": {"path": str(path), "min_rate": 2, "thresholds": {"approve": 0.5}}}})
    # limit: max(min_rate 2, 2 x 3) = 6 a minute. The rate note alone (0.4) stays below 0.5: no
    # vote; with a new argument (+0.3) the threshold is reached and the evidence names both.
    assert [gov.check(_act("lookup_order", order_id="x")).verdict for _ in range(7)] == ["allow"] * 7
    d = gov.check(_act("lookup_order", order_id="x", extra="y"))
    assert d.verdict == "approve"
    assert d.evidence == ("new argument 'extra' (+0.3)", "8 actions this minute, baseline at most 3 (+0.4)")
    clock.advance(60)  # a new calendar minute: the count starts again
    assert gov.check(_act("lookup_order", order_id="x", extra="y")).verdict == "allow"


def _random_value(rnd: random.Random) -> Any:
    return rnd.choice([lambda: "x" * rnd.choice([0, 3, 15, 17, 70, 300]), lambda: rnd.randrange(-5, 10**6),
                       lambda: rnd.random(), lambda: rnd.random() < 0.5, lambda: None,
                       lambda: [1] * rnd.choice([0, 2, 80]), lambda: {"k": 1}, lambda: (1, 2)])()


def test_baseline_shared_argument_entries_give_the_per_profile_answers(make_gov, tmp_path, monkeypatch) -> None:
    """Profiles learned alike share one compiled entry per argument; scoring through the shared
    entries gives the scores and evidence that entries compiled for each profile alone give."""
    from lictor.protections import baseline as baseline_mod
    from lictor.protections.baseline import BaselinePlugin

    rnd = random.Random(5)
    agents, tools, names = ["a1", "a2", "a3"], ["t1", "t2", "t3", "t4"], ["id", "note", "n", "tags", "opt"]

    def action() -> lictor.Action:
        args = {k: _random_value(rnd) for k in rnd.sample(names, rnd.randrange(0, 4))}
        return lictor.Action(kind=rnd.choice(["tool_call", "tool_call", "handoff"]), agent=rnd.choice(agents + ["new"]),
                             name=rnd.choice(tools), args=args)

    path = tmp_path / "b.json"
    learner = make_gov({"mode": "monitor", "protections": {"baseline": {"path": str(path)}}})
    for _ in range(300):
        learner.check(action())
    learner.close()
    probes = [action() for _ in range(800)]
    cfg = {"protections": {"baseline": {"path": str(path), "min_rate": 10**6, "unknown_agent": "allow"}}}
    shared = make_gov(cfg).pm.get_plugin("baseline")
    got = [shared.score(a, 0.0) for a in probes]

    def per_profile(self: Any, learned: dict[str, Any]) -> dict[str, Any]:  # the entries as first compiled
        out = {}
        for k, a in learned.items():
            lim = max(64, 4 * a["max_len"])
            types = {pt: (lim if pt in baseline_mod._SIZED else None) for pt, jt in baseline_mod._TYPE_OF.items()
                     if jt in a["types"]}
            out[k] = (types, frozenset(a["types"]), a["max_len"], lim)
        return out

    monkeypatch.setattr(BaselinePlugin, "_known_args", per_profile)
    alone = make_gov(cfg).pm.get_plugin("baseline")
    assert [alone.score(a, 0.0) for a in probes] == got
    assert len({id(e) for args in shared._shared_args.values() for e in args.values()}) == len(shared._shared_entries)
    assert any(score > 0 for score, _ in got) and any(score == 0 for score, _ in got)


# -- tool_access: fused leaf validators and the (agent, tool) cache -----------------------------

LEAVES: list[dict[str, Any]] = [
    {"type": "number", "minimum": 0, "maximum": 100_000},
    {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 10.5},
    {"type": "integer", "minimum": -3, "maximum": 2**53 + 1},
    {"type": "number", "maximum": 2**53 + 1, "description": "a bound that float() rounds"},
    {"type": "integer"},
    {"type": "number"},
    {"type": "string", "maxLength": 8},
    {"type": "string", "minLength": 2, "maxLength": 4},
    {"type": "string"},
    {"minimum": 1},
    {"type": ["string", "null"], "maxLength": 3},
]
VALUES: list[Any] = [0, 1, -1, 5, 10, 10.5, 11, 100_000, 100_001, -0.0, 2.0, 2.5, float("nan"), float("inf"),
                     -float("inf"), True, False, None, "", "a", "ab", "abcd", "abcde", "x" * 9, [1], {"a": 1},
                     2**53, 2**53 + 1, 2**53 + 2, 10**400, (1,)]


def test_fused_validators_give_the_plain_validators_answers(monkeypatch) -> None:
    from lictor.protections import tool_access
    from lictor.protections._common import Section

    def compile_all(schema: dict[str, Any]) -> Any:
        return tool_access.compile_schema(Section(None, "tool_access", schema), "x")

    fused = [compile_all(leaf) for leaf in LEAVES] + [compile_all({"properties": {"a": leaf}}) for leaf in LEAVES]
    monkeypatch.setattr(tool_access, "_with_fast_accept", lambda spec, slow: slow)
    plain = [compile_all(leaf) for leaf in LEAVES] + [compile_all({"properties": {"a": leaf}}) for leaf in LEAVES]
    n = len(LEAVES)
    for i, (f, p) in enumerate(zip(fused, plain)):
        for v in VALUES:
            arg = v if i < n else {"a": v}
            assert f(arg) == p(arg), (LEAVES[i % n], v)


def test_tool_access_cache_still_sees_metadata_roles(make_gov) -> None:
    gov = make_gov({"protections": {"tool_access": {
        "agents": {"bot-*": {"allow": ["read_*"]}},
        "roles": {"auditor": {"allow": ["export_ledger"]}},
        "args": {"export_ledger": {"properties": {"year": {"type": "integer", "minimum": 2000}},
                                   "require": "'auditor' in agent_roles"}}}}})

    def check(roles: Any = None, **args: Any) -> str:
        md = {"roles": roles} if roles is not None else {}
        return gov.check(lictor.Action(kind="tool_call", agent="bot-1", name="export_ledger", args=args,
                                       metadata=md)).verdict

    for _ in range(2):  # the second round answers from the caches
        assert check(year=2024) == "deny"
        assert check(roles=["auditor"], year=2024) == "allow"
        assert check(roles=["auditor"], year=1999) == "deny"
        assert check(roles="auditor", year=2024) == "allow"
        assert check(roles=[], year=2024) == "deny"
        assert gov.check(lictor.Action(kind="tool_call", agent="bot-1", name="read_x")).verdict == "allow"
