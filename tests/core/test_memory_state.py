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


def kept(state: MemoryState, key: str) -> int:
    """How many times (or slots) the state holds for ``key``."""
    q = state._windows[key][2]
    return len(q.ends) + 1 if hasattr(q, "ends") else len(q)


def test_a_huge_limit_keeps_bounded_memory():
    """A budget of ten million calls a day must not keep a timestamp per call: before the fix a
    key kept up to ``2 * limit`` of them whatever the window."""
    s = MemoryState()
    for i in range(100_000):
        assert s.hit("budget", 10_000_000, 86_400.0, i * 0.5)  # 50,000 s of one call per 0.5 s
    assert kept(s, "budget") <= 1_025  # SLOTS + 1, not one per call
    assert s._windows["budget"][2].total == 100_000  # still counted, every one inside the day


def test_a_long_stream_on_a_huge_limit_forgets_what_left_the_window():
    s = MemoryState()
    for i in range(200_000):
        s.hit("rate", 1_000_000, 10.0, i * 0.001)  # 200 s of 1,000 per second, 10 s window
    assert kept(s, "rate") <= 1_025
    assert 9_990 <= s._windows["rate"][2].total <= 10_000 + 10  # about 10 s worth, give or take one slot


@settings(max_examples=50, deadline=None)
@given(steps=st.lists(st.sampled_from([0.0, 0.0001, 0.0004, 0.002, 0.05, 0.3]), min_size=1, max_size=400),
       extra=st.integers(min_value=1, max_value=30))
def test_a_huge_limit_never_lets_more_through_and_refuses_at_most_a_slot_early(steps, extra):
    """Above EXACT_UP_TO the count is per slot of window / SLOTS: no window ever holds more than
    ``limit`` counted events, and a refusal comes at most one slot's width before the exact
    sliding window would refuse."""
    limit, window = MemoryState.EXACT_UP_TO + extra, 1.0
    width = window / MemoryState.SLOTS
    s = MemoryState()
    counted: list[float] = []
    now = 0.0
    # fill the window to just under the limit quickly, then probe the edge with the steps
    for i in range(limit - 1):
        assert s.hit("k", limit, window, i * (0.5 / limit))
        counted.append(i * (0.5 / limit))
    now = counted[-1]
    for step in steps:
        now += step
        inside = sum(1 for t in counted if t > now - window)
        if s.hit("k", limit, window, now):
            assert inside < limit  # the exact window had room
            counted.append(now)
        else:
            # refused: the exact count is at the limit once a slot's width is added to the window
            assert sum(1 for t in counted if t > now - window - width) >= limit


def sum_entries(state: MemoryState, key: str) -> int:
    return len(state._sums[key][0])


def test_a_busy_spend_key_keeps_bounded_memory():
    """A spend budget kept one entry per spend for its whole window: a day of a thousand spends a
    second was 86 million entries. Past EXACT_UP_TO entries, amounts join the latest entry."""
    s = MemoryState()
    for i in range(200_000):
        assert s.spend([("spend:s1", 0.01, 1e12, 86_400.0)], i * 0.05) is None  # 10,000 s of 20 per second
    assert sum_entries(s, "spend:s1") <= MemoryState.EXACT_UP_TO + MemoryState.SLOTS + 1
    assert abs(s._sums["spend:s1"][1][0] - 2_000.0) < 1e-6  # still every cent counted


@settings(max_examples=50, deadline=None)
@given(steps=st.lists(st.sampled_from([0.0, 0.0001, 0.0004, 0.002, 0.05, 0.3]), min_size=1, max_size=300),
       amounts=st.lists(st.sampled_from([0.5, 1.0, 2.0, 7.0]), min_size=1, max_size=300))
def test_a_busy_spend_key_never_lets_more_through_and_refuses_at_most_a_slot_early(steps, amounts):
    """Merged entries leave the window with their latest spend: no window ever holds more than the
    limit, and a refusal comes at most one slot's width before the exact sum would refuse."""
    s = MemoryState()
    s.EXACT_UP_TO = 8  # merge from the ninth entry on, so short examples exercise it
    window, limit = 1.0, 40.0
    width = window / MemoryState.SLOTS
    spent: list[tuple[float, float]] = []
    now = 0.0
    for i, step in enumerate(steps):
        now += step
        amount = amounts[i % len(amounts)]
        inside = sum(a for t, a in spent if t > now - window)
        if s.spend([("k", amount, limit, window)], now) is None:
            assert inside + amount <= limit  # the exact window had room
            spent.append((now, amount))
        else:
            # refused: the exact sum is over the limit once a slot's width is added to the window
            assert sum(a for t, a in spent if t > now - window - width) + amount > limit
