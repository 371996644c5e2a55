"""Append-only journal segments: how a decision becomes durable in about a microsecond.

A decision is acknowledged (``check()`` returns) only after its record was handed to the OS with
one ``os.write`` on an ``O_APPEND`` file. From then on it survives ``kill -9`` of the process
(the kernel owns the bytes), although not a power cut or kernel crash before the OS writes its
page cache out - SQLite with ``synchronous=NORMAL`` makes the same trade. A background writer
later moves the records into SQLite in batches, which is where the real cost (a transaction)
is paid, once per batch instead of once per decision.

Segments live next to the database, in ``<db>.journal/<pid>-<random>.seg``, one per live writer.
The writer holds an exclusive ``flock`` on its segment for as long as it lives; the kernel drops
the lock when the process dies, however it dies. So a segment whose lock can be taken belongs to
nobody alive: its records are replayed into the database (records already stored are skipped by
their id) and the segment is removed. That is the whole crash-recovery protocol.
"""

from __future__ import annotations

import errno
import fcntl
import os
import secrets
import time
from typing import Callable, Optional

__all__ = ["Segment", "journal_dir", "recover_orphans", "read_lines", "journal_line", "split_lines"]

SUFFIX = ".seg"
#: Suffix (after SUFFIX) of a segment being created, not yet locked and renamed into place.
PENDING = ".new"


def journal_dir(db_path: str) -> str:
    """Where the segments of the database at ``db_path`` live."""
    return db_path + ".journal"


def journal_line(rid: str, body: bytes) -> bytes:
    """One journal line: ``<record id> TAB <body> LF``. The id up front lets the writer insert
    without parsing the JSON; the body never holds a raw tab or newline (JSON escapes them)."""
    return b"%s\t%s\n" % (rid.encode("ascii"), body)


def split_lines(lines: list[bytes]) -> list[tuple[str, bytes]]:
    """``(record id, body)`` pairs of journal lines (a line without a tab is skipped)."""
    out = []
    for line in lines:
        rid, tab, body = line.partition(b"\t")
        if tab:
            out.append((rid.decode("ascii", "replace"), body))
    return out


class Segment:
    """A journal segment owned (locked) by this process."""

    __slots__ = ("path", "fd", "rfd", "offset")

    def __init__(self, directory: str) -> None:
        os.makedirs(directory, exist_ok=True)
        name = f"{os.getpid()}-{secrets.token_hex(6)}{SUFFIX}"
        self.path = os.path.join(directory, name)
        # Created under a name recoverers ignore, locked, then renamed into place: another
        # process recovering orphans must never see (and take for dead) a segment whose owner
        # has not locked it yet.
        pending = self.path + PENDING
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
        self.fd = os.open(pending, flags, 0o600)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            self.rfd = os.open(pending, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
            os.rename(pending, self.path)
        except BaseException:
            os.close(self.fd)
            try:
                os.unlink(pending)
            except FileNotFoundError:
                pass
            raise
        self.offset = 0  # how far the background writer has read

    def read_new(self) -> tuple[list[bytes], int]:
        """Complete lines appended since ``offset``, and the offset after them.

        A line still being written (another thread's ``os.write`` in progress) stays for the
        next call. The caller advances ``offset`` only once the lines are committed, so a
        failed insert is retried rather than lost.
        """
        data = read_from(self.rfd, self.offset)
        end = data.rfind(b"\n")
        if end < 0:
            return [], self.offset
        return data[: end + 1].splitlines(), self.offset + end + 1

    def size(self) -> int:
        return os.fstat(self.rfd).st_size

    def remove(self) -> None:
        """Delete the (fully ingested) segment, then release the lock by closing it."""
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        os.close(self.rfd)
        os.close(self.fd)

    def abandon(self) -> None:
        """Close without deleting (the records stay for recovery)."""
        for fd in (self.rfd, self.fd):
            try:
                os.close(fd)
            except OSError:
                pass


def read_from(fd: int, offset: int) -> bytes:
    chunks: list[bytes] = []
    while True:
        chunk = os.pread(fd, 1 << 20, offset)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        offset += len(chunk)


def read_lines(data: bytes) -> list[bytes]:
    """The complete lines of a segment; a torn last line (a write cut by ``kill -9`` before
    ``check()`` could return) is dropped: that decision was never acknowledged."""
    end = data.rfind(b"\n")
    return data[: end + 1].splitlines() if end >= 0 else []


def recover_orphans(
    directory: str,
    ingest: Callable[[list[tuple[str, bytes]]], object],
    skip: Optional[set[str]] = None,
) -> int:
    """Replay and remove every segment in ``directory`` whose owner is dead.

    ``ingest`` stores a list of ``(record id, body)`` pairs, skipping ones already stored (by record id), and
    must commit before returning: a segment is removed only after its records are safe. Returns
    the number of segments recovered. Segments whose lock is held (a live writer) are left alone.
    """
    try:
        names = sorted(os.listdir(directory))
    except FileNotFoundError:
        return 0
    done = 0
    for name in names:
        if name.endswith(SUFFIX + PENDING):
            _drop_stale_pending(os.path.join(directory, name))
            continue
        if not name.endswith(SUFFIX):
            continue
        path = os.path.join(directory, name)
        if skip and path in skip:
            continue
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except FileNotFoundError:
            continue  # its owner finished and removed it meanwhile
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    continue  # alive
                raise
            if os.fstat(fd).st_nlink == 0:
                continue  # removed by its owner (or another recoverer) after we opened it
            lines = read_lines(read_from(fd, 0))
            if lines:
                ingest(split_lines(lines))
            os.unlink(path)
            done += 1
        finally:
            os.close(fd)
    return done


def _drop_stale_pending(path: str) -> None:
    """A segment still under its pending name holds no record (nothing is written before it is
    renamed into place); one whose creator died before the rename is just removed."""
    try:
        if os.stat(path).st_mtime > time.time() - 60:
            return  # young: its creator may be between creating and locking it; leave it be
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return  # its creator is alive
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    finally:
        os.close(fd)
