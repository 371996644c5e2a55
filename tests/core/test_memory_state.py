"""The in-process state backend: exact sliding windows, and memory that stays bounded."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from lictor.state import MemoryState


class Reference:
    """The obvious sliding-window counter: every counted time per key, filtered on each event."""

    def __init__(self) -> None:
        self.times: dict[str, list[float]] = {}

    def hit(self, key: str, limit: int, window: float, now: float) -> bool:
        recent = [t for t in self.times.get(key, []) if t > now - window]
        if len(recent) >= limit:
            self.times[key] = recent
            return False
        self.times[key] = recent + [now]
        return True


events = st.lists(
    st.tuples(st.sampled_from(["a", "b", "c", "d"]), st.floats(min_value=0.0, max_value=5.0)),
    min_size=1, max_size=200,
)


@settings(max_examples=300, deadline=None)
@given(events=events, limit=st.integers(min_value=1, max_value=4), window=st.sampled_from([0.5, 1.0, 3.0, 10.0]))
def test_hit_agrees_with_the_reference_counter(events, limit, window):
    state, ref = MemoryState(), Reference()
    now = 0.0
    for key, step in events:
        now += step
        assert state.hit(key, limit, window, now) == ref.hit(key, limit, window, now), (key, now)


def test_a_refused_event_is_not_counted():
    s = MemoryState()
    assert s.hit("k", 2, 10.0, 0.0) and s.hit("k", 2, 10.0, 1.0)
    assert not s.hit("k", 2, 10.0, 5.0)  # refused: the window still holds 0.0 and 1.0
    assert s.hit("k", 2, 10.0, 10.5)  # 0.0 has left; the refusal at 5.0 did not extend the wait


def test_unique_keys_do_not_pile_up():
    """Loop detection makes a key per distinct call; keys whose window has passed are retired as
    new ones arrive, without a periodic scan of every key."""
    s = MemoryState()
    for i in range(50_000):
        if i % 100 == 0:  # a long-lived key, first seen before all others, stays in use
            s.hit("busy", 10**9, 3600.0, i * 0.01)
        assert s.hit(f"loops:{i}", 3, 1.0, i * 0.01)  # 100 new keys per second, 1 s window
    assert len(s._windows) <= 110


def test_a_busy_key_is_never_retired_early():
    """Thousands of one-off keys come and go around a long-window key; its count stays exact."""
    s, ref = MemoryState(), Reference()
    refused = 0
    for i in range(10_000):
        now = i * 0.01
        s.hit(f"once:{i}", 5, 1.0, now)
        if i % 10 == 0:  # every 0.1 s, at most 200 per 60 s
            got = s.hit("busy", 200, 60.0, now)
            assert got == ref.hit("busy", 200, 60.0, now), now
            refused += not got
    assert refused > 300  # the limit did bite, for most of the 20 s - 60 s stretch


def test_many_busy_keys_do_not_hold_retired_ones_back():
    """Keys in use are sent to the back of the queue when they reach its front, so a crowd of
    them never blocks the retirement of the one-off keys queued behind them."""
    s = MemoryState()
    busy = [f"busy:{i}" for i in range(200)]
    for i in range(60_000):
        now = i * 0.001
        assert s.hit(f"once:{i}", 3, 1.0, now)  # 1,000 new keys per second, 1 s window
        s.hit(busy[(i * 7) % 200], 10**9, 3600.0, now)
        if i > 2_000:
            assert len(s._windows) <= 3 * (1_000 + len(busy)), i
    assert sorted(s._windows) == sorted(s._queue)  # every key queued exactly once
