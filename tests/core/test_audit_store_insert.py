"""The store inserts a drain's records many per statement: every record, in order, chained."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from lictor.audit import verify_file
from lictor.audit.store import open_store


def records(n: int, start: int = 0) -> list[tuple[str, bytes]]:
    return [(f"r-{i}", orjson.dumps({"rid": f"r-{i}", "n": i})) for i in range(start, start + n)]


@pytest.mark.parametrize("rows_per_insert", [1024, 199, 1])
def test_every_record_is_stored_in_order_whatever_the_chunking(tmp_path: Path, rows_per_insert: int) -> None:
    db = tmp_path / "a.db"
    store = open_store(str(db))
    store._rows_per_insert = rows_per_insert  # 199: what a SQLite limited to 999 parameters gets
    try:
        assert store.append(records(3001)) == 3001  # 2048 + 512 + ... + 1: every power of two
        assert store.append(records(5, start=3001)) == 5
        rows = list(store.rows())
    finally:
        store.close()
    assert [r[0] for r in rows] == list(range(1, 3007))
    assert [r[1] for r in rows] == [f"r-{i}" for i in range(3006)]
    assert verify_file(str(db)).ok
