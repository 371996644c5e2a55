"""The background writer: moves acknowledged records from the hot path into SQLite in batches.

The hot path only encodes a record and hands it over (``append``): to the OS through the journal
segment (``journal`` durability), or to an in-memory queue (``batch``). A daemon thread wakes
every ``flush_interval`` and inserts whatever arrived in one transaction; ``flush()`` does the
same on demand, and ``close()`` (also run at interpreter exit) drains everything before it
stops. The SQLite connection is only ever used under ``_io_lock``.
"""

from __future__ import annotations

import atexit
import itertools
import logging
import os
import secrets
import threading
import weakref
from collections import deque
from typing import Any, Callable, Optional

from .journal import Segment, journal_dir, recover_orphans, split_lines
from .store import Store, open_store

__all__ = ["Writer", "ROTATE_BYTES"]

log = logging.getLogger("lictor.audit")

#: A segment is replaced by a fresh one once this much of it has been ingested.
ROTATE_BYTES = 8 << 20

_LIVE: "weakref.WeakSet[Writer]" = weakref.WeakSet()
# SQLite connections inherited through fork() must never be used or closed by the child;
# they are parked here for the life of the child process.
_INHERITED: list[Any] = []


class Writer:
    """Owns one audit database's store, journal segment (or queue) and background thread."""

    def __init__(self, path: str, durability: str, flush_interval: float) -> None:
        self.path = path
        self.durability = durability
        self.flush_interval = flush_interval
        self.error: Optional[BaseException] = None
        self._dir = journal_dir(path)
        self._segment: Optional[Segment] = None
        self._store: Store = open_store(path)
        try:
            self._open_sink()
            self._recover()
        except BaseException:
            self._store.close()
            if self._segment is not None:
                self._segment.remove()
            raise
        self._closed = False
        self._start_thread()
        _LIVE.add(self)

    # -- setup ---------------------------------------------------------------------------------
    def _open_sink(self) -> None:
        # Record ids must be unique across processes and restarts (a journal replay skips ids
        # already stored): a random prefix per writer (new after fork), then a counter.
        self.rid_prefix = secrets.token_hex(8) + "-"
        self.counter = itertools.count(1)
        self._io_lock = threading.Lock()
        self._seg_lock = threading.Lock()
        self._segment = None
        self._queue: deque[tuple[str, bytes]] = deque()
        if self.durability == "journal":
            self._segment = Segment(self._dir)
            self._fd = self._segment.fd
            self.append: Callable[[str, bytes], None] = self._append_journal
        else:
            self.append = self._append_queue

    def _start_thread(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lictor-audit-writer", daemon=True)
        self._thread.start()

    def _recover(self) -> None:
        own = {self._segment.path} if self._segment is not None else None
        n = recover_orphans(self._dir, self._ingest_replay, skip=own)
        if n:
            log.info("lictor audit: recovered %d journal segment(s) of dead processes into %s", n, self.path)

    def _ingest_replay(self, records: list[tuple[str, bytes]]) -> None:
        self._store.append(records, dedupe=True)

    # -- the hot path --------------------------------------------------------------------------
    def _append_queue(self, rid: str, body: bytes) -> None:
        self._queue.append((rid, body))

    def _append_journal(self, rid: str, body: bytes) -> None:
        line = b"%s\t%s\n" % (rid.encode("ascii"), body)  # = journal_line(), inlined
        with self._seg_lock:
            fd = self._fd
            n = os.write(fd, line)
            while n < len(line):  # short writes are rare (disk full raises instead)
                n += os.write(fd, line[n:])

    # -- draining ------------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.wait(self.flush_interval):
            try:
                with self._io_lock:
                    self._drain(rotate=True)
                self.error = None
            except Exception as exc:  # keep trying: the journal still holds the records
                if self.error is None:
                    log.error("lictor audit: cannot write to %s: %s (will retry)", self.path, exc)
                self.error = exc

    def _drain(self, rotate: bool) -> int:
        """Insert everything that arrived since the last drain. Caller holds ``_io_lock``."""
        seg = self._segment
        if seg is None:
            q = self._queue
            bodies = []
            pop = q.popleft
            try:
                while True:
                    bodies.append(pop())
            except IndexError:
                pass
            try:
                return self._store.append(bodies)
            except BaseException:
                q.extendleft(reversed(bodies))  # keep them for the next try, in order
                raise
        lines, offset = seg.read_new()
        stored = self._store.append(split_lines(lines))
        seg.offset = offset
        if rotate and offset >= ROTATE_BYTES:
            fresh = Segment(self._dir)
            with self._seg_lock:  # no append is in flight on the old segment after this
                self._segment = fresh
                self._fd = fresh.fd
            lines, offset = seg.read_new()
            stored += self._store.append(split_lines(lines))
            seg.offset = offset
            seg.remove()
        return stored

    def flush(self) -> None:
        """Insert every record acknowledged so far into SQLite, now."""
        with self._io_lock:
            if self._closed:
                return
            self._drain(rotate=False)

    def recover(self) -> int:
        """Replay journals of dead processes (other than ours) into the database."""
        with self._io_lock:
            if self._closed:
                return recover_orphans(self._dir, _replay_into(self.path))
            own = {self._segment.path} if self._segment is not None else None
            return recover_orphans(self._dir, self._ingest_replay, skip=own)

    def with_store(self, fn: Callable[[Store], Any]) -> Any:
        """Run ``fn`` with the store, after a flush, with the writer paused."""
        with self._io_lock:
            if not self._closed:
                self._drain(rotate=False)
                return fn(self._store)
        store = open_store(self.path, create=False)  # closed: read what was left behind
        try:
            return fn(store)
        finally:
            store.close()

    def close(self) -> None:
        """Stop the thread, drain everything, remove the (now empty) segment. Idempotent.

        When the final drain fails (database unwritable), the segment is left in place: the
        records are recovered by the next process that opens the database.
        """
        with self._io_lock:
            if self._closed:
                return
            self._closed = True
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join()
        _LIVE.discard(self)
        with self._io_lock:
            seg = self._segment
            try:
                self._drain(rotate=False)
            except BaseException:
                if seg is not None:
                    seg.abandon()
                self._store.close()
                raise
            self.append = _closed_append
            if seg is not None:
                with self._seg_lock:
                    self._fd = -1  # an append already past the check fails instead of being lost
                lines, offset = seg.read_new()  # one that slipped in before the swap
                self._store.append(split_lines(lines))
                seg.remove()
            self._store.close()

    # -- fork ----------------------------------------------------------------------------------
    def _after_fork_in_child(self) -> None:
        # The child shares the parent's segment and SQLite connection; writing through them
        # would mix its records into the parent's segment (lost if the parent removes it) and
        # corrupt SQLite's locking. Start afresh: own segment, own connection, own thread.
        # The parent's queued (batch) records are the parent's to write.
        _INHERITED.append(self._store)
        if self._segment is not None:
            self._segment.abandon()  # closes only the child's copies; the parent keeps its lock
        self.error = None
        try:
            self._store = open_store(self.path)
            self._open_sink()
        except BaseException as exc:  # every decision of the child will be denied
            self.error = exc
            self.append = _failing_append(exc)
            return
        if not self._closed:
            self._start_thread()


def _replay_into(path: str) -> Callable[[list[tuple[str, bytes]]], None]:
    def ingest(records: list[tuple[str, bytes]]) -> None:
        store = open_store(path, create=False)
        try:
            store.append(records, dedupe=True)
        finally:
            store.close()

    return ingest


def _closed_append(rid: str, body: bytes) -> None:
    raise RuntimeError("the audit trail is closed (Governor.close() was called)")


def _failing_append(exc: BaseException) -> Callable[[str, bytes], None]:
    def append(rid: str, body: bytes) -> None:
        raise RuntimeError(f"the audit trail could not be reopened after fork(): {exc}")

    return append


@atexit.register
def _close_all() -> None:
    for w in list(_LIVE):
        try:
            w.close()
        except Exception as exc:  # pragma: no cover - nothing left to tell but the log
            log.error("lictor audit: could not flush %s at exit: %s", w.path, exc)


# SQLite is not fork-safe while another thread is inside it: a child forked while the writer
# thread holds one of SQLite's internal mutexes deadlocks on its first SQLite call. So fork()
# waits until no writer is draining (holding ``_io_lock`` keeps the writer thread out of SQLite).
_HELD_FOR_FORK: list[threading.Lock] = []


def _before_fork() -> None:
    for w in list(_LIVE):
        lock = w._io_lock
        lock.acquire()
        _HELD_FOR_FORK.append(lock)


def _after_fork_in_parent() -> None:
    while _HELD_FOR_FORK:
        _HELD_FOR_FORK.pop().release()


def _after_fork() -> None:
    _HELD_FOR_FORK.clear()  # the child's writers get new locks in _after_fork_in_child
    for w in list(_LIVE):
        w._after_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_in_parent, after_in_child=_after_fork)
