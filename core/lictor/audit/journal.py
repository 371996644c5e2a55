"""Journal segments: how a decision becomes durable in a fraction of a microsecond.

A decision is acknowledged (``check()`` returns) only after its record was copied into the
journal segment, a file mapped ``MAP_SHARED`` into the process. A write into a shared file
mapping lands in the kernel's page cache, exactly like an ``os.write``: from then on the record
survives ``kill -9`` of the process (the kernel owns the page), although not a power cut or
kernel crash before the OS writes its page cache out - SQLite with ``synchronous=NORMAL`` makes
the same trade. Appending is a ``memcpy`` under a lock: no system call, and no release of the
GIL (an ``os.write`` releases it, which lets the background writer thread take it in the
middle of every decision). A background writer later moves the records into SQLite in batches,
which is where the real cost (a transaction) is paid, once per batch instead of once per
decision.

Segments live next to the database, in ``<db>.journal/<pid>-<random>.seg``. A segment is created
at its full size with ``posix_fallocate`` (real blocks reserved up front: a full disk is a
clean ``OSError`` when a segment is created, never a ``SIGBUS`` on a write into a hole of the
mapping). Records are lines, ``<record id> TAB <body> LF``, and contain no NUL byte (the body is
JSON, which escapes control characters), so the unwritten rest of a segment - zeros - marks the
end of its data: readers take the complete lines before the first NUL. A segment is full when
the next record does not fit; the writer then continues in a fresh segment, usually one the
background thread prepared in advance.

The writer holds an exclusive ``flock`` on its segments for as long as it lives; the kernel
drops the lock when the process dies, however it dies. So a segment whose lock can be taken
belongs to nobody alive: its records are replayed into the database (records already stored are
skipped by their id) and the segment is removed. That is the whole crash-recovery protocol. It
also reads the journal files of older versions (plain appended files, no padding), and older
versions read these segments correctly (they take complete lines, and padding holds no LF).
"""

from __future__ import annotations

import errno
import fcntl
import mmap
import os
import secrets
import sys
import time
from typing import Callable, Optional

__all__ = [
    "Segment",
    "SEGMENT_BYTES",
    "journal_dir",
    "recover_orphans",
    "read_lines",
    "journal_line",
    "split_lines",
]

SUFFIX = ".seg"
#: Suffix (after SUFFIX) of a segment being created, not yet locked and renamed into place.
PENDING = ".new"
#: Size of a journal segment (about 9,000 records of 470 bytes). A record larger than this gets
#: a segment of its own size. Read when each segment is created, so tests can lower it.
SEGMENT_BYTES = 4 << 20

_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_PAGE = mmap.ALLOCATIONGRANULARITY
#: madvise(MADV_POPULATE_WRITE) (Linux >= 5.14): fault pages in writable without changing them.
_POPULATE_WRITE = getattr(mmap, "MADV_POPULATE_WRITE", 23 if sys.platform.startswith("linux") else None)
_POPULATE_STEP = 256 << 10  # per call (~50 µs here): the GIL is held through it, so keep each one short


def journal_dir(db_path: str) -> str:
    """Where the segments of the database at ``db_path`` live."""
    return db_path + ".journal"


def journal_line(rid: str, body: bytes) -> bytes:
    """One journal line: ``<record id> TAB <body> LF``. The id up front lets the writer insert
    without parsing the JSON; the body never holds a raw tab, newline or NUL (JSON escapes
    them)."""
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
    """A journal segment owned (locked and mapped) by this process.

    ``map`` is the writable shared mapping; its file position (``map.tell()``) is where the next
    record goes, and ``map.write`` appends one (raising ``ValueError`` when it does not fit).
    Callers serialise writes and reads of the position with their own lock. ``offset`` is how far
    the background writer has ingested.
    """

    __slots__ = ("path", "fd", "map", "size", "offset", "populated")

    def __init__(self, directory: str, size: int = 0) -> None:
        size = max(size, SEGMENT_BYTES, 1)
        size = -(-size // _PAGE) * _PAGE
        os.makedirs(directory, exist_ok=True)
        name = f"{os.getpid()}-{secrets.token_hex(6)}{SUFFIX}"
        self.path = os.path.join(directory, name)
        # Created under a name recoverers ignore, locked, sized, mapped, then renamed into place:
        # another process recovering orphans must never see (and take for dead) a segment whose
        # owner has not locked it yet.
        pending = self.path + PENDING
        self.fd = os.open(pending, os.O_RDWR | os.O_CREAT | os.O_EXCL | _CLOEXEC, 0o600)
        mapped: Optional[mmap.mmap] = None
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            reserve(self.fd, size)
            mapped = mmap.mmap(self.fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
            os.rename(pending, self.path)
        except BaseException:
            if mapped is not None:
                mapped.close()
            os.close(self.fd)
            try:
                os.unlink(pending)
            except FileNotFoundError:
                pass
            raise
        self.map: mmap.mmap = mapped
        self.size = size
        self.offset = 0  # how far the background writer has ingested
        self.populated = 0  # how far pages were faulted in ahead of the appends (populate)

    def populate(self, upto: int, unused: bool) -> None:
        """Fault the pages of the mapping up to byte ``upto`` in, writable, now - off the hot
        path (pages already done are skipped).

        The first write into a page of a shared file mapping is a page fault (about 2.5 µs on
        ext4, once per 4 KB, so ~0.3 µs per record on average and a few µs on the unlucky
        ones); done here by the writer thread, appends are a plain copy. The caller keeps this
        a window ahead of the appends rather than the whole segment: a faulted page is a dirty
        page, which the kernel writes back (zeros) if the segment lives long enough. Runs in
        short steps that let other threads take the GIL in between. ``MADV_POPULATE_WRITE``
        leaves the contents alone, so it is safe while the segment is being appended to;
        without it (old kernels, other systems) the pages are touched by writing a zero into
        each, which is only done to a segment nobody writes yet (``unused``).
        """
        m = self.map
        touch = False
        upto = min(-(-upto // _POPULATE_STEP) * _POPULATE_STEP, self.size)
        for start in range(self.populated, upto, _POPULATE_STEP):
            stop = min(start + _POPULATE_STEP, self.size)
            if m.closed:
                return
            if not touch:
                try:
                    if _POPULATE_WRITE is None:
                        raise OSError(errno.EINVAL, "no MADV_POPULATE_WRITE")
                    m.madvise(_POPULATE_WRITE, start, stop - start)
                except (OSError, ValueError):
                    if not unused:
                        return  # appends will take the page faults themselves
                    touch = True
            if touch:
                for page in range(start, stop, mmap.PAGESIZE):
                    m[page] = 0
            self.populated = stop
            time.sleep(0)  # releases the GIL: an appending thread waits at most one step

    def read_new(self, end: int) -> tuple[list[bytes], int]:
        """The complete lines between ``offset`` and ``end`` (a write position read under the
        writers' lock), and the offset after them. The caller advances ``offset`` only once
        the lines are committed, so a failed insert is retried rather than lost."""
        if end <= self.offset:
            return [], self.offset
        data = self.map[self.offset : end]
        last = data.rfind(b"\n")
        if last < 0:
            return [], self.offset
        return data[: last + 1].splitlines(), self.offset + last + 1

    def remove(self) -> None:
        """Delete the (fully ingested) segment, then release the lock by closing it."""
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        self.abandon()

    def abandon(self) -> None:
        """Unmap and close without deleting (the records stay for recovery). After fork() this
        drops only the child's copies: the parent keeps its mapping and its lock."""
        try:
            self.map.close()
        except (OSError, ValueError, BufferError):
            pass
        try:
            os.close(self.fd)
        except OSError:
            pass


def reserve(fd: int, size: int) -> None:
    """Give the file ``size`` bytes of real, allocated (zeroed) blocks, so that no write into a
    mapping of it can fail later for lack of space. Raises ``OSError`` (``ENOSPC``...) now."""
    fallocate = getattr(os, "posix_fallocate", None)
    if fallocate is not None:
        try:
            fallocate(fd, 0, size)
            return
        except OSError as exc:
            if exc.errno not in (errno.EINVAL, errno.EOPNOTSUPP, errno.ENOSYS):
                raise
    # No fallocate here (macOS, some filesystems): write the zeros, which allocates them.
    zeros = bytes(min(size, 1 << 20))
    done = 0
    while done < size:
        done += os.pwrite(fd, zeros[: size - done], done)


def read_from(fd: int, offset: int) -> bytes:
    """The file's bytes from ``offset`` up to its end or its first NUL (the unwritten rest of
    a segment), whichever comes first."""
    chunks: list[bytes] = []
    while True:
        chunk = os.pread(fd, 1 << 20, offset)
        if not chunk:
            return b"".join(chunks)
        nul = chunk.find(0)
        if nul >= 0:
            chunks.append(chunk[:nul])
            return b"".join(chunks)
        chunks.append(chunk)
        offset += len(chunk)


def read_lines(data: bytes) -> list[bytes]:
    """The complete lines of a segment's bytes, up to the first NUL (the padding after the
    last record). A torn last line (a write cut by ``kill -9`` before ``check()`` could
    return) is dropped: that decision was never acknowledged."""
    nul = data.find(0)
    if nul >= 0:
        data = data[:nul]
    end = data.rfind(b"\n")
    return data[: end + 1].splitlines() if end >= 0 else []


def recover_orphans(
    directory: str,
    ingest: Callable[[list[tuple[str, bytes]]], object],
    skip: Optional[set[str]] = None,
) -> int:
    """Replay and remove every segment in ``directory`` whose owner is dead.

    ``ingest`` stores a list of ``(record id, body)`` pairs, skipping ones already stored (by
    record id), and must commit before returning: a segment is removed only after its records
    are safe. Returns the number of segments recovered. Segments whose lock is held (a live
    writer) are left alone.

    A dead process can leave several segments (full ones not yet ingested, the current one, an
    empty spare). The orphans of one process id are replayed together, in one ``ingest``, in
    record id order (``<writer prefix>-<counter>``), so a process's records enter the chain in
    the order it decided them, whichever segment they were in.
    """
    try:
        names = sorted(os.listdir(directory))
    except FileNotFoundError:
        return 0
    groups: dict[str, list[str]] = {}
    for name in names:
        if name.endswith(SUFFIX + PENDING):
            _drop_stale_pending(os.path.join(directory, name))
            continue
        if not name.endswith(SUFFIX):
            continue
        path = os.path.join(directory, name)
        if skip and path in skip:
            continue
        groups.setdefault(name.partition("-")[0], []).append(path)
    done = 0
    for paths in groups.values():
        done += _recover_group(paths, ingest)
    return done


def _recover_group(paths: list[str], ingest: Callable[[list[tuple[str, bytes]]], object]) -> int:
    fds: list[int] = []
    try:
        taken: list[str] = []
        records: list[tuple[str, bytes]] = []
        for path in paths:
            try:
                fd = os.open(path, os.O_RDONLY | _CLOEXEC)
            except FileNotFoundError:
                continue  # its owner finished and removed it meanwhile
            fds.append(fd)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    continue  # alive (a live process reusing a dead one's pid, too)
                raise
            if os.fstat(fd).st_nlink == 0:
                continue  # removed by its owner (or another recoverer) after we opened it
            records += split_lines(read_lines(read_from(fd, 0)))
            taken.append(path)
        if records:
            records.sort(key=_rid_order)
            ingest(records)
        for path in taken:
            os.unlink(path)
        return len(taken)
    finally:
        for fd in fds:
            os.close(fd)


def _rid_order(record: tuple[str, bytes]) -> tuple[str, int]:
    prefix, _, counter = record[0].rpartition("-")
    return (prefix, int(counter)) if counter.isdigit() else (record[0], 0)


def _drop_stale_pending(path: str) -> None:
    """A segment still under its pending name holds no record (nothing is written before it is
    renamed into place); one whose creator died before the rename is just removed."""
    try:
        if os.stat(path).st_mtime > time.time() - 60:
            return  # young: its creator may be between creating and locking it; leave it be
        fd = os.open(path, os.O_RDONLY | _CLOEXEC)
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
