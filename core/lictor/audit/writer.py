"""The background writer: moves acknowledged records from the hot path into SQLite in batches.

The hot path only encodes a record and hands it over (``append``): to the page cache by copying
it into the mapped journal segment (``journal`` durability), or to an in-memory buffer of
journal lines (``batch``). A daemon thread wakes every ``flush_interval`` and inserts whatever arrived in one
transaction; ``flush()`` does the same on demand, and ``close()`` (also run at interpreter exit)
drains everything before it stops. The SQLite connection is only ever used under ``_io_lock``.

Segments (journal mode): ``_segment`` is the one being appended to; when a record does not fit,
the appender seals it (``_sealed``) and continues in ``_spare``, a segment the writer thread
created (and pre-faulted) once the current one was a quarter full, and keeps ready once the
appender has filled one (taking it wakes the thread) - or, failing that, in one it creates
itself (a failure there fails the decision: nothing is acknowledged that is not in a
segment). The writer thread ingests sealed segments, then removes them. ``_seg_lock`` guards
the write position and these three fields; the appender never takes ``_io_lock``.
"""

from __future__ import annotations

import atexit
import itertools
import logging
import os
import secrets
import threading
import time
import weakref
from typing import Any, Callable, Optional

from .journal import Segment, journal_dir, recover_orphans, split_lines
from .store import Store, open_store

__all__ = ["Writer"]

log = logging.getLogger("lictor.audit")

#: Pages are faulted in this far ahead of the appends at least (see Segment.populate), and
#: twice as far as was appended in the last flush interval when that is more.
PREFAULT_BYTES = 256 << 10

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
            for seg in self._segments():
                seg.remove()
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
        self._sealed: list[Segment] = []  # full, not yet completely ingested, oldest first
        self._spare: Optional[Segment] = None  # the next segment, prepared by the writer thread
        self._spare_error: Optional[BaseException] = None
        self._busy = False  # has filled a segment: keep a spare ready from now on
        self._ahead = PREFAULT_BYTES  # how far ahead of the appends to fault pages in
        # batch: the records not yet stored, as journal lines in one buffer. A queue of
        # (rid, body) pairs kept some 10,000 small objects alive between flushes, so every
        # record was encoded into fresh memory the caches had not seen; copied into the buffer,
        # each record's bytes are freed at once and the next one reuses that memory.
        self._pending = bytearray()
        if self.durability == "journal":
            self._segment = Segment(self._dir)
            self._put: Callable[[bytes], Any] = self._segment.map.write
            self.append: Callable[[str, bytes], None] = self._append_journal
        else:
            self.append = self._append_buffer

    def _segments(self) -> list[Segment]:
        """Every segment this writer owns (sealed, current, spare)."""
        segs = list(self._sealed)
        if self._segment is not None:
            segs.append(self._segment)
        if self._spare is not None:
            segs.append(self._spare)
        return segs

    def _start_thread(self) -> None:
        self._stop = threading.Event()
        self._wake = threading.Event()  # set by _stop, and by the appender when it took the spare
        self._thread = threading.Thread(target=self._run, name="lictor-audit-writer", daemon=True)
        self._thread.start()

    def _recover(self) -> None:
        own = {s.path for s in self._segments()}
        n = recover_orphans(self._dir, self._ingest_replay, skip=own)
        if n:
            log.info("lictor audit: recovered %d journal segment(s) of dead processes into %s", n, self.path)

    def _ingest_replay(self, records: list[tuple[str, bytes]]) -> None:
        self._store.append(records, dedupe=True)

    # -- the hot path --------------------------------------------------------------------------
    def _append_buffer(self, rid: str, body: bytes) -> None:
        # = journal_line(), inlined; the body is JSON (no raw newline or tab)
        line = b"%s\t%s\n" % (rid.encode("ascii"), body)
        lock = self._seg_lock
        lock.acquire()  # the drain swaps the buffer: an append must land wholly before or after
        try:
            self._pending += line
        finally:
            lock.release()

    def _append_journal(self, rid: str, body: bytes) -> None:
        line = b"%s\t%s\n" % (rid.encode("ascii"), body)  # = journal_line(), inlined
        if 0 in line:  # a NUL would read as the end of the segment (JSON never has one)
            raise ValueError("an audit record must not contain a NUL byte")
        lock = self._seg_lock
        lock.acquire()  # not `with`: this runs once per decision, and acquire/release costs half
        try:
            self._put(line)  # mmap.write: a memcpy into the page cache, no system call
        except ValueError:  # "data out of range": the segment is full
            self._append_in_next_segment(line)
        finally:
            lock.release()

    def _append_in_next_segment(self, line: bytes) -> None:
        """Seal the full segment and append ``line`` to the next one. Caller holds ``_seg_lock``."""
        current = self._segment
        if current is None or current.map.closed:
            raise RuntimeError("the audit trail is closed (Governor.close() was called)")
        seg = self._spare
        if seg is not None and seg.size >= len(line):
            self._spare = None
        else:  # not prepared in time, or a record larger than a segment: create one now
            seg = Segment(self._dir, len(line))  # may raise (disk full): the decision is denied
        seg.map.write(line)
        self._sealed.append(current)
        self._segment = seg
        self._put = seg.map.write
        if not self._busy or self._spare is None:
            self._busy = True
            self._wake.set()  # the writer thread prepares the next spare now, not at its next tick

    # -- draining ------------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            with self._io_lock:
                seg = self._segment
                if seg is not None and not self._closed:
                    seg.populate(self._ahead, unused=False)
        except Exception as exc:  # pragma: no cover - only costs the hot path page faults
            log.warning("lictor audit: could not pre-fault the journal segment: %s", exc)
        due = time.monotonic() + self.flush_interval
        while True:
            self._wake.wait(max(0.0, due - time.monotonic()))
            self._wake.clear()
            if self._stop.is_set():
                break
            if time.monotonic() < due:  # woken early: the appender took the spare
                try:
                    with self._io_lock:
                        self._prepare_spare_if_due()
                except Exception as exc:  # pragma: no cover - the appender creates its own
                    log.warning("lictor audit: could not prepare a journal segment: %s", exc)
                continue
            due = time.monotonic() + self.flush_interval
            try:
                with self._io_lock:
                    self._drain(rotate=True)
                self.error = None
            except Exception as exc:  # keep trying: the journal still holds the records
                if self.error is None:
                    log.error("lictor audit: cannot write to %s: %s (will retry)", self.path, exc)
                self.error = exc

    def _drain(self, rotate: bool) -> int:
        """Insert everything that arrived since the last drain. Caller holds ``_io_lock``.

        ``rotate``: also prepare the next segment, if there is none, once the current one is a
        quarter full or this writer has filled a segment before (it will fill the next one too).
        """
        if self._segment is None:
            with self._seg_lock:
                data, self._pending = self._pending, bytearray()
            try:
                return self._store.append(split_lines(bytes(data).split(b"\n")[:-1]))
            except BaseException:
                with self._seg_lock:  # keep them for the next try, in order
                    self._pending[:0] = data
                raise
        if rotate:  # first: the appender may be about to need it
            self._prepare_spare_if_due()
        with self._seg_lock:  # a consistent view: whole lines up to ``end``, no swap midway
            sealed = list(self._sealed)
            seg: Segment = self._segment
            end = seg.map.tell() if not seg.map.closed else seg.offset
        lines: list[bytes] = []
        offsets = []
        for s in sealed:  # sealed segments are never written again: read them to their end
            new, off = s.read_new(s.map.tell())
            lines += new
            offsets.append(off)
        new, offset = seg.read_new(end)
        lines += new
        if rotate:  # fault pages in ahead of the appends, as far as they go in two intervals
            self._ahead = max(PREFAULT_BYTES, 2 * (sum(map(len, lines)) + len(lines)))
            seg.populate(end + self._ahead, unused=False)
        stored = self._store.append(split_lines(lines))
        for s, off in zip(sealed, offsets):
            s.offset = off
        seg.offset = offset
        if sealed:
            with self._seg_lock:
                del self._sealed[: len(sealed)]
            for s in sealed:
                s.remove()
        return stored

    def _prepare_spare_if_due(self) -> None:
        """Prepare the next segment if there is none and this writer will likely need one.
        Caller holds ``_io_lock``."""
        if self._spare is not None or self._segment is None:
            return
        with self._seg_lock:
            cur = self._segment
            due = self._busy or (not cur.map.closed and cur.map.tell() > cur.size // 4)
        if due:
            self._prepare_spare()

    def _prepare_spare(self) -> None:
        """Create the next segment now, so the appender does not have to when this one is full."""
        try:
            fresh = Segment(self._dir)
        except OSError as exc:  # the appender will try again itself, and fail the decision
            if self._spare_error is None:
                log.error("lictor audit: cannot create a journal segment in %s: %s", self._dir, exc)
            self._spare_error = exc
            return
        self._spare_error = None
        fresh.populate(self._ahead, unused=True)
        spare: Optional[Segment] = fresh
        with self._seg_lock:
            if self._spare is None and self._segment is not None and not self._segment.map.closed:
                self._spare, spare = spare, None
        if spare is not None:
            spare.remove()

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
            with self._seg_lock:
                own = {s.path for s in self._segments()}
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
        self._wake.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join()
        _LIVE.discard(self)
        with self._io_lock:
            try:
                self._drain(rotate=False)
            except BaseException:
                self._close_sink(remove=False)
                self._store.close()
                raise
            self.append = _closed_append
            if self._segment is not None:
                with self._seg_lock:
                    # An append already past the swap of ``append`` now fails (is denied)
                    # instead of writing into a segment about to be removed.
                    self._put = _closed_put
                try:
                    self._drain(rotate=False)  # one that slipped in before the swap
                except BaseException:
                    self._close_sink(remove=False)
                    self._store.close()
                    raise
                self._close_sink(remove=True)
            self._store.close()

    def _close_sink(self, remove: bool) -> None:
        """Stop appends, then unmap and close every segment; ``remove`` deletes them (all
        ingested) instead of leaving them for recovery."""
        with self._seg_lock:
            self._put = _closed_put
            segs = self._segments()
            self._sealed, self._spare = [], None
        for seg in segs:
            seg.remove() if remove else seg.abandon()

    # -- fork ----------------------------------------------------------------------------------
    def _after_fork_in_child(self) -> None:
        # The child shares the parent's segment and SQLite connection; writing through them
        # would mix its records into the parent's segment (lost if the parent removes it) and
        # corrupt SQLite's locking. Start afresh: own segment, own connection, own thread.
        # The parent's queued (batch) records are the parent's to write.
        _INHERITED.append(self._store)
        for seg in self._segments():
            # Unmaps and closes only the child's copies: the parent keeps its mapping and lock,
            # and the child can no longer write into the parent's segments.
            seg.abandon()
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


def _closed_put(line: bytes) -> None:
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
