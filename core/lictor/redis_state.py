"""Shared state on Redis: rate limits, budgets and the kill switch across processes and machines.

Rate-limit hits are one atomic Lua call each (a sorted set per key, trimmed to the window), so
every process sees the same counts. Flags (kill switch, quarantine) are read on every check, so
each process keeps a snapshot of them and refreshes it at most every ``flag_refresh`` seconds:
an engagement reaches every other process within that time, and a check costs no round trip.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from typing import Any, Optional, Sequence

__all__ = ["RedisState"]

_HIT = """
local key = KEYS[1]
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
if redis.call('ZCARD', key) >= limit then
  return 0
end
redis.call('ZADD', key, now, ARGV[4])
redis.call('PEXPIRE', key, math.ceil(window * 1000) + 1000)
return 1
"""


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, (bytes, bytearray)) else str(value)


# Sums: one sorted set per key, members "<amount>:<unique>" scored by time. All keys are
# checked first and only then written, so a refused spend adds nothing anywhere.
_SPEND = """
local now = tonumber(ARGV[1])
local n = #KEYS
for i = 1, n do
  local window = tonumber(ARGV[2 + (i - 1) * 3 + 2])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - window)
end
for i = 1, n do
  local amount = tonumber(ARGV[2 + (i - 1) * 3])
  local limit = tonumber(ARGV[2 + (i - 1) * 3 + 1])
  local total = 0
  for _, m in ipairs(redis.call('ZRANGE', KEYS[i], 0, -1)) do
    total = total + tonumber(string.match(m, '^([^:]+):'))
  end
  if total + amount > limit then
    return {i - 1, tostring(total)}
  end
end
for i = 1, n do
  local amount = ARGV[2 + (i - 1) * 3]
  local window = tonumber(ARGV[2 + (i - 1) * 3 + 2])
  redis.call('ZADD', KEYS[i], now, amount .. ':' .. ARGV[#ARGV] .. ':' .. i)
  redis.call('PEXPIRE', KEYS[i], math.ceil(window * 1000) + 1000)
end
return {-1, "0"}
"""


class RedisState:
    """A :class:`~lictor.state.StateBackend` on a Redis server (``pip install 'lictor[redis]'``)."""

    def __init__(self, url: str, *, prefix: str = "lictor:", flag_refresh: float = 0.25, client: Any = None) -> None:
        try:
            import redis
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ImportError("state backend 'redis' needs the redis package: pip install 'lictor[redis]'") from exc
        self._redis = client if client is not None else redis.Redis.from_url(url, socket_timeout=2.0)
        try:
            self._redis.ping()
        except redis.RedisError as exc:
            raise ConnectionError(f"cannot reach Redis at {url}: {exc}") from exc
        self._prefix = prefix
        self._flags_key = f"{prefix}flags"
        self._hit = self._redis.register_script(_HIT)
        self._spend = self._redis.register_script(_SPEND)
        self._refresh = float(flag_refresh)
        self._flags: dict[str, str] = {}
        self._flags_at = 0.0
        self._lock = threading.Lock()
        self._member = itertools.count()
        self._me = f"{os.getpid()}-{id(self):x}"
        self._refresh_flags()

    # -- counters ------------------------------------------------------------------------------
    def hit(self, key: str, limit: int, window: float, now: float) -> bool:
        member = f"{now!r}:{self._me}:{next(self._member)}"
        return bool(self._hit(keys=[self._prefix + key], args=[limit, window, now, member]))

    def spend(self, entries: Sequence[tuple[str, float, float, float]], now: float) -> Optional[tuple[int, float]]:
        if not entries:
            return None
        args: list[Any] = [repr(float(now))]
        for _, amount, limit, window in entries:
            args += [repr(float(amount)), repr(float(limit)), repr(float(window))]
        args.append(f"{now!r}:{self._me}:{next(self._member)}")
        index, used = self._spend(keys=[self._prefix + k for k, _, _, _ in entries], args=args)
        return None if int(index) < 0 else (int(index), float(_text(used)))

    # -- flags ---------------------------------------------------------------------------------
    def _refresh_flags(self) -> None:
        raw = self._redis.hgetall(self._flags_key)
        self._flags = {_text(k): _text(v) for k, v in raw.items()}
        self._flags_at = time.monotonic()

    def _fresh(self) -> dict[str, str]:
        if time.monotonic() - self._flags_at > self._refresh:
            with self._lock:
                if time.monotonic() - self._flags_at > self._refresh:
                    self._refresh_flags()
        return self._flags

    def set_flag(self, key: str, value: str) -> None:
        self._redis.hset(self._flags_key, key, value)
        with self._lock:
            self._refresh_flags()

    def clear_flag(self, key: str) -> None:
        self._redis.hdel(self._flags_key, key)
        with self._lock:
            self._refresh_flags()

    def get_flag(self, key: str) -> Optional[str]:
        return self._fresh().get(key)

    def has_flags(self) -> bool:
        return bool(self._fresh())

    def close(self) -> None:
        try:
            self._redis.close()
        except Exception:  # closing must not hide the caller's own error
            pass
