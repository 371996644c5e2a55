"""The ``lictor`` command: validate and try policies, list plugins, read the audit trail, demo.

Exit codes are part of the interface so scripts and CI can use them:
``check`` exits 0 for allow, 3 redact, 4 approve, 5 deny; every command exits 2 on bad input
(an invalid policy, unreadable JSON) and 1 when an audit trail fails verification.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Optional, Sequence

from pydantic import ValidationError

from .errors import LictorError, PolicyError
from .governor import Governor
from .policy.loader import load_policy_file
from .models import Action, Decision
from .cli_protections import register_protection_commands

__all__ = ["main", "VERDICT_EXIT"]

VERDICT_EXIT = {"allow": 0, "redact": 3, "approve": 4, "deny": 5}


def _out(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def _err(text: str) -> None:
    sys.stderr.write(text + "\n")


def _load_action(raw: str) -> Action:
    """``--action`` takes JSON text, ``@file.json``, or ``-`` for standard input."""
    if raw == "-":
        text = sys.stdin.read()
    elif raw.startswith("@"):
        text = Path(raw[1:]).read_text(encoding="utf-8")
    else:
        text = raw
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LictorError(f"--action: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})") from None
    if not isinstance(data, dict):
        raise LictorError("--action: expected a JSON object like {\"kind\": \"tool_call\", \"agent\": \"a\", \"name\": \"t\"}")
    try:
        return Action.model_validate(data)
    except ValidationError as exc:
        problems = []
        for e in exc.errors(include_url=False):
            where = ".".join(str(p) for p in e["loc"]) or "(action)"
            problems.append(f"--action {where}: {e['msg']}")
        raise LictorError("\n".join(problems)) from None


def _governor(policy: str, *, record: bool = False) -> Governor:
    pol = load_policy_file(policy)
    if not record:
        # Trying a policy must not write to (or even open) the production audit trail.
        pol = pol.model_copy(update={"audit": None})
    return Governor(pol)


def _decision_json(d: Decision) -> dict[str, Any]:
    return {
        "verdict": d.verdict,
        "enforced": d.enforced,
        "blocked": d.blocked,
        "halt": d.halt,
        "reasons": list(d.reasons),
        "rule_ids": list(d.rule_ids),
        "risks": list(d.risks),
        "plugins": list(d.plugins),
        "action": d.action.model_dump(mode="json") if d.action is not None else None,
        "decision_id": d.decision_id,
        "policy_hash": d.policy_hash,
    }


def cmd_validate(args: argparse.Namespace) -> int:
    gov = Governor.from_file(args.policy)
    try:
        p = gov.policy
        kinds: dict[str, int] = {}
        for r in p.rules:
            kinds[r.phase] = kinds.get(r.phase, 0) + 1
        _out(f"{args.policy}: valid (policy {p.hash[:12]})")
        _out(f"  mode: {p.mode}" + (f", enforced for {p.rollout.enforce_percent:g}% of agents" if p.rollout else ""))
        _out(f"  rules: {len(p.rules)} ({kinds.get('action', 0)} on actions, {kinds.get('output', 0)} on outputs); default: {p.default}")
        _out(f"  plugins: {', '.join(i.name for i in gov.plugins())}")
        if p.audit is None or p.audit.sink == "none":
            _out("  warning: no audit trail (add `audit: {sink: sqlite, path: ...}`)")
        else:
            _out(f"  audit: {p.audit.sink} at {p.audit.path} (durability: {p.audit.durability})")
    finally:
        gov.close()
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    action = _load_action(args.action)
    gov = _governor(args.policy, record=args.record)
    try:
        d = gov.check(action)
        _out(json.dumps(_decision_json(d), indent=2, ensure_ascii=False))
    finally:
        gov.close()
    return VERDICT_EXIT[d.verdict]


def cmd_explain(args: argparse.Namespace) -> int:
    action = _load_action(args.action)
    gov = _governor(args.policy)
    try:
        _out(f"action: {action.kind} {action.name!r} by {action.agent!r}" + (f" in session {action.session!r}" if action.session else ""))
        rules = gov.pm.get_plugin("rules")
        if rules is not None:
            _out("rules:")
            for t in rules.explain(action, gov.ctx):
                mark = "match" if t.matched else "  -  "
                vote = f" -> {t.vote}" if t.vote else ""
                _out(f"  [{mark}] {t.rule_id}: {t.why}{vote}")
        _out("plugins (in call order):")
        for name, vote in gov.explain_votes(action):
            _out(f"  {name}: {vote}")
        d = gov.check(action)
        _out(f"decision: {d.summary()}")
    finally:
        gov.close()
    return VERDICT_EXIT[d.verdict]


def cmd_plugins(args: argparse.Namespace) -> int:
    gov = Governor.from_file(args.policy) if args.policy else Governor()
    try:
        infos = gov.plugins()
        width = max(len(i.name) for i in infos)
        swidth = max(len(i.source) for i in infos)
        for info in infos:
            hooks = ", ".join(h.replace("lictor_", "") for h in info.hooks)
            _out(f"{info.name.ljust(width)}  {info.source.ljust(swidth)}  {hooks}")
    finally:
        gov.close()
    return 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    from .audit import verify_file

    if not Path(args.db).exists():
        raise LictorError(f"{args.db}: no such audit database")
    report = verify_file(args.db, expect_head=args.expect_head)
    if report.ok:
        _out(f"{args.db}: OK, {report.records} records, chain intact")
        return 0
    _out(f"{args.db}: TAMPERED at record {report.first_bad}: {report.problem}")
    return 1


def cmd_audit_show(args: argparse.Namespace) -> int:
    from .audit import read_records

    if not Path(args.db).exists():
        raise LictorError(f"{args.db}: no such audit database")
    records = read_records(args.db, last=args.last)
    for r in records:
        if args.json:
            _out(json.dumps(r, ensure_ascii=False, sort_keys=True))
            continue
        a = r.get("action", {})
        why = "; ".join(r.get("reasons", []))
        flags = "" if r.get("enforced", True) else " (not enforced)"
        _out(f"#{r.get('seq')} {r.get('time_iso', r.get('time', ''))} {r.get('verdict')}{flags} "
             f"{a.get('kind')} {a.get('name')!r} by {a.get('agent')!r}" + (f" — {why}" if why else ""))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(audit_path=args.audit, out=_out)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lictor", description="Runtime governance for AI agents.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("validate", help="check a policy file; every problem with file:line and field")
    s.add_argument("policy")
    s.set_defaults(func=cmd_validate)

    for name, func, helptext in (
        ("check", cmd_check, "decide about one action (exit: 0 allow, 3 redact, 4 approve, 5 deny)"),
        ("explain", cmd_explain, "which rules and plugins matched an action, and why"),
    ):
        s = sub.add_parser(name, help=helptext)
        s.add_argument("policy")
        s.add_argument("--action", required=True, help="JSON object, @file.json, or - for stdin")
        if name == "check":
            s.add_argument("--record", action="store_true", help="also write the decision to the policy's audit trail")
        s.set_defaults(func=func)

    s = sub.add_parser("plugins", help="loaded plugins, where they come from, which hooks they implement")
    s.add_argument("--policy", help="load with this policy (disabled plugins are left out)")
    s.set_defaults(func=cmd_plugins)

    audit = sub.add_parser("audit", help="verify or show an audit trail")
    asub = audit.add_subparsers(dest="audit_command", required=True, metavar="SUBCOMMAND")
    s = asub.add_parser("verify", help="check the hash chain; names the first bad record (exit 1)")
    s.add_argument("db")
    s.add_argument("--expect-head", help="hash of the last record you saved earlier (detects a cut-off tail)")
    s.set_defaults(func=cmd_audit_verify)
    s = asub.add_parser("show", help="print records")
    s.add_argument("db")
    s.add_argument("--last", type=int, help="only the last N records")
    s.add_argument("--json", action="store_true", help="one JSON object per line")
    s.set_defaults(func=cmd_audit_show)

    register_protection_commands(sub)

    s = sub.add_parser("demo", help="a scripted agent run through a sample policy, with a verified audit trail")
    s.add_argument("--audit", help="where to write the demo's audit database (default: a temporary file)")
    s.set_defaults(func=cmd_demo)
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of the ``lictor`` command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except PolicyError as exc:
        _err(str(exc))
        return 2
    except LictorError as exc:
        _err(f"lictor: {exc}")
        return 2
    except OSError as exc:
        _err(f"lictor: {exc}")
        return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
