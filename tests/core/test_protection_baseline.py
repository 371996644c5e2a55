"""baseline (ASI10): per-agent behaviour learned, persisted, departures scored; repeat offenders quarantined."""

from __future__ import annotations

import json
from typing import Any

import pytest

import lictor


def act(agent: str = "support-1", name: str = "lookup_order", **kw: Any) -> lictor.Action:
    kw.setdefault("args", {"order_id": "A-1001"})
    return lictor.Action(kind="tool_call", agent=agent, name=name, **kw)


def learn(make_gov, path, actions: list[lictor.Action], **cfg: Any) -> None:
    gov = make_gov({"mode": "monitor", "protections": {"baseline": {"path": str(path), **cfg}}})
    for a in actions:
        gov.check(a)
    gov.close()


HISTORY = [act(args={"order_id": f"A-{i}"}) for i in range(20)] + [
    act(name="send_reply", args={"ticket": i, "text": "Thanks, your refund is on its way."}) for i in range(10)]


def test_learning_in_monitor_mode_writes_the_profile(make_gov, tmp_path) -> None:
    path = tmp_path / "baseline.json"
    learn(make_gov, path, HISTORY)
    data = json.loads(path.read_text())
    prof = data["agents"]["support-1"]
    assert prof["actions"] == 30 and set(prof["tools"]) == {"tool_call:lookup_order", "tool_call:send_reply"}
    assert prof["tools"]["tool_call:send_reply"]["args"]["text"]["types"] == ["string"]


@pytest.fixture
def enforcing(make_gov, tmp_path):
    path = tmp_path / "baseline.json"
    learn(make_gov, path, HISTORY)
    return make_gov({"protections": {"baseline": {"path": str(path), "thresholds": {"deny": 0.9, "approve": 0.5},
                                                  "quarantine": {"denials": 3, "within": "10m"}}}})


def test_usual_behaviour_passes(enforcing) -> None:
    assert enforcing.check(act(args={"order_id": "B-77"})).verdict == "allow"
    assert enforcing.check(act(name="send_reply", args={"ticket": 99, "text": "Hello again!"})).verdict == "allow"


def test_unknown_tool_is_scored_with_evidence(enforcing) -> None:
    d = enforcing.check(act(name="export_all_customers", args={"format": "csv"}))
    assert d.verdict == "approve" and d.rule_ids == ("baseline",) and d.risks == ("ASI10",)
    assert "unknown tool_call 'export_all_customers'" in d.reasons[0] and d.evidence


def test_new_arguments_and_shapes_add_up(enforcing) -> None:
    d = enforcing.check(act(name="send_reply", args={"ticket": "99", "text": "x" * 5000, "bcc": "drop@evil.example"}))
    # new argument (+0.3) + type change (+0.3) + size jump (+0.2) = 0.8 -> approve
    assert d.verdict == "approve"
    assert any("new argument 'bcc'" in e for e in d.evidence)
    assert any("argument 'ticket' is string" in e for e in d.evidence)
    assert any("has size 5000" in e for e in d.evidence)
    d = enforcing.check(lictor.Action(kind="code_exec", agent="support-1", name="python", content="print(1)"))
    assert d.verdict == "deny"  # first code_exec (+0.5) and unknown 'python' (+0.6)


def test_unknown_agent(enforcing) -> None:
    d = enforcing.check(act(agent="impostor"))
    assert d.verdict == "approve" and "no baseline for agent 'impostor'" in d.reasons[0]


def test_rate_far_above_the_baseline(make_gov, tmp_path, clock) -> None:
    path = tmp_path / "b.json"
    learn(make_gov, path, [act(args={"order_id": str(i)}) for i in range(5)])
    clock.advance(3600)
    gov = make_gov({"protections": {"baseline": {"path": str(path), "min_rate": 10, "thresholds": {"approve": 0.4}}}})
    verdicts = [gov.check(act(args={"order_id": str(i)})).verdict for i in range(12)]
    assert verdicts[:10] == ["allow"] * 10 and verdicts[-1] == "approve"


def test_repeated_denials_quarantine_until_a_human_releases(enforcing) -> None:
    for _ in range(2):
        d = enforcing.check(lictor.Action(kind="code_exec", agent="support-1", name="python", content="x"))
        assert d.verdict == "deny" and not d.halt
    d = enforcing.check(lictor.Action(kind="code_exec", agent="support-1", name="python", content="x"))
    assert d.verdict == "deny"
    # the third denial engaged the kill switch for this agent only
    d = enforcing.check(act(args={"order_id": "A-1"}))
    assert d.verdict == "deny" and d.halt and "quarantined by baseline" in d.reasons[0]
    assert enforcing.check(act(agent="support-2")).verdict in ("approve",)  # others are not quarantined
    enforcing.kill_switch.release(agent="support-1")
    assert enforcing.check(act(args={"order_id": "A-1"})).verdict == "allow"


def test_learn_flag_in_enforce_mode_and_periodic_save(make_gov, tmp_path) -> None:
    path = tmp_path / "b.json"
    gov = make_gov({"protections": {"baseline": {"path": str(path), "learn": True, "save_every": 5}}})
    for a in HISTORY[:6]:
        assert gov.check(a).verdict == "allow"
    assert json.loads(path.read_text())["agents"]["support-1"]["actions"] == 5  # saved without closing


def test_config_errors(make_gov, tmp_path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"agents": []}')
    with pytest.raises(lictor.PolicyError) as e:
        make_gov({"protections": {"baseline": {"path": str(bad), "thresholds": {"deny": 2, "block": 0.5},
                                               "weights": {"unknown_tool": 0.5, "novelty": 1}}}})
    msg = str(e.value)
    assert "protections.baseline.path: cannot read baseline" in msg
    assert "protections.baseline.thresholds.deny: expected a score in (0, 1]" in msg
    assert "protections.baseline.thresholds.block" in msg
    assert "protections.baseline.weights.novelty: unknown setting" in msg
