"""The audit trail through the public API: what is recorded, and what verification catches.

Tampering is done the way an attacker would: by editing the SQLite file directly.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path

import pytest

import lictor
from lictor import Action, Approval
from lictor.audit import Head, read_records, verify_file
from lictor.audit.record import chain_hash

RULES = [
    {"id": "no-shell", "match": {"kind": "tool_call", "name": "shell*"}, "effect": "deny", "risks": ["ASI05"]},
    {"id": "big-refund", "match": {"name": "refund"}, "when": "args.amount > 100", "effect": "approve"},
    {"id": "mask-iban", "match": {"name": "pay"}, "effect": "redact", "redact": {"args": ["iban"]}},
]


def make_gov(db: Path, **audit) -> lictor.Governor:
    cfg = {"sink": "sqlite", "path": str(db), **audit}
    return lictor.Governor.from_dict({"rules": RULES, "audit": cfg}, load_entrypoints=False)


def act(name: str = "search", **kw) -> Action:
    return Action(kind="tool_call", agent=kw.pop("agent", "agent-1"), name=name, **kw)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "a.db"


def fill(db: Path, n: int = 10) -> None:
    with make_gov(db) as gov:
        for i in range(n):
            gov.check(act(args={"i": i}))


# -- what is recorded ------------------------------------------------------------------------


def test_every_verdict_is_recorded_with_its_reasons_rules_and_ids(db: Path) -> None:
    with make_gov(db) as gov:
        allow = gov.check(act("search", args={"q": "x"}, session="s1", call_id="c1"))
        deny = gov.check(act("shell", args={"cmd": "rm -rf /"}))
        redact = gov.check(act("pay", args={"iban": "DE89370400440532013000", "amount": 5}))
        pending = gov.check(act("refund", args={"amount": 500}))
        recs = gov.audit.records()
    assert [d.verdict for d in (allow, deny, redact, pending)] == ["allow", "deny", "redact", "approve"]
    assert [r["verdict"] for r in recs] == ["allow", "deny", "redact", "approve"]
    assert [r["decision_id"] for r in recs] == [d.decision_id for d in (allow, deny, redact, pending)]
    assert [r["seq"] for r in recs] == [1, 2, 3, 4]
    a, d, r, p = recs
    assert {k: a["action"][k] for k in ("kind", "agent", "name", "session", "call_id")} == {
        "kind": "tool_call", "agent": "agent-1", "name": "search", "session": "s1", "call_id": "c1"}
    assert a["action"]["args"] == {"q": "x"} and a["enforced"] is True and a["halt"] is False
    assert a["time_iso"].endswith("+00:00")
    assert a["policy_hash"] == allow.policy_hash != ""
    assert d["rule_ids"] == ["no-shell"] and d["risks"] == ["ASI05"] and d["reasons"] == list(deny.reasons)
    assert d["plugins"] == ["rules"]
    # The trail shows what the agent asked and what actually ran.
    assert r["action"]["args"]["iban"] == "DE89370400440532013000"
    assert r["redacted_args"] == redact.action.args and r["redacted_args"]["iban"] != r["action"]["args"]["iban"]
    assert p["approval"] is None and p["rule_ids"] == ["big-refund"]


def test_an_approval_resolution_is_a_record_of_its_own_with_the_approver(db: Path) -> None:
    with make_gov(db) as gov:
        pending = gov.check(act("refund", args={"amount": 500}))
        edited = gov.resolve_approval(pending, Approval(approved=True, approver="alice", comment="ok", args={"amount": 90}))
        pending2 = gov.check(act("refund", args={"amount": 700}))
        refused = gov.resolve_approval(pending2, Approval(approved=False, approver="bob"))
        recs = gov.audit.records()
    assert [r["verdict"] for r in recs] == ["approve", "redact", "approve", "deny"]
    ok = recs[1]
    assert ok["decision_id"] == edited.decision_id != pending.decision_id
    assert ok["approval"]["approver"] == "alice" and ok["approval"]["approved"] is True
    assert ok["approval"]["comment"] == "ok" and ok["approval"]["args"] == {"amount": 90}
    assert ok["redacted_args"] == {"amount": 90} and ok["action"]["args"] == {"amount": 500}
    assert recs[3]["approval"]["approver"] == "bob" and recs[3]["approval"]["approved"] is False
    assert refused.verdict == "deny"


def test_long_content_is_truncated_to_max_content_with_the_hash_of_all_of_it(db: Path) -> None:
    text = "é" + "x" * 999
    with make_gov(db, max_content=100) as gov:
        gov.check(Action(kind="message", agent="a", name="user", content=text))
        gov.check(Action(kind="message", agent="a", name="user", content="short"))
        long_rec, short_rec = gov.audit.records()
    long_act, short_act = long_rec["action"], short_rec["action"]
    assert long_act["content"] == text[:100]
    assert long_act["content_len"] == 1000
    assert long_act["content_sha256"] == hashlib.sha256(text.encode()).hexdigest()
    assert short_act["content"] == "short" and short_act["content_len"] == 5


def test_output_checks_are_recorded_with_the_output_truncated(db: Path) -> None:
    with make_gov(db, max_content=10) as gov:
        gov.check_output(act("search"), "0123456789abcdef")
        (rec,) = gov.audit.records()
    assert rec["output"] == "0123456789" and rec["output_len"] == 16


def test_odd_argument_types_are_recorded_instead_of_failing_the_decision(db: Path) -> None:
    class Thing:
        def __repr__(self) -> str:
            return "<thing>"

    with make_gov(db) as gov:
        d = gov.check(act(args={"obj": Thing(), "tags": {"b", "a"}, "raw": b"\x00ab", "nested": {1: "int key"}}))
        (rec,) = gov.audit.records()
    assert d.verdict == "allow"
    assert rec["action"]["args"] == {"obj": "<thing>", "tags": ["a", "b"], "raw": "\x00ab", "nested": {"1": "int key"}}


def test_records_last_n_and_read_records_without_a_governor(db: Path) -> None:
    fill(db, 7)
    assert [r["action"]["args"]["i"] for r in read_records(str(db), last=3)] == [4, 5, 6]
    assert len(read_records(str(db))) == 7
    with make_gov(db) as gov:
        assert [r["seq"] for r in gov.audit.records(last=2)] == [6, 7]


def test_no_audit_section_means_no_trail_and_no_file(tmp_path: Path) -> None:
    os.chdir(tmp_path)
    gov = lictor.Governor.from_dict({"rules": RULES}, load_entrypoints=False)
    gov.check(act())
    with pytest.raises(RuntimeError, match="no audit trail"):
        gov.audit
    gov.close()
    none = lictor.Governor.from_dict({"audit": {"sink": "none"}}, load_entrypoints=False)
    with pytest.raises(RuntimeError):
        none.audit
    none.close()
    assert list(tmp_path.iterdir()) == []


def test_a_trail_continues_across_governors_and_restarts(db: Path) -> None:
    fill(db, 3)
    fill(db, 4)
    report = verify_file(str(db))
    assert report.ok and report.records == 7


# -- an audit that cannot write fails closed -----------------------------------------------------


def test_a_path_in_a_missing_directory_refuses_to_build_the_governor(tmp_path: Path) -> None:
    bad = tmp_path / "nope" / "a.db"
    with pytest.raises(lictor.PolicyError) as err:
        make_gov(bad)
    assert str(bad) in str(err.value) and "audit" in str(err.value)


def test_an_unwritable_journal_location_refuses_to_build_the_governor(tmp_path: Path) -> None:
    # Works as root too: a file where the journal directory must go cannot be written into.
    (tmp_path / "a.db.journal").write_text("in the way")
    with pytest.raises(lictor.PolicyError) as err:
        make_gov(tmp_path / "a.db")
    assert "cannot write the audit trail" in str(err.value) and str(tmp_path / "a.db") in str(err.value)


def test_a_path_that_is_not_a_database_refuses_to_build_the_governor(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(lictor.PolicyError, match="junk.db"):
        make_gov(junk)


def test_a_decision_after_the_trail_is_closed_is_denied_not_unrecorded(db: Path) -> None:
    gov = make_gov(db)
    gov.audit.close()
    d = gov.check(act())
    assert d.verdict == "deny" and d.blocked
    assert any("audit" in r for r in d.reasons)
    gov.close()


# -- tamper detection ------------------------------------------------------------------------


def sql(db: Path, *statements: str, params: tuple = ()) -> None:
    con = sqlite3.connect(db)
    with con:
        for s in statements:
            con.execute(s, params)
    con.close()


def row(db: Path, seq: int) -> tuple:
    con = sqlite3.connect(db)
    r = con.execute("SELECT seq, rid, prev, hash, body FROM audit_records WHERE seq = ?", (seq,)).fetchone()
    con.close()
    return r


def test_an_untouched_trail_verifies(db: Path) -> None:
    fill(db)
    report = verify_file(str(db))
    assert report.ok and report.records == 10 and report.first_bad is None
    assert report.head.seq == 10


def test_an_edited_record_is_named(db: Path) -> None:
    fill(db)
    body = row(db, 4)[4].replace(b'"verdict":"allow"', b'"verdict":"deny"')
    sql(db, "UPDATE audit_records SET body = ? WHERE seq = 4", params=(body,))
    report = verify_file(str(db))
    assert not report.ok and report.first_bad == 4 and "altered" in report.problem


def test_an_edit_with_a_recomputed_hash_is_caught_at_the_next_record(db: Path) -> None:
    fill(db)
    seq, _rid, prev, _h, body = row(db, 4)
    body = body.replace(b'"i":3', b'"i":333')
    sql(db, "UPDATE audit_records SET body = ?, hash = ? WHERE seq = 4", params=(body, chain_hash(prev, 4, body)))
    report = verify_file(str(db))
    assert not report.ok and report.first_bad == 5


def test_a_deleted_record_is_named(db: Path) -> None:
    fill(db)
    sql(db, "DELETE FROM audit_records WHERE seq = 6")
    report = verify_file(str(db))
    assert not report.ok and report.first_bad == 7 and "record 6 is missing" in report.problem


def test_a_deletion_with_renumbering_is_named(db: Path) -> None:
    fill(db)
    sql(db, "DELETE FROM audit_records WHERE seq = 6", "UPDATE audit_records SET seq = seq - 1 WHERE seq > 6")
    report = verify_file(str(db))
    assert not report.ok and report.first_bad == 6


def test_an_inserted_record_is_named(db: Path) -> None:
    fill(db)
    # Make room after record 5 and insert a copy of record 2 there.
    sql(db, "UPDATE audit_records SET seq = -seq WHERE seq > 5", "UPDATE audit_records SET seq = 1 - seq WHERE seq < 0")
    _seq, _rid, prev, h, body = row(db, 2)
    sql(db, "INSERT INTO audit_records (seq, rid, prev, hash, body) VALUES (6, 'forged', ?, ?, ?)", params=(prev, h, body))
    report = verify_file(str(db))
    assert not report.ok and report.first_bad == 6 and report.records == 5


def test_a_well_forged_insertion_is_caught_at_the_record_after_it(db: Path) -> None:
    fill(db)
    sql(db, "UPDATE audit_records SET seq = -seq WHERE seq > 5", "UPDATE audit_records SET seq = 1 - seq WHERE seq < 0")
    prev = row(db, 5)[3]
    body = row(db, 2)[4].replace(b'"i":1', b'"i":99')
    sql(db, "INSERT INTO audit_records (seq, rid, prev, hash, body) VALUES (6, 'forged', ?, ?, ?)",
        params=(prev, chain_hash(prev, 6, body), body))
    report = verify_file(str(db))
    assert not report.ok and report.first_bad == 7


def test_reordered_records_are_named(db: Path) -> None:
    fill(db)
    sql(db, "UPDATE audit_records SET seq = 100 WHERE seq = 3", "UPDATE audit_records SET seq = 3 WHERE seq = 8",
        "UPDATE audit_records SET seq = 8 WHERE seq = 100")
    report = verify_file(str(db))
    assert not report.ok and report.first_bad == 3


def test_swapped_bodies_are_named(db: Path) -> None:
    fill(db)
    b3, b4 = row(db, 3)[4], row(db, 4)[4]
    sql(db, "UPDATE audit_records SET body = ? WHERE seq = 3", params=(b4,))
    sql(db, "UPDATE audit_records SET body = ? WHERE seq = 4", params=(b3,))
    report = verify_file(str(db))
    assert not report.ok and report.first_bad == 3


def test_a_cut_tail_is_invisible_to_the_chain_but_caught_with_the_expected_head(db: Path) -> None:
    fill(db)
    with make_gov(db) as gov:
        head = gov.audit.head()
        assert gov.audit.verify(expect_head=head).ok
    assert head.seq == 10 and len(head.hash) == 64
    sql(db, "DELETE FROM audit_records WHERE seq > 7")
    assert verify_file(str(db)).ok  # what a chain alone cannot see
    for expected in (head, str(head), (head.seq, head.hash)):
        report = verify_file(str(db), expect_head=expected)
        assert not report.ok and report.first_bad == 8 and "cut off" in report.problem


def test_a_rewritten_trail_with_recomputed_hashes_is_caught_with_the_expected_head(db: Path) -> None:
    fill(db, 5)
    head = verify_file(str(db)).head
    con = sqlite3.connect(db)
    prev = row(db, 2)[3]
    for seq in range(3, 6):
        body = row(db, seq)[4].replace(b'"verdict":"allow"', b'"verdict":"deny"')
        h = chain_hash(prev, seq, body)
        con.execute("UPDATE audit_records SET body = ?, prev = ?, hash = ? WHERE seq = ?", (body, prev, h, seq))
        prev = h
    con.commit()
    con.close()
    assert verify_file(str(db)).ok
    report = verify_file(str(db), expect_head=head)
    assert not report.ok and report.first_bad == 5


def test_the_trail_keeps_growing_past_an_expected_head(db: Path) -> None:
    fill(db, 3)
    head = verify_file(str(db)).head
    fill(db, 3)
    assert verify_file(str(db), expect_head=head).ok


def test_verify_of_a_missing_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        verify_file(str(tmp_path / "missing.db"))
    assert not (tmp_path / "missing.db").exists()


def test_a_malformed_expected_head_is_a_clear_error(db: Path) -> None:
    fill(db, 1)
    with pytest.raises(ValueError, match="seq"):
        verify_file(str(db), expect_head="12:abc")
    assert Head(3, "a" * 64) == lictor.audit.parse_head("3:" + "A" * 64)._replace(hash="a" * 64)
