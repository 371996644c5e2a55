"""The audit trail: one tamper-evident record per decision, durable before ``check()`` returns.

Why it is built the way it is
-----------------------------
*The hot path cannot afford a database commit.* A SQLite commit costs ~12 µs and the whole
decision budget is 20 µs. So a decision is made durable by the cheapest thing the OS offers that
survives the death of the process: one copy of the record's fields (a positional JSON array,
orjson) into a memory-mapped, preallocated journal segment (``<db>.journal/<pid>-<random>.seg``),
which puts it in the kernel's page cache with no system call. That is ``durability: journal``,
the default: every decision ``check()`` returned survives ``kill -9`` the next
instant. It does not survive a power cut or kernel crash before the OS flushes its cache (the
same promise SQLite makes with ``synchronous=NORMAL``).

*A background thread does the expensive part in batches.* Every ``flush_interval`` it reads the
new journal lines, expands each into the keyed, sorted record that is stored and hashed, and
inserts them into SQLite (WAL) in one transaction; it also prepares the next segment before the
current one fills up. ``durability: batch`` skips the journal and keeps records in memory until then: a
little faster, but ``kill -9`` (or a crash) loses the records of up to the last
``flush_interval`` (plus the time one insert takes); a normal exit, ``Governor.close()`` and
``flush()`` lose nothing. While the database refuses records in batch mode, decisions are
denied rather than piled up in memory.

*The chain is made where the order is decided.* Each record carries the SHA-256 of the one
before it, computed by whoever inserts it, inside ``BEGIN IMMEDIATE``: read the last hash, hash
the new records after it, insert, commit. SQLite's write lock puts every writer - threads,
several Governors, several processes on one file - into a single chain that never forks. A
record's ``seq`` is its position in that chain (commit order); its ``time`` is when it was
decided.

*Crash recovery is a lock test.* A live writer holds an ``flock`` on its segment; the kernel
drops it when the process dies. Whoever opens the database (a new Governor, :func:`verify_file`,
:func:`read_records`, ``lictor audit ...``) replays every segment whose lock it can take and
deletes it. Each record has a unique id, so a replay never stores a record twice.

*What verification can and cannot prove.* :func:`verify_file` (and ``gov.audit.verify()``)
recompute the chain and name the first record that breaks it: any edit, deletion, insertion or
reordering inside the trail. Records cut off the *end*, or a trail rewritten with every later
hash recomputed, still form a valid chain; to catch those, write ``head()`` (``seq:hash`` of the
last record) somewhere the database's editors cannot reach, and verify with ``expect_head``.

What a record holds: ``action`` as submitted (kind, agent, name, session, call_id, args,
content), then the decision (verdict, reasons, rule_ids, risks, enforced, halt, plugins,
approval with approver / comment / edited args, decision_id, policy_hash, and ``evidence`` when a
detector reported what it saw), ``redacted_args`` /
``redacted_content`` when what ran differs from what was asked, ``output`` for output checks,
``time`` (when decided) and ``rid`` (record id). Content and outputs are truncated to
``max_content`` characters, next to the SHA-256 and length of the full text, so a long prompt
can be proven without storing it. ``metadata`` is not recorded (free-form, often large).
"""

from __future__ import annotations

import os
import sqlite3
from typing import Any, Optional

from .journal import journal_dir, recover_orphans
from .plugin import AuditPlugin, _as_dict
from .store import open_store
from .verify import Head, HeadLike, VerifyReport, parse_head, verify_store

__all__ = [
    "AuditPlugin",
    "Head",
    "VerifyReport",
    "verify_file",
    "read_records",
    "recover",
    "parse_head",
]


def recover(path: str) -> int:
    """Replay into the database at ``path`` the journals of processes that died (``kill -9``,
    crash) before their records reached SQLite; returns how many journal segments were
    replayed. Journals of live processes are left to them."""
    path = os.path.abspath(path)
    store = open_store(path, create=False)
    try:
        return recover_orphans(journal_dir(path), lambda records: store.append(records, dedupe=True))
    finally:
        store.close()


def verify_file(path: str, expect_head: Optional[HeadLike] = None) -> VerifyReport:
    """Tamper-check the audit database at ``path`` without a Governor (``lictor audit verify``).

    Journals of dead processes are replayed first, so every decision any process acknowledged
    is covered. Raises ``FileNotFoundError`` when there is no database at ``path``.
    """
    path = os.path.abspath(path)
    recover(path)
    store = open_store(path, create=False)
    try:
        return verify_store(store, expect_head)
    finally:
        store.close()


def read_records(path: str, last: Optional[int] = None) -> list[dict[str, Any]]:
    """The records of the audit database at ``path``, oldest first (``lictor audit show``).

    ``last`` keeps only the last N. Journals of dead processes are replayed first when the
    database is writable; each record is the recorded dict plus its ``seq`` and ``hash``.
    """
    path = os.path.abspath(path)
    try:
        recover(path)
    except (PermissionError, sqlite3.OperationalError):
        pass  # a read-only copy can still be shown, just without unreplayed journals
    store = open_store(path, create=False)
    try:
        return [_as_dict(r) for r in store.last(last)]
    finally:
        store.close()
