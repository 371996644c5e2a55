"""Re-checking the chain: what a tamper check can prove, and what it needs help with.

Walking the records in order and recomputing each hash detects any edit, deletion, insertion or
reordering *inside* the trail and names the first record where the chain breaks. Two things a
chain alone cannot see: records cut off the end (the shorter trail is still a valid chain), and
a trail rewritten from some point on with every later hash recomputed (there is no secret in a
SHA-256 chain). Both are caught by comparing with a head - ``(seq, hash)`` of the last record -
that was written down somewhere the attacker cannot reach (a log line, a ticket, another
system): pass it as ``expect_head``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Optional, Union

from .record import GENESIS, chain_hash
from .store import Store

__all__ = ["Head", "VerifyReport", "verify_store", "parse_head"]


class Head(NamedTuple):
    """The last record of a trail: its sequence number and hash (``seq 0`` = empty trail).

    ``str(head)`` is ``"<seq>:<hash>"``, the form the CLI prints and accepts.
    """

    seq: int
    hash: str

    def __str__(self) -> str:
        return f"{self.seq}:{self.hash}"


HeadLike = Union[Head, tuple, str]


def parse_head(value: HeadLike) -> Head:
    """A :class:`Head` from a Head, a ``(seq, hash)`` tuple or a ``"seq:hash"`` string."""
    if isinstance(value, Head):
        return value
    if isinstance(value, str):
        seq, sep, h = value.strip().partition(":")
        if not sep or not seq.strip().isdigit() or len(h.strip()) != 64:
            raise ValueError(f"expected head as '<seq>:<64 hex chars>', got {value!r}")
        return Head(int(seq), h.strip().lower())
    seq, h = value
    return Head(int(seq), str(h))


@dataclass(frozen=True)
class VerifyReport:
    """The result of a tamper check.

    ``ok`` is True when every record chains to the one before it (and matches ``expect_head``
    when one was given). ``first_bad`` is the sequence number of the first record that fails
    (for a truncated tail: the first missing one); ``problem`` says what is wrong, for people.
    """

    ok: bool
    records: int
    first_bad: Optional[int] = None
    problem: str = ""
    head: Head = Head(0, GENESIS)

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        if self.ok:
            return f"OK: {self.records} records, chain intact, head {self.head}"
        return f"TAMPERED: {self.problem} (first bad record: {self.first_bad}; {self.records} records read)"


def verify_store(store: Store, expect_head: Optional[HeadLike] = None) -> VerifyReport:
    """Walk every record of ``store`` in order and recompute the chain."""
    expected = parse_head(expect_head) if expect_head is not None else None
    prev = GENESIS
    n = 0
    last = Head(0, GENESIS)
    for seq, _rid, stored_prev, stored_hash, body in store.rows():
        n += 1
        if seq != n:
            if seq > n:
                problem = f"record {n} is missing (deleted?): the next record is {seq}"
            else:  # pragma: no cover - seq is the primary key, so it only grows
                problem = f"record {seq} is out of order"
            return VerifyReport(False, n - 1, seq, problem, last)
        if stored_prev != prev:
            problem = (
                f"record {seq} does not follow record {seq - 1}: its 'prev' is not the hash of "
                f"record {seq - 1} (a record was inserted, deleted, moved, or record {seq - 1} "
                f"was rewritten with a recomputed hash)"
            )
            return VerifyReport(False, n - 1, seq, problem, last)
        h = chain_hash(prev, seq, bytes(body))
        if h != stored_hash:
            problem = f"record {seq} was altered: its content does not match its hash"
            return VerifyReport(False, n - 1, seq, problem, last)
        prev = h
        last = Head(seq, h)
    if expected is not None and expected.seq > 0:
        if expected.seq > last.seq:
            missing = expected.seq - last.seq
            problem = (
                f"the trail ends at record {last.seq} but the expected head is record "
                f"{expected.seq}: {missing} record(s) were cut off the end"
            )
            return VerifyReport(False, n, last.seq + 1, problem, last)
        at = store.hash_at(expected.seq)
        if at != expected.hash:
            problem = (
                f"record {expected.seq} does not match the expected head: the trail was "
                f"rewritten up to or past it"
            )
            return VerifyReport(False, n, expected.seq, problem, last)
    return VerifyReport(True, n, None, "", last)
