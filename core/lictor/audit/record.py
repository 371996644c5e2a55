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

__all__ = ["GENESIS", "encode_decision", "expand_body", "chain_hash", "loads", "dumps"]

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


def _extra_fields(action: "Action", decision: "Decision", max_content: int) -> Optional[dict[str, Any]]:
    """The fields most decisions do not have, or None: the action's content, what a detector
    saw, a human's approval, the output, and what actually ran when the decision rewrote the
    action (redaction, or an approver's edited arguments) - so the trail shows both what the
    agent asked and what ran."""
    ad = action.__dict__
    dd = decision.__dict__
    extra: Optional[dict[str, Any]] = None
    content = ad["content"]
    if content is not None:
        extra = {}
        _text(extra, "content", content, max_content)
    evidence = dd["evidence"]
    if evidence:
        # what a detector saw (matched spans, secrets already masked by the detector)
        extra = extra if extra is not None else {}
        extra["evidence"] = evidence
    approval = dd["approval"]
    if approval is not None:
        extra = extra if extra is not None else {}
        extra["approval"] = {
            "approver": approval.approver,
            "approved": approval.approved,
            "comment": approval.comment,
            "args": approval.args,
            "at": approval.at,
        }
    final = dd["action"]
    if final is not None and final is not action:
        if final.args is not ad["args"] and final.args != ad["args"]:
            extra = extra if extra is not None else {}
            extra["redacted_args"] = final.args
        if final.content != content:
            extra = extra if extra is not None else {}
            _text(extra, "redacted_content", final.content, max_content)
    output = dd["output"]
    if output is not None:
        extra = extra if extra is not None else {}
        _text(extra, "output", output, max_content)
    return extra


#: First element of a journal line's array; bumped if the positions ever change.
_JOURNAL_FORM = 2
_JOURNAL_LEN = 20
_ACTION_EXTRA = ("content", "content_sha256", "content_len")


def encode_decision(
    rid: str, when: float, action: "Action", decision: "Decision", max_content: int
) -> bytes:
    """The journal form of one record: its fields as a JSON array, in the fixed order
    :func:`_expand` names them (``action`` is the action as submitted).

    This runs on the hot path, before ``check()`` returns, so it does only what durability
    needs: the fields, in bytes. Building the keyed, sorted record (about three times the cost)
    happens off the hot path, in :func:`expand_body`, when the background writer chains and
    stores the record. Both hold exactly the same information.
    """
    # Read from the models' __dict__: frozen pydantic models keep every field there, and this
    # runs once per decision.
    ad = action.__dict__
    dd = decision.__dict__
    extra = None
    final = dd["action"]
    if (ad["content"] is not None or dd["evidence"] or dd["approval"] is not None or dd["output"] is not None
            or (final is not None and final is not action)):
        extra = _extra_fields(action, decision, max_content)
    fields = (_JOURNAL_FORM, rid, when, ad["kind"], ad["agent"], ad["name"], ad["session"], ad["call_id"], ad["args"],
              dd["phase"], dd["verdict"], dd["reasons"], dd["rule_ids"], dd["risks"], dd["enforced"], dd["halt"],
              dd["plugins"], dd["decision_id"], dd["policy_hash"], extra)
    try:
        return _dumps(fields, default=_fallback)
    except TypeError:  # a nested dict with non-str keys (args' own keys are validated as str)
        return _dumps(fields, default=_fallback, option=orjson.OPT_NON_STR_KEYS)


def _expand(v: Any) -> dict[str, Any]:
    if not isinstance(v, (list, tuple)) or len(v) != _JOURNAL_LEN or v[0] != _JOURNAL_FORM:
        raise ValueError("not a journal record")
    act = {"kind": v[3], "agent": v[4], "name": v[5], "session": v[6], "call_id": v[7], "args": v[8], "content": None}
    record: dict[str, Any] = {
        "rid": v[1], "time": v[2], "action": act, "phase": v[9], "verdict": v[10], "reasons": v[11],
        "rule_ids": v[12], "risks": v[13], "enforced": v[14], "halt": v[15], "plugins": v[16],
        "decision_id": v[17], "policy_hash": v[18], "approval": None,
    }
    extra = v[19]
    if extra:
        for k, x in extra.items():
            if k in _ACTION_EXTRA:
                act[k] = x
            else:
                record[k] = x
    return record


def expand_body(body: bytes) -> bytes:
    """The stored (canonical, hashed) bytes of a record from its journal line's bytes.

    Journal lines written by this version are positional arrays (see :func:`encode_decision`);
    lines of older versions are already records and are kept byte for byte. Raises
    ``ValueError`` for bytes that are neither (a torn line).
    """
    if body[:1] == b"{":
        return body
    try:
        record = _expand(orjson.loads(body))
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"unreadable journal record: {exc}") from None
    # Parsed JSON has only str keys and JSON types, so the plain sorted encoding gives the bytes
    # :func:`dumps` would, without its slower options: the writer thread does this for every
    # record while holding the GIL that ``check()`` needs.
    return _dumps(record, option=_FAST)


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
