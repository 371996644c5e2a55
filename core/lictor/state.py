"""Counters and flags that decisions depend on (rate limits, budgets, the kill switch).

The embedded default keeps them in process memory. The interface is small on purpose so that a
shared backend (Redis, for many agent processes and machines) can stand behind it unchanged.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Optional, Protocol, Sequence, runtime_checkable

__all__ = ["StateBackend", "MemoryState"]


@runtime_checkable
class StateBackend(Protocol):
    """What the Governor and plugins need from shared state."""

    def hit(self, key: str, limit: int, window: float, now: float) -> bool:
        """Count one event under ``key`` if fewer than ``limit`` happened in the last ``window``
        seconds; return True when it was counted (under the limit), False when over it.
        Refused events are not counted, so a burst of refusals does not extend the wait."""

    def spend(self, entries: Sequence[tuple[str, float, float, float]], now: float) -> Optional[tuple[int, float]]:
        """Add amounts to sliding-window sums, all or nothing.

        Each entry is ``(key, amount, limit, window)``. When every key's sum over its last
        ``window`` seconds plus ``amount`` stays within ``limit``, all amounts are added and
        None is returned; otherwise nothing is added and ``(index, used)`` of the first entry
        that would go over is returned, ``used`` being its sum so far (budgets per session
        *and* per agent stay consistent)."""

    def set_flag(self, key: str, value: str) -> None:
        """Set a named flag (kill switch, quarantine) with a reason as its value."""

    def clear_flag(self, key: str) -> None:
        """Remove a named flag; removing an absent flag is not an error."""

    def get_flag(self, key: str) -> Optional[str]:
        """The flag's value, or None when it is not set."""

    def close(self) -> None:
        """Release connections."""


class MemoryState:
    """In-process state: exact sliding windows and flags, safe for threads.

    Keys wait in a queue in the order they were queued: each new key looks at up to two keys at
    its front, retires one whose window has passed, sends one used since it was queued to the
    back (it is not the least recently used), and stops at one still in use (the least recently
    used key: nothing behind it is older). Expiry costs O(1) per event and never pauses a check
    to scan every key, memory stays bounded by the keys active within one window, and an event
    on a known key does not touch the queue (loop detection's keys are a stream of new ones, in
    a table too large for the CPU's cache: every reordering there is a memory access). A key's
    first event is one timestamp; a list of at most ``limit`` timestamps is made only when it
    comes again (most loop and rate keys never do).

    Counting is exact for limits up to ``EXACT_UP_TO``: a key keeps at most ``2 * limit``
    timestamps. An exact sliding window needs every counted time still inside it, so a key with
    a huge limit (a budget of ten million calls a day) would keep millions of them. Above
    ``EXACT_UP_TO`` a key counts its events per slot of ``window / SLOTS`` seconds instead (at
    most ``SLOTS + 1`` slots), as if each had happened at the end of its slot: it never lets
    more than ``limit`` through in any window, and refuses at most one slot's width (1/1024 of
    the window) before the exact count would. That is the trade-off: bounded memory for limits
    no realistic rate limit reaches, against an exact answer at the very edge of such a limit.

    Sums (spend and token budgets) keep one ``(time, amount)`` entry per event in the window, so
    a busy key would keep as many as it has events a day. Once a key holds ``EXACT_UP_TO``
    entries, an amount joins the latest entry when that entry began less than one slot
    (``window / SLOTS``) ago; a joined entry leaves the window with its latest event. So a key
    holds at most ``EXACT_UP_TO`` plus about ``SLOTS`` entries per window, never lets more than
    its limit through, and refuses at most one slot's width early — the same trade-off.
    """

    _SWEEP_SUMS_EVERY = 10_000
    #: Limits up to this are counted exactly (at most ``2 * limit`` timestamps per key).
    EXACT_UP_TO = 10_000
    #: Larger limits count per slot of ``window / SLOTS``: at most ``SLOTS + 1`` slots per key.
    SLOTS = 1024

    def __init__(self) -> None:
        # key -> [window, last counted time, list of the last `limit` times (or _Slots for a
        # limit above EXACT_UP_TO, or None until the key's second event), last counted time
        # when the key was (re)queued]; every key is in _queue exactly once
        self._windows: dict[str, list] = {}
        self._queue: deque[str] = deque()
        self._flags: dict[str, str] = {}
        # key -> (entries (latest time, amount, first time) oldest first, [their sum])
        self._sums: dict[str, tuple[deque[tuple[float, float, float]], list[float]]] = {}
        self._lock = threading.Lock()
        self._spends_since_sweep = 0

    def hit(self, key: str, limit: int, window: float, now: float) -> bool:
        # Rate limits, budgets and loop detection call this two or three times per decision:
        # acquire/release costs half of what ``with self._lock`` does (no __enter__/__exit__).
        lock = self._lock
        lock.acquire()
        try:
            windows = self._windows
            e = windows.get(key)
            if e is None:
                if limit < 1:
                    return False
                windows[key] = [window, now, None, now]
                queue = self._queue
                queue.append(key)
                # _retire(), whose first look nearly always ends it, inlined: the key at the
                # front is still in its window and unused since it was queued (loop detection
                # adds a new key per decision, and a call costs as much as the look)
                f = windows[queue[0]]
                if f[1] > now - f[0] and f[1] == f[3]:
                    return True
                self._retire(windows, now)
                return True
            e[0] = window
            q = e[2]
            if q is None:
                if limit > self.EXACT_UP_TO:
                    q = e[2] = _Slots(e[1], window / self.SLOTS)
                elif limit == 1:
                    if e[1] > now - window:
                        return False
                    e[1] = now
                    return True
                else:
                    q = e[2] = [e[1]]
            if type(q) is not list:  # _Slots, a huge limit: inlined, this runs per decision
                if q.first <= now - window:
                    q.expire(now - window)
                if q.total >= limit:
                    return False
                q.total += 1
                if now >= q.last:  # past the open slot's end: the event opens the next slot
                    q.open_next(now)
                e[1] = now
                return True
            n = len(q)
            if n >= limit and q[n - limit] > now - window:  # the limit-th latest is still inside
                return False
            q.append(now)
            if n >= 2 * limit:  # trimmed in bulk: O(1) per event even for large limits
                del q[: n + 1 - limit]
            e[1] = now
            return True
        finally:
            lock.release()

    def _retire(self, windows: dict[str, list], now: float) -> None:
        queue = self._queue
        for _ in range(2):
            k = queue[0]
            e = windows[k]
            if e[1] <= now - e[0]:  # every event of it is outside its window: forget it
                queue.popleft()
                del windows[k]
            elif e[1] != e[3]:  # used since it was queued: to the back, in order of that use
                e[3] = e[1]
                queue.rotate(-1)
            else:
                return

    def spend(self, entries: Sequence[tuple[str, float, float, float]], now: float) -> Optional[tuple[int, float]]:
        with self._lock:
            self._spends_since_sweep += 1
            if self._spends_since_sweep >= self._SWEEP_SUMS_EVERY:
                self._sweep_sums(now)
            found = []
            for i, (key, amount, limit, window) in enumerate(entries):
                entry = self._sums.get(key)
                if entry is None:
                    entry = self._sums[key] = (deque(), [0.0])
                q, total = entry
                while q and q[0][0] <= now - window:
                    total[0] -= q.popleft()[1]
                if not q:
                    total[0] = 0.0  # no float drift survives an empty window
                if total[0] + amount > limit:
                    return i, total[0]
                found.append((q, total, amount, window))
            for q, total, amount, window in found:
                if len(q) >= self.EXACT_UP_TO and q[-1][2] > now - window / self.SLOTS:
                    # a busy key: the amount joins the last entry, which spans less than a slot
                    # and leaves the window with its latest event (see the class docstring)
                    q[-1] = (now, q[-1][1] + amount, q[-1][2])
                else:
                    q.append((now, amount, now))
                total[0] += amount
            return None

    def _sweep_sums(self, now: float) -> None:
        """Drop sums whose every entry has left the longest window they were used with."""
        self._spends_since_sweep = 0
        for k in [k for k, (q, _) in self._sums.items() if not q]:
            del self._sums[k]

    def set_flag(self, key: str, value: str) -> None:
        with self._lock:
            self._flags[key] = value

    def clear_flag(self, key: str) -> None:
        with self._lock:
            self._flags.pop(key, None)

    def get_flag(self, key: str) -> Optional[str]:
        return self._flags.get(key)

    def has_flags(self) -> bool:
        """Cheap test used on the hot path: is any flag set at all?"""
        return bool(self._flags)

    def close(self) -> None:
        pass


class _Slots:
    """The events of one key with a huge limit, counted per time slot (see ``MemoryState``).

    An event counts as if it happened at the end of its slot, which is never before it really
    happened, so a slot leaves the window no earlier than its last event does. The open slot
    (the latest, ending at ``last``) is only a count, ``total - closed``, so that counting an
    event in it is one addition; ``ends`` and ``counts`` queue the closed slots, oldest first,
    ``closed`` is their sum and ``first`` the end of the oldest slot (``last`` when none is
    closed). ``MemoryState.hit`` counts and compares inline; these methods do the rest.
    """

    __slots__ = ("width", "ends", "counts", "closed", "total", "first", "last")

    def __init__(self, first: float, width: float) -> None:
        self.width = width
        self.ends: deque[float] = deque()
        self.counts: deque[int] = deque()
        self.closed = 0
        self.total = 1
        self.last = self.first = self._end(first)

    def _end(self, now: float) -> float:
        end = (now // self.width + 1) * self.width
        return end if end > now else end + self.width  # float rounding: it must end after now

    def open_next(self, now: float) -> None:
        """Close the open slot and open the one of the event at ``now``, already in ``total``."""
        held = self.total - 1 - self.closed
        if held:
            self.ends.append(self.last)
            self.counts.append(held)
            self.closed += held
        self.last = self._end(now)
        self.first = self.ends[0] if self.ends else self.last

    def expire(self, cutoff: float) -> None:
        """Forget the slots that ended at or before ``cutoff`` (every event of them is out)."""
        ends, counts = self.ends, self.counts
        while ends and ends[0] <= cutoff:
            ends.popleft()
            n = counts.popleft()
            self.closed -= n
            self.total -= n
        if self.last <= cutoff:  # the open slot too: nothing is left in the window
            self.total = self.closed  # = 0, as every closed slot ended before it
        self.first = ends[0] if ends else self.last
