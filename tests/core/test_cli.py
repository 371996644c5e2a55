"""The `lictor` command, run as a real subprocess."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

POLICY = """
version: 1
rules:
  - id: no-shell
    match: {kind: tool_call, name: "shell*"}
    effect: deny
    risks: [ASI05]
  - id: big-refund
    match: {name: issue_refund}
    when: "args.amount > 100"
    effect: approve
  - id: mask
    match: {name: send_email}
    effect: redact
    redact: {args: [card]}
audit: {sink: sqlite, path: AUDIT}
"""


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lictor", *args], capture_output=True, text=True, input=stdin, timeout=120)


@pytest.fixture
def policy(tmp_path: Path) -> Path:
    p = tmp_path / "policy.yaml"
    p.write_text(POLICY.replace("AUDIT", str(tmp_path / "audit.db")), encoding="utf-8")
    return p


def test_validate_ok_and_bad(policy: Path, tmp_path: Path) -> None:
    r = run("validate", str(policy))
    assert r.returncode == 0 and "valid" in r.stdout and "rules: 3" in r.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  - id: x\n    effect: dny\n", encoding="utf-8")
    r = run("validate", str(bad))
    assert r.returncode == 2
    assert f"{bad}:3 rules[0].effect: 'dny' is not one of allow, deny, approve, redact" in r.stderr


@pytest.mark.parametrize("action, verdict, code", [
    ({"kind": "tool_call", "agent": "a", "name": "lookup"}, "allow", 0),
    ({"kind": "tool_call", "agent": "a", "name": "send_email", "args": {"card": "4111"}}, "redact", 3),
    ({"kind": "tool_call", "agent": "a", "name": "issue_refund", "args": {"amount": 500}}, "approve", 4),
    ({"kind": "tool_call", "agent": "a", "name": "shell_exec"}, "deny", 5),
])
def test_check_prints_decision_and_exit_code_says_verdict(policy: Path, action: dict, verdict: str, code: int) -> None:
    r = run("check", str(policy), "--action", json.dumps(action))
    assert r.returncode == code, r.stderr
    out = json.loads(r.stdout)
    assert out["verdict"] == verdict
    if verdict == "redact":
        assert out["action"]["args"] == {"card": "[REDACTED]"}
    assert not (policy.parent / "audit.db").exists()  # trying a policy writes no audit record


def test_check_reads_action_from_file_and_stdin_and_rejects_bad_json(policy: Path, tmp_path: Path) -> None:
    f = tmp_path / "a.json"
    f.write_text(json.dumps({"kind": "tool_call", "agent": "a", "name": "shell"}), encoding="utf-8")
    assert run("check", str(policy), "--action", f"@{f}").returncode == 5
    assert run("check", str(policy), "--action", "-", stdin=f.read_text()).returncode == 5
    r = run("check", str(policy), "--action", "{nope")
    assert r.returncode == 2 and "not valid JSON" in r.stderr
    r = run("check", str(policy), "--action", json.dumps({"kind": "teleport", "agent": "a"}))
    assert r.returncode == 2 and "--action kind" in r.stderr


def test_explain_shows_rules_and_plugins(policy: Path) -> None:
    r = run("explain", str(policy), "--action", json.dumps({"kind": "tool_call", "agent": "a", "name": "issue_refund", "args": {"amount": 5}}))
    assert r.returncode == 0, r.stderr
    assert "[  -  ] no-shell: name 'issue_refund' does not match ['shell*']" in r.stdout
    assert "[  -  ] big-refund: condition is false: args.amount > 100" in r.stdout
    assert "rules: no opinion" in r.stdout and "decision: allow" in r.stdout


def test_plugins_lists_builtins_with_source() -> None:
    r = run("plugins")
    assert r.returncode == 0
    lines = {line.split()[0]: line for line in r.stdout.splitlines()}
    assert "built-in" in lines["rules"] and "check_action" in lines["rules"]
    assert "kill_switch" in lines


def test_audit_verify_and_show_detect_tampering(policy: Path, tmp_path: Path) -> None:
    code = textwrap.dedent(f"""
        import lictor
        gov = lictor.Governor.from_file({str(policy)!r}, load_entrypoints=False)
        for name in ["lookup", "shell_exec", "send_email", "lookup"]:
            gov.check(lictor.Action(kind="tool_call", agent="a", name=name, args={{"card": "4111"}}))
        gov.close()
    """)
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    db = tmp_path / "audit.db"
    r = run("audit", "verify", str(db))
    assert r.returncode == 0 and "OK, 4 records" in r.stdout
    r = run("audit", "show", str(db), "--last", "2")
    assert r.returncode == 0 and len(r.stdout.strip().splitlines()) == 2 and "redact" in r.stdout
    r = run("audit", "show", str(db), "--json")
    records = [json.loads(line) for line in r.stdout.splitlines()]
    assert [rec["verdict"] for rec in records] == ["allow", "deny", "redact", "allow"]
    assert {rec["phase"] for rec in records} == {"action"}
    with sqlite3.connect(db) as con:
        seq, body = con.execute("SELECT seq, body FROM audit_records ORDER BY seq LIMIT 1 OFFSET 1").fetchone()
        edited = body.replace(b'"deny"', b'"allow"') if isinstance(body, bytes) else body.replace('"deny"', '"allow"')
        assert edited != body
        con.execute("UPDATE audit_records SET body = ? WHERE seq = ?", (edited, seq))
    r = run("audit", "verify", str(db))
    assert r.returncode == 1 and f"TAMPERED at record {seq}" in r.stdout
    assert run("audit", "verify", str(tmp_path / "missing.db")).returncode == 2


def test_demo_runs_offline_and_verifies(tmp_path: Path) -> None:
    r = run("demo", "--audit", str(tmp_path / "demo.db"))
    assert r.returncode == 0, r.stdout + r.stderr
    for word in ("ALLOW", "REDACT", "APPROVE", "DENY", "approved by alice", "refused by", "chain intact", "TAMPERED"):
        assert word in r.stdout, word
