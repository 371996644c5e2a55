"""One audit record: how a decision becomes canonical bytes, and how records are chained.

Kept apart from storage so that the exact bytes that are hashed are defined in one place: the
writer that chains records, the verifier that re-checks them and the CLI that shows them all
read the same encoding. The encoding is orjson with sorted keys (canonical, and about 5x faster
than the stdlib's ``json.dumps(sort_keys=True)``, which matters because it runs on the hot path).
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any, Optional

import orjson

if TYPE_CHECKING:  # pragma: no cover
    from ..models import Action, Decision

__all__ = ["GENESIS", "encode_decision", "chain_hash", "loads", "dumps"]

#: The ``prev`` of the first record: there is nothing before it.
GENESIS = "0" * 64

_FAST = orjson.OPT_SORT_KEYS
_OPTS = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS  # slower: only when a key is not a str
_sha256 = hashlib.sha256
_dumps = orjson.dumps


def _fallback(value: Any) -> Any:
    # Arguments come from agents and frameworks: an odd type must never make the audit (and so
    # the decision) fail. Sets become sorted lists, pydantic models their dict, anything else its
    # repr - recorded, if not round-trippable.
    if isinstance(value, (set, frozenset)):
        try:
            return sorted(value)
        except TypeError:
            return sorted(map(repr, value))
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", "backslashreplace")
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        try:
            return dump(mode="json")
        except Exception:  # pragma: no cover - a broken model: fall through to repr
            pass
    return repr(value)


def dumps(obj: Any) -> bytes:
    """Canonical JSON bytes (sorted keys, no whitespace) of a JSON-like object."""
    return _dumps(obj, default=_fallback, option=_OPTS)


def loads(data: bytes) -> Any:
    """Parse bytes written by :func:`dumps`."""
    return orjson.loads(data)


def _text(record: dict[str, Any], key: str, value: Any, limit: int) -> None:
    """Store a text field truncated to ``limit`` characters, with the SHA-256 of all of it.

    The hash lets an investigator prove what the full text was (from the agent's own logs)
    without the audit database growing with every long prompt.
    """
    if value is None:
        record[key] = None
        return
    if not isinstance(value, str):
        value = dumps(value).decode("utf-8")
    record[key] = value if len(value) <= limit else value[:limit]
    record[key + "_sha256"] = _sha256(value.encode("utf-8", "surrogatepass")).hexdigest()
    record[key + "_len"] = len(value)


def encode_decision(
    rid: str, when: float, action: "Action", decision: "Decision", max_content: int
) -> bytes:
    """The canonical body of one record (not yet chained: ``seq``/``prev``/``hash`` are added
    by the writer that inserts it, because only it knows which record comes before).

    ``action`` is the action as submitted; when the decision rewrote it (redaction, or an
    approver's edited arguments) the rewritten arguments / content are recorded as well, so the
    trail shows both what the agent asked and what actually ran.
    """
    act: dict[str, Any] = {
        "kind": action.kind,
        "agent": action.agent,
        "name": action.name,
        "session": action.session,
        "call_id": action.call_id,
        "args": action.args,
    }
    _text(act, "content", action.content, max_content)
    record: dict[str, Any] = {
        "rid": rid,
        "time": when,
        "action": act,
        "phase": decision.phase,
        "verdict": decision.verdict,
        "reasons": decision.reasons,
        "rule_ids": decision.rule_ids,
        "risks": decision.risks,
        "enforced": decision.enforced,
        "halt": decision.halt,
        "plugins": decision.plugins,
        "decision_id": decision.decision_id,
        "policy_hash": decision.policy_hash,
    }
    evidence = decision.evidence
    if evidence:  # what a detector saw (matched spans, secrets already masked by the detector)
        record["evidence"] = evidence
    approval = decision.approval
    if approval is not None:
        record["approval"] = {
            "approver": approval.approver,
            "approved": approval.approved,
            "comment": approval.comment,
            "args": approval.args,
            "at": approval.at,
        }
    else:
        record["approval"] = None
    final = decision.action
    if final is not None and final is not action:
        if final.args is not action.args and final.args != action.args:
            record["redacted_args"] = final.args
        if final.content != action.content:
            _text(record, "redacted_content", final.content, max_content)
    output = decision.output
    if output is not None:
        _text(record, "output", output, max_content)
    try:
        return _dumps(record, default=_fallback, option=_FAST)
    except TypeError:  # a nested dict with non-str keys (args' own keys are validated as str)
        return _dumps(record, default=_fallback, option=_OPTS)


def chain_hash(prev: str, seq: int, body: bytes) -> str:
    """The hash of a record: SHA-256 over the previous record's hash, this record's sequence
    number and its body. Chaining the previous hash makes deletion, insertion and reordering
    visible; covering ``seq`` makes the numbering itself (and so :func:`head`) tamper-evident.
    """
    h = _sha256(prev.encode("ascii"))
    h.update(b"\n%d\n" % seq)
    h.update(body)
    return h.hexdigest()


def parse_body(body: bytes) -> Optional[dict[str, Any]]:
    """The record dict of a journal line or stored body, or None when it is torn/unreadable."""
    try:
        obj = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return obj if isinstance(obj, dict) and isinstance(obj.get("rid"), str) else None
