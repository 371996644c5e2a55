"""The policy every ``overhead_<framework>.py`` scenario runs governed with: 20 rules (deny,
CEL approve/deny, redact on tools and prompts, a rate limit, 14 rules on other tools) and an
SQLite audit trail, so the frameworks are compared under the same load."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path
from typing import Any

import lictor


def policy(audit_path: str) -> dict[str, Any]:
    rules: list[dict[str, Any]] = [
        {"id": "no-shell", "match": {"kind": "tool_call", "name": "shell*"}, "effect": "deny"},
        {"id": "big-refunds", "match": {"name": "issue_refund"}, "when": "args.amount > 100", "effect": "approve"},
        {"id": "mail-inside", "match": {"name": "send_email"}, "when": "!args.to.endsWith('@example.com')", "effect": "deny"},
        {"id": "cards", "match": {"name": "send_email"}, "effect": "redact", "redact": {"patterns": ["\\d{16}"]}},
        {"id": "secrets", "match": {"kind": "model_call"}, "effect": "redact", "redact": {"patterns": ["sk-[A-Za-z0-9]{8,}"]}},
        {"id": "refund-rate", "match": {"name": "issue_refund"}, "limit": {"count": 1000000, "per": "60s", "key": "agent"}},
    ]
    rules += [{"id": f"other-{i}", "match": {"kind": "tool_call", "name": f"tool_{i}"}, "effect": "deny"} for i in range(14)]
    return {"version": 1, "rules": rules, "audit": {"sink": "sqlite", "path": audit_path}}


def governor() -> lictor.Governor:
    """A Governor on :func:`policy` with its audit trail in a temporary folder removed at exit."""
    tmp = tempfile.mkdtemp(prefix="lictor-bench-")
    gov = lictor.Governor.from_dict(policy(str(Path(tmp) / "audit.db")), load_entrypoints=False)

    def _cleanup() -> None:
        gov.close()
        shutil.rmtree(tmp, ignore_errors=True)

    atexit.register(_cleanup)
    return gov
