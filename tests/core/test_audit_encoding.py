"""The journal form of a record (a positional array, cheap on the hot path) expands to exactly
the keyed record the trail stores and shows; older journal lines are stored unchanged."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lictor
from lictor.audit.record import dumps, encode_decision, expand_body


def _text(rec: dict[str, Any], key: str, value: Any, limit: int) -> None:
    if value is None:
        rec[key] = None
        return
    if not isinstance(value, str):
        value = orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS).decode()
    rec[key] = value[:limit]
    rec[key + "_sha256"] = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()
    rec[key + "_len"] = len(value)


def expected(rid: str, when: float, a: lictor.Action, d: lictor.Decision, limit: int) -> dict[str, Any]:
    """The record as documented in lictor.audit: the action as submitted, the decision, and what
    ran when it differs from what was asked."""
    act = {"kind": a.kind, "agent": a.agent, "name": a.name, "session": a.session, "call_id": a.call_id,
           "args": a.args}
    _text(act, "content", a.content, limit)
    rec: dict[str, Any] = {"rid": rid, "time": when, "action": act, "phase": d.phase, "verdict": d.verdict,
                           "reasons": list(d.reasons), "rule_ids": list(d.rule_ids), "risks": list(d.risks),
                           "enforced": d.enforced, "halt": d.halt, "plugins": list(d.plugins),
                           "decision_id": d.decision_id, "policy_hash": d.policy_hash, "approval": None}
    if d.evidence:
        rec["evidence"] = list(d.evidence)
    if d.approval is not None:
        ap = d.approval
        rec["approval"] = {"approver": ap.approver, "approved": ap.approved, "comment": ap.comment,
                           "args": ap.args, "at": ap.at}
    if d.action is not None and d.action is not a:
        if d.action.args != a.args:
            rec["redacted_args"] = d.action.args
        if d.action.content != a.content:
            _text(rec, "redacted_content", d.action.content, limit)
    if d.output is not None:
        _text(rec, "output", d.output, limit)
    return orjson.loads(orjson.dumps(rec, option=orjson.OPT_NON_STR_KEYS))  # JSON's view (tuples as lists)


POLICY = {
    "rules": [
        {"id": "mask-card", "match": {"name": "pay"}, "effect": "redact", "redact": {"args": ["card"]}},
        {"id": "big", "match": {"name": "pay"}, "when": "args.amount > 100", "effect": "approve"},
        {"id": "no-shell", "match": {"name": "shell"}, "effect": "deny", "risks": ["ASI05"]},
    ],
    "protections": {"pii": {"on": ["tool_output", "model_output"]}, "prompt_injection": {}},
}

args_st = st.dictionaries(
    st.text(min_size=1, max_size=8),
    st.recursive(st.none() | st.booleans() | st.integers(-2**53, 2**53) | st.floats(allow_nan=False, allow_infinity=False)
                 | st.text(max_size=30), lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3),
                 max_leaves=8),
    max_size=4,
)


@settings(max_examples=150, deadline=None)
@given(name=st.sampled_from(["pay", "shell", "lookup"]), args=args_st,
       content=st.none() | st.text(max_size=120), output=st.none() | st.text(max_size=120),
       limit=st.sampled_from([16, 4096]))
def test_journal_form_expands_to_the_documented_record(name, args, content, output, limit):
    a = lictor.Action(kind="tool_call", agent="support-1", name=name, args=args, content=content, session="s")
    with lictor.Governor(POLICY, load_entrypoints=False) as gov:
        d = gov.check(a) if output is None else gov.check_output(a, output)
    body = encode_decision("r-1", 1234.5, a, d, limit)
    stored = expand_body(body)
    assert orjson.loads(stored) == expected("r-1", 1234.5, a, d, limit)
    assert stored == orjson.dumps(orjson.loads(stored), option=orjson.OPT_SORT_KEYS)  # canonical: sorted keys
    assert stored == dumps(orjson.loads(stored))  # the bytes the full canonical encoder gives
    assert len(body) < len(stored)


def test_the_trail_shows_redactions_approvals_outputs_and_long_content(tmp_path):
    policy = dict(POLICY, audit={"path": str(tmp_path / "a.db"), "max_content": 32})
    with lictor.Governor(policy, load_entrypoints=False) as gov:
        pay = lictor.Action(kind="tool_call", agent="support-1", name="pay", args={"amount": 500, "card": "4111"},
                            call_id="c1", session="s")
        pending = gov.check(pay)
        assert pending.verdict == "approve"
        gov.resolve_approval(pending, lictor.Approval(approver="maria", approved=True, comment="ok"))
        prompt = lictor.Action(kind="model_call", agent="support-1", name="gpt", content="x" * 100, session="s")
        d_prompt = gov.check(prompt)
        out = gov.check_output(lictor.Action(kind="tool_call", agent="support-1", name="lookup", session="s"),
                               "Reach Jane at jane.doe@example.com, " + "y" * 80)
        recs = gov.audit.records()
    derived = ("seq", "hash", "time_iso")
    got = [{k: v for k, v in r.items() if k not in derived} for r in recs]
    assert got[0]["redacted_args"] == {"amount": 500, "card": "[REDACTED]"} and got[0]["verdict"] == "approve"
    assert got[1]["approval"]["approver"] == "maria" and got[1]["approval"]["approved"] is True
    assert got[2]["action"]["content"] == "x" * 32 and got[2]["action"]["content_len"] == 100
    assert got[2]["action"]["content_sha256"] == hashlib.sha256(b"x" * 100).hexdigest()
    assert got[3]["verdict"] == "redact" and "jane.doe@example.com" not in got[3]["output"]
    assert got[3]["output_len"] > 32 and len(got[3]["output"]) == 32
    assert got[2] == expected(got[2]["rid"], got[2]["time"], prompt, d_prompt, 32)
    assert got[3] == expected(got[3]["rid"], got[3]["time"], out.action, out, 32)


def test_an_older_journal_line_is_stored_byte_for_byte():
    old = b'{"action":{"kind":"tool_call"},"rid":"x-1","verdict":"allow"}'
    assert expand_body(old) == old


@pytest.mark.parametrize("torn", [b'[2,"r-1",12.5,"tool_call","a"', b"", b"[1,2,3]", b'"text"', b"\x00\x00"])
def test_a_torn_or_foreign_line_is_refused(torn):
    with pytest.raises(ValueError):
        expand_body(torn)
