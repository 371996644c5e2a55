"""The SQLite side of the audit trail: the one place where records are numbered and chained.

Records are chained here, at insert time, inside a ``BEGIN IMMEDIATE`` transaction (read the last
hash, hash the new records after it, insert, commit). SQLite's write lock then orders every
writer - threads, Governors and processes sharing the file - into one chain that never forks,
without any coordination between them beyond the database itself.

Each record carries a unique record id (``rid``): replaying a journal after a crash may offer a
record that is already stored, and the id lets the store skip it instead of storing it twice.
"""

from __future__ import annotations

import os
import sqlite3
import time
from typing import Any, Iterator, Optional, Sequence

from .record import GENESIS, chain_hash, expand_body, parse_body

__all__ = ["Store", "open_store", "SCHEMA_VERSION"]

SCHEMA_VERSION = "1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit_records (
    seq  INTEGER PRIMARY KEY,
    rid  TEXT    NOT NULL UNIQUE,
    prev TEXT    NOT NULL,
    hash TEXT    NOT NULL,
    body BLOB    NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT OR IGNORE INTO audit_meta (key, value) VALUES ('schema', '1');
"""

_INSERT_ROWS = "INSERT INTO audit_records (seq, rid, prev, hash, body) VALUES "
#: Rows per INSERT at most: 5,120 parameters, under SQLite's default limit of 32,766 (since
#: 3.32; a connection that reports a lower limit gets smaller chunks, see Store.__init__).
_MAX_ROWS_PER_INSERT = 1024
_INSERTS: dict[int, str] = {}  # rows per statement -> its SQL

#: How long a writer waits for another process's transaction before giving up (seconds).
BUSY_TIMEOUT = 30.0


class Store:
    """One connection to an audit database. Not thread-safe: callers serialise access."""

    def __init__(self, path: str, *, create: bool = True) -> None:
        self.path = path
        if not create and not os.path.exists(path):
            raise FileNotFoundError(f"no audit database at '{path}'")
        self._db = sqlite3.connect(
            path, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False
        )
        self._rows_per_insert = _MAX_ROWS_PER_INSERT
        getlimit = getattr(self._db, "getlimit", None)  # Python >= 3.11; older: assume 999
        limit = getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) if getlimit is not None else 999
        while self._rows_per_insert > 1 and self._rows_per_insert * 5 > limit:
            self._rows_per_insert //= 2
        try:
            self._retry(lambda: self._db.execute("PRAGMA journal_mode=WAL"))
            self._db.execute("PRAGMA synchronous=NORMAL")
            if create:
                self._retry(lambda: self._db.executescript(_SCHEMA))
            else:
                found = self._db.execute(
                    "SELECT 1 FROM sqlite_master WHERE type='table' AND name='audit_records'"
                ).fetchone()
                if found is None:
                    raise ValueError(f"'{path}' is not a Lictor audit database (no audit_records table)")
        except BaseException:
            self._db.close()
            raise

    def _retry(self, fn: Any) -> Any:
        # Changing the journal mode or creating tables can meet SQLITE_BUSY without the busy
        # handler being consulted (several processes opening a fresh file at once): retry.
        deadline = time.monotonic() + BUSY_TIMEOUT
        while True:
            try:
                return fn()
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    def close(self) -> None:
        self._db.close()

    # -- writing -------------------------------------------------------------------------------
    def append(self, records: Sequence[tuple[str, bytes]], *, dedupe: bool = False) -> int:
        """Chain and insert ``(record id, body)`` pairs in one transaction; returns how many
        were stored.

        ``dedupe=True`` (journal replay) skips records whose id is already stored, and bodies
        that do not parse (a torn write of a process killed inside ``os.write``: that decision
        was never acknowledged).
        """
        if not records:
            return 0
        # Journal lines become stored records here, before the database is locked.
        expanded: list[tuple[str, bytes]] = []
        for rid, body in records:
            try:
                expanded.append((rid, expand_body(body)))
            except ValueError:
                if not dedupe:
                    raise
                # a torn line of a killed process: that decision was never acknowledged
        records = expanded
        db = self._db
        self._retry(lambda: db.execute("BEGIN IMMEDIATE"))
        try:
            row = db.execute("SELECT seq, hash FROM audit_records ORDER BY seq DESC LIMIT 1").fetchone()
            seq, prev = (row[0], row[1]) if row is not None else (0, GENESIS)
            rows = []
            seen: set[str] = set()
            for rid, body in records:
                if dedupe:
                    rec = parse_body(body)
                    if rec is None or rec["rid"] != rid or rid in seen:
                        continue
                    if db.execute("SELECT 1 FROM audit_records WHERE rid = ?", (rid,)).fetchone() is not None:
                        continue
                    seen.add(rid)
                seq += 1
                h = chain_hash(prev, seq, body)
                rows.append((seq, rid, prev, h, body))
                prev = h
            self._insert(rows)
            db.execute("COMMIT")
        except BaseException:
            try:
                db.execute("ROLLBACK")
            except sqlite3.Error:
                pass
            raise
        return len(rows)

    def _insert(self, rows: list[tuple[int, str, str, str, bytes]]) -> None:
        """Insert ``rows`` in order, many per statement.

        The sqlite3 module lets go of the GIL for every statement step, and ``executemany``
        steps once per row: the writer thread then waits for the GIL once per record (up to the
        5 ms switch interval each time while ``check()`` keeps it busy), so a drain of 10,000
        records took over a second, and the journal pages it should have faulted in ahead of
        the appends were faulted by ``check()`` instead. Rows go in chunks whose sizes are
        powers of two (so at most a dozen distinct statements are ever compiled and cached):
        about a dozen steps per drain.
        """
        db = self._db
        i, n = 0, len(rows)
        while i < n:
            size = min(self._rows_per_insert, 1 << ((n - i).bit_length() - 1))
            sql = _INSERTS.get(size)
            if sql is None:
                sql = _INSERTS[size] = _INSERT_ROWS + ",".join(["(?,?,?,?,?)"] * size)
            db.execute(sql, [v for row in rows[i : i + size] for v in row])
            i += size

    # -- reading -------------------------------------------------------------------------------
    def rows(self, after: int = 0, batch: int = 2000) -> Iterator[tuple[int, str, str, str, bytes]]:
        """Every record ``(seq, rid, prev, hash, body)`` in sequence order, read in batches."""
        db = self._db
        last = after
        while True:
            chunk = db.execute(
                "SELECT seq, rid, prev, hash, body FROM audit_records WHERE seq > ? ORDER BY seq LIMIT ?",
                (last, batch),
            ).fetchall()
            if not chunk:
                return
            yield from chunk
            last = chunk[-1][0]

    def last(self, n: Optional[int]) -> list[tuple[int, str, str, str, bytes]]:
        """The last ``n`` records (all when ``n`` is None), oldest first."""
        if n is None:
            return list(self.rows())
        if n <= 0:
            return []
        got = self._db.execute(
            "SELECT seq, rid, prev, hash, body FROM audit_records ORDER BY seq DESC LIMIT ?", (n,)
        ).fetchall()
        got.reverse()
        return got

    def head(self) -> tuple[int, str]:
        row = self._db.execute("SELECT seq, hash FROM audit_records ORDER BY seq DESC LIMIT 1").fetchone()
        return (row[0], row[1]) if row is not None else (0, GENESIS)

    def hash_at(self, seq: int) -> Optional[str]:
        row = self._db.execute("SELECT hash FROM audit_records WHERE seq = ?", (seq,)).fetchone()
        return row[0] if row is not None else None


def open_store(path: str, *, create: bool = True) -> Store:
    """Open (and by default create) the audit database at ``path``."""
    return Store(path, create=create)
