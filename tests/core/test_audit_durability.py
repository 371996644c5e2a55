"""The audit trail under crashes and concurrency: nothing acknowledged is lost, nothing is stored
twice, and the chain still verifies.

Real processes, real ``kill -9``, real threads: the failure modes are in the OS and in SQLite's
locking, so nothing here is simulated.
"""

from __future__ import annotations

import asyncio
import errno
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

import lictor
import lictor.audit.journal
from lictor import Action
from lictor.audit import read_records, verify_file

CHILD = textwrap.dedent(
    """
    import os, sys, time
    import lictor
    import lictor.audit.journal
    from lictor import Action

    path, durability, interval, n, tag, end = sys.argv[1:7]
    # Small segments make a short run cross many segment boundaries.
    if os.environ.get("SEGMENT_BYTES"):
        lictor.audit.journal.SEGMENT_BYTES = int(os.environ["SEGMENT_BYTES"])
    big_every = int(os.environ.get("BIG_EVERY", "0"))  # every k-th record larger than a segment
    gov = lictor.Governor.from_dict(
        {"rules": [{"id": "no-shell", "match": {"name": "shell"}, "effect": "deny"}],
         "audit": {"sink": "sqlite", "path": path, "durability": durability,
                   "flush_interval": float(interval), "max_content": 1 << 20}},
        load_entrypoints=False,
    )
    for i in range(int(n)):
        big = big_every and i % big_every == big_every - 1
        d = gov.check(Action(kind="tool_call", agent=tag, name="shell" if i % 3 == 0 else "search",
                             args={"i": i, "tag": tag}, content="x" * 100_000 if big else None))
        assert d.decision_id
    print("done", flush=True)
    if end == "wait":
        time.sleep(120)
    elif end == "close":
        gov.close()
    # end == "exit": leave without close(); the atexit flush must do it
    """
)


def spawn(tmp_path: Path, db: Path, *, durability: str = "journal", interval: float = 0.2, n: int = 500,
          tag: str = "p", end: str = "wait", segment_bytes: int = 0, big_every: int = 0) -> subprocess.Popen:
    script = tmp_path / "child.py"
    if not script.exists():
        script.write_text(CHILD)
    env = {**os.environ, "SEGMENT_BYTES": str(segment_bytes or ""), "BIG_EVERY": str(big_every)}
    return subprocess.Popen(
        [sys.executable, str(script), str(db), durability, str(interval), str(n), tag, end],
        stdout=subprocess.PIPE, text=True, env=env,
    )


def kill_after_done(proc: subprocess.Popen) -> None:
    """SIGKILL the child the instant it says every check() returned."""
    line = proc.stdout.readline()
    assert line.strip() == "done", f"child failed before finishing: {line!r}"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL


def assert_complete(db: Path, expected: dict[str, int], unique_decision_ids: bool = True) -> list[dict]:
    """Every (tag, i) decided exactly once, unique record ids, and a chain that verifies."""
    report = verify_file(str(db))
    assert report.ok, str(report)
    recs = read_records(str(db))
    assert report.records == len(recs) == sum(expected.values())
    seen = Counter((r["action"]["args"]["tag"], r["action"]["args"]["i"]) for r in recs)
    assert seen == Counter({(tag, i): 1 for tag, n in expected.items() for i in range(n)})
    assert len({r["rid"] for r in recs}) == len(recs)
    if unique_decision_ids:
        assert len({r["decision_id"] for r in recs}) == len(recs)
    return recs


# -- kill -9 ---------------------------------------------------------------------------------


def test_every_returned_decision_survives_kill_9_before_any_flush(tmp_path: Path) -> None:
    # A 60 s interval: nothing reaches SQLite before the kill; only the journal can save them.
    db = tmp_path / "a.db"
    proc = spawn(tmp_path, db, interval=60, n=1000)
    kill_after_done(proc)
    assert list((tmp_path / "a.db.journal").glob("*.seg")), "the dead process's journal should be left"
    recs = assert_complete(db, {"p": 1000})
    assert [r["verdict"] for r in recs[:3]] == ["deny", "allow", "allow"]
    assert not list((tmp_path / "a.db.journal").glob("*.seg")), "a replayed journal is removed"


def test_kill_9_in_the_middle_of_background_writes_neither_loses_nor_duplicates(tmp_path: Path) -> None:
    # A short interval: the writer is committing batches while the process dies, so recovery
    # replays records that are partly stored already.
    db = tmp_path / "a.db"
    proc = spawn(tmp_path, db, interval=0.005, n=6000)
    kill_after_done(proc)
    assert_complete(db, {"p": 6000})


def test_a_new_governor_recovers_the_journal_of_a_killed_one(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    kill_after_done(spawn(tmp_path, db, interval=60, n=300, tag="dead"))
    with lictor.Governor.from_dict({"audit": {"path": str(db)}}, load_entrypoints=False) as gov:
        recs = gov.audit.records()
        assert len(recs) == 300
        gov.check(Action(kind="tool_call", agent="new", name="x", args={"i": 0, "tag": "new"}))
    assert_complete(db, {"dead": 300, "new": 1})


def test_a_journal_of_a_live_process_is_left_to_its_owner(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    proc = spawn(tmp_path, db, interval=60, n=200)
    try:
        assert proc.stdout.readline().strip() == "done"
        assert verify_file(str(db)).records == 0  # not ours to take: the owner is alive
        assert len(list((tmp_path / "a.db.journal").glob("*.seg"))) == 1
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert_complete(db, {"p": 200})


# -- batch mode: the documented loss boundary --------------------------------------------------


def test_batch_mode_loses_what_was_not_flushed_when_killed(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    kill_after_done(spawn(tmp_path, db, durability="batch", interval=60, n=500))
    # Up to flush_interval of decisions live only in memory: kill -9 loses them. Documented.
    assert read_records(str(db)) == []
    assert verify_file(str(db)).ok


@pytest.mark.parametrize("end", ["close", "exit"])
def test_batch_mode_loses_nothing_on_close_or_normal_exit(tmp_path: Path, end: str) -> None:
    db = tmp_path / "a.db"
    proc = spawn(tmp_path, db, durability="batch", interval=60, n=500, end=end)
    assert proc.stdout.readline().strip() == "done"
    assert proc.wait(timeout=30) == 0
    assert_complete(db, {"p": 500})


def test_batch_mode_writes_within_the_flush_interval(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    gov = lictor.Governor.from_dict(
        {"audit": {"path": str(db), "durability": "batch", "flush_interval": 0.05}}, load_entrypoints=False
    )
    try:
        for i in range(100):
            gov.check(Action(kind="tool_call", agent="a", name="x", args={"i": i, "tag": "b"}))
        deadline = time.monotonic() + 5
        while len(read_records(str(db))) < 100 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(read_records(str(db))) == 100
    finally:
        gov.close()


# -- concurrency inside one process --------------------------------------------------------------


@pytest.mark.parametrize("durability", ["journal", "batch"])
def test_threads_hammering_one_governor_lose_and_duplicate_nothing(
    tmp_path: Path, durability: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small segments so the writer rotates them many times while the threads append.
    monkeypatch.setattr(lictor.audit.journal, "SEGMENT_BYTES", 64 << 10)
    db = tmp_path / "a.db"
    threads, per = 8, 2000
    gov = lictor.Governor.from_dict(
        {"audit": {"path": str(db), "durability": durability, "flush_interval": 0.01}}, load_entrypoints=False
    )
    ids: list[list[str]] = [[] for _ in range(threads)]
    start = threading.Barrier(threads)

    def work(t: int) -> None:
        start.wait()
        for i in range(per):
            d = gov.check(Action(kind="tool_call", agent=f"t{t}", name="x", args={"i": i, "tag": f"t{t}"}))
            assert d.verdict == "allow", d.reasons
            ids[t].append(d.decision_id)

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert gov.audit.verify().ok
    gov.close()
    assert sum(map(len, ids)) == threads * per
    recs = assert_complete(db, {f"t{t}": per for t in range(threads)})
    assert {r["decision_id"] for r in recs} == {i for chunk in ids for i in chunk}
    assert not list((tmp_path / "a.db.journal").glob("*.seg"))


def test_asyncio_tasks_hammering_one_governor_lose_and_duplicate_nothing(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    tasks, per = 500, 20
    gov = lictor.Governor.from_dict({"audit": {"path": str(db), "flush_interval": 0.01}}, load_entrypoints=False)

    async def agent(t: int) -> None:
        for i in range(per):
            await gov.acheck(Action(kind="tool_call", agent=f"a{t}", name="x", args={"i": i, "tag": f"a{t}"}))
            await asyncio.sleep(0)

    async def main() -> None:
        await asyncio.gather(*(agent(t) for t in range(tasks)))

    asyncio.run(main())
    gov.close()
    assert_complete(db, {f"a{t}": per for t in range(tasks)})


def test_two_governors_in_one_process_share_one_chain(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    cfg = {"audit": {"path": str(db), "flush_interval": 0.01}}
    g1 = lictor.Governor.from_dict(cfg, load_entrypoints=False)
    g2 = lictor.Governor.from_dict(cfg, load_entrypoints=False)
    for i in range(300):
        g1.check(Action(kind="tool_call", agent="a", name="x", args={"i": i, "tag": "g1"}))
        g2.check(Action(kind="tool_call", agent="a", name="x", args={"i": i, "tag": "g2"}))
    g1.close()
    g2.close()
    assert_complete(db, {"g1": 300, "g2": 300})


# -- several processes, one database -----------------------------------------------------------


def test_several_processes_sharing_one_database_form_one_chain(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    procs = [spawn(tmp_path, db, interval=0.01, n=2000, tag=f"p{k}", end="close") for k in range(4)]
    for p in procs:
        assert p.stdout.readline().strip() == "done"
        assert p.wait(timeout=60) == 0
    assert_complete(db, {f"p{k}": 2000 for k in range(4)})


def test_processes_killed_and_alive_together_still_form_one_complete_chain(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    killed = [spawn(tmp_path, db, interval=0.01, n=1500, tag=f"k{k}") for k in range(2)]
    clean = [spawn(tmp_path, db, interval=0.01, n=1500, tag=f"c{k}", end="close") for k in range(2)]
    for p in killed:
        kill_after_done(p)
    for p in clean:
        assert p.stdout.readline().strip() == "done"
        assert p.wait(timeout=60) == 0
    assert_complete(db, {"k0": 1500, "k1": 1500, "c0": 1500, "c1": 1500})


def _forked_child(gov: lictor.Governor, tag: str, n: int) -> None:
    for i in range(n):
        gov.check(Action(kind="tool_call", agent=tag, name="x", args={"i": i, "tag": tag}))
    gov.close()


@pytest.mark.skipif(sys.platform != "linux", reason="fork start method")
@pytest.mark.parametrize("segment_bytes", [0, 16 << 10])
def test_a_governor_inherited_through_fork_writes_its_own_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, segment_bytes: int
) -> None:
    # With small segments the parent is switching segments and preparing spares around the
    # fork; the child must leave all of them (its copies of the mappings are closed) and write
    # into its own.
    if segment_bytes:
        monkeypatch.setattr(lictor.audit.journal, "SEGMENT_BYTES", segment_bytes)
    db = tmp_path / "a.db"
    gov = lictor.Governor.from_dict({"audit": {"path": str(db), "flush_interval": 0.01}}, load_entrypoints=False)
    before = 200 if segment_bytes else 1
    for i in range(before):
        gov.check(Action(kind="tool_call", agent="parent", name="x", args={"i": i, "tag": "parent"}))
    ctx = multiprocessing.get_context("fork")
    kids = [ctx.Process(target=_forked_child, args=(gov, f"f{k}", 500)) for k in range(3)]
    for k in kids:
        k.start()
    for i in range(before, 500):
        gov.check(Action(kind="tool_call", agent="parent", name="x", args={"i": i, "tag": "parent"}))
    for k in kids:
        k.join(timeout=60)
        assert k.exitcode == 0
    gov.close()
    # unique record ids and decision ids included: both are re-seeded in a forked child
    assert_complete(db, {"parent": 500, "f0": 500, "f1": 500, "f2": 500})


# -- segments being created are never taken for orphans ------------------------------------------


def test_a_segment_is_locked_before_recoverers_can_see_it(tmp_path: Path) -> None:
    from lictor.audit.journal import PENDING, SUFFIX, Segment, recover_orphans

    d = str(tmp_path / "j")
    seg = Segment(d)
    assert seg.path.endswith(SUFFIX) and not seg.path.endswith(PENDING)
    assert recover_orphans(d, lambda recs: None) == 0 and os.path.exists(seg.path)  # alive: left alone
    young = os.path.join(d, f"99999-abc{SUFFIX}{PENDING}")
    open(young, "wb").close()
    recover_orphans(d, lambda recs: None)
    assert os.path.exists(young)  # its creator may be about to lock it
    os.utime(young, (time.time() - 3600, time.time() - 3600))
    recover_orphans(d, lambda recs: None)
    assert not os.path.exists(young)  # a creator that died before the rename left nothing to keep
    seg.remove()


def test_many_processes_opening_one_trail_at_once_all_start(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    procs = [spawn(tmp_path, db, interval=0.01, n=50, tag=f"s{k}", end="close") for k in range(8)]
    for p in procs:
        assert p.stdout.readline().strip() == "done"
        assert p.wait(timeout=60) == 0
    assert_complete(db, {f"s{k}": 50 for k in range(8)})


# -- journal segments: boundaries, oversize records, padding, old files, full disks ----------------

SMALL = 16 << 10  # a segment of ~30 records: short runs cross many boundaries


def segments(db: Path) -> list[Path]:
    return sorted(Path(str(db) + ".journal").glob("*.seg"))


#: A journal line is longer than this whatever its encoding (it holds at least a record id, a
#: decision id and the 64-hex policy hash), so N records fill at least N * LINE // SMALL segments.
LINE = 100


def check(gov: lictor.Governor, tag: str, i: int, content: str | None = None) -> lictor.Decision:
    return gov.check(Action(kind="tool_call", agent=tag, name="x", args={"i": i, "tag": tag}, content=content))


@pytest.mark.parametrize("interval", [60, 0.005])
def test_records_crossing_many_segment_boundaries_are_all_stored_once_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, interval: float
) -> None:
    # 60 s: no spare is ever prepared, every boundary creates a segment on the hot path and
    # sealed segments pile up until close(). 5 ms: the writer thread prepares spares and
    # ingests sealed segments while the appends go on.
    monkeypatch.setattr(lictor.audit.journal, "SEGMENT_BYTES", SMALL)
    created = []
    real = lictor.audit.writer.Segment

    def counting(*args: object) -> lictor.audit.journal.Segment:
        seg = real(*args)  # type: ignore[arg-type]
        created.append(seg.path)
        return seg

    monkeypatch.setattr(lictor.audit.writer, "Segment", counting)
    db = tmp_path / "a.db"
    gov = lictor.Governor.from_dict({"audit": {"path": str(db), "flush_interval": interval}}, load_entrypoints=False)
    for i in range(3000):
        check(gov, "p", i)
    gov.close()
    assert len(created) > 3000 * LINE // SMALL  # many boundaries were crossed
    recs = assert_complete(db, {"p": 3000})
    assert [r["action"]["args"]["i"] for r in recs] == list(range(3000))  # in decision order
    assert segments(db) == []


def test_a_record_larger_than_a_segment_gets_a_segment_of_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lictor.audit.journal, "SEGMENT_BYTES", SMALL)
    db = tmp_path / "a.db"
    big = "é" * (3 * SMALL)  # 6 segments' worth of UTF-8 in one record
    with lictor.Governor.from_dict(
        {"audit": {"path": str(db), "flush_interval": 0.01, "max_content": 10 * SMALL}}, load_entrypoints=False
    ) as gov:
        for i in range(100):
            assert check(gov, "p", i, big if i in (5, 6, 50) else None).verdict == "allow"
    recs = assert_complete(db, {"p": 100})
    assert [r["action"]["content_len"] for r in recs if r["action"]["content"]] == [len(big)] * 3
    assert recs[50]["action"]["content"] == big


def test_kill_9_across_many_small_segments_with_oversize_records_is_recovered_in_order(tmp_path: Path) -> None:
    # Nothing is ingested before the kill (60 s): the dead process leaves sealed segments, its
    # current one and oversize ones; recovery replays them all, in the order they were decided.
    db = tmp_path / "a.db"
    kill_after_done(spawn(tmp_path, db, interval=60, n=1500, segment_bytes=SMALL, big_every=200))
    assert len(segments(db)) > 1500 * LINE // SMALL
    recs = assert_complete(db, {"p": 1500})
    assert [r["action"]["args"]["i"] for r in recs] == list(range(1500))
    assert [r["action"]["content_len"] for r in recs if r["action"]["content"]] == [100_000] * 7
    assert segments(db) == []


def test_kill_9_while_the_writer_rotates_small_segments_neither_loses_nor_duplicates(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    kill_after_done(spawn(tmp_path, db, interval=0.002, n=4000, segment_bytes=SMALL, big_every=500))
    assert_complete(db, {"p": 4000})


def _dead_segment(tmp_path: Path, db: Path, n: int) -> tuple[Path, bytes]:
    """The one segment a killed process left, and its data (what precedes the NUL padding)."""
    kill_after_done(spawn(tmp_path, db, interval=60, n=n, tag="dead"))
    (seg,) = segments(db)
    raw = seg.read_bytes()
    data = raw[: raw.index(b"\0")]
    assert raw[len(data):].strip(b"\0") == b"" and data.endswith(b"\n") and len(raw) > len(data)
    return seg, data


def test_a_torn_last_line_before_the_nul_padding_is_skipped(tmp_path: Path) -> None:
    # What kill -9 in the middle of a copy leaves: the start of a record, then zeros.
    db = tmp_path / "a.db"
    seg, data = _dead_segment(tmp_path, db, 50)
    last = data[:-1].rsplit(b"\n", 1)[1]
    with open(seg, "r+b") as f:
        f.seek(len(data))
        f.write(last[: len(last) // 2])
    assert_complete(db, {"dead": 50})
    assert segments(db) == []


def test_a_journal_file_of_an_older_version_is_recovered(tmp_path: Path) -> None:
    # Older versions appended with os.write: no padding, and possibly a torn last line.
    db = tmp_path / "a.db"
    seg, data = _dead_segment(tmp_path, db, 80)
    seg.unlink()
    old = seg.with_name("4242-0123456789ab.seg")
    old.write_bytes(data + data[:40])
    assert_complete(db, {"dead": 80})
    assert segments(db) == []


def _no_space(fd: int, offset: int, length: int) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_a_full_disk_when_the_governor_is_built_refuses_to_build_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "posix_fallocate", _no_space, raising=False)
    db = tmp_path / "a.db"
    with pytest.raises(lictor.PolicyError) as err:
        lictor.Governor.from_dict({"audit": {"path": str(db)}}, load_entrypoints=False)
    assert "cannot write the audit trail" in str(err.value) and "No space left" in str(err.value)
    assert list((tmp_path / "a.db.journal").iterdir()) == []  # no half-made segment left behind


def test_a_full_disk_at_a_segment_boundary_denies_the_decision_and_loses_nothing_acknowledged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lictor.audit.journal, "SEGMENT_BYTES", SMALL)
    db = tmp_path / "a.db"
    gov = lictor.Governor.from_dict({"audit": {"path": str(db), "flush_interval": 60}}, load_entrypoints=False)
    try:
        allowed = [check(gov, "p", i) for i in range(10)]
        assert all(d.verdict == "allow" for d in allowed)
        monkeypatch.setattr(os, "posix_fallocate", _no_space, raising=False)
        denied = []
        for i in range(10, 200):  # the current segment fills up; no next one can be made
            d = check(gov, "p", i)
            (allowed if d.verdict == "allow" else denied).append(d)
        assert denied and allowed[-1].decision_id != denied[0].decision_id
        assert all(d.blocked and any("No space left" in r for r in d.reasons) for d in denied)
        assert len(allowed) + len(denied) == 200
        monkeypatch.undo()  # the disk has room again: decisions are recorded again
        monkeypatch.setattr(lictor.audit.journal, "SEGMENT_BYTES", SMALL)
        after = [check(gov, "q", i) for i in range(100)]
        assert all(d.verdict == "allow" for d in after)
    finally:
        gov.close()
    recs = read_records(str(db))
    assert verify_file(str(db)).ok
    # Exactly the acknowledged (allowed) decisions are in the trail; the denied ones were never
    # acknowledged as recorded, and are not.
    assert [r["decision_id"] for r in recs] == [d.decision_id for d in allowed + after]
    assert segments(db) == []
