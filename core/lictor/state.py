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

    Each key keeps at most ``limit`` timestamps, and keys whose window has passed are dropped
    every so often, so memory stays bounded by the number of keys active within one window.
    """

    _SWEEP_EVERY = 10_000

    def __init__(self) -> None:
        self._windows: dict[str, deque[float]] = {}
        self._window_len: dict[str, float] = {}
        self._flags: dict[str, str] = {}
        self._sums: dict[str, tuple[deque[tuple[float, float]], list[float]]] = {}
        self._lock = threading.Lock()
        self._hits_since_sweep = 0

    def hit(self, key: str, limit: int, window: float, now: float) -> bool:
        with self._lock:
            q = self._windows.get(key)
            if q is None:
                q = self._windows[key] = deque(maxlen=limit)
                self._window_len[key] = window
            self._hits_since_sweep += 1
            if self._hits_since_sweep >= self._SWEEP_EVERY:
                self._sweep(now)
            if len(q) >= limit and q[0] > now - window:
                return False
            q.append(now)
            return True

    def spend(self, entries: Sequence[tuple[str, float, float, float]], now: float) -> Optional[tuple[int, float]]:
        with self._lock:
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
                found.append((q, total, amount))
            for q, total, amount in found:
                q.append((now, amount))
                total[0] += amount
            return None

    def _sweep(self, now: float) -> None:
        self._hits_since_sweep = 0
        stale = [k for k, q in self._windows.items() if not q or q[-1] <= now - self._window_len[k]]
        for k in stale:
            del self._windows[k]
            del self._window_len[k]
        # Sums keep their entries until their window passes; an empty one can go.
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
