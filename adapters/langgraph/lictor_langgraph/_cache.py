"""Remember decisions by tool-call id, so a replayed call is decided (and recorded) once.

LangGraph re-executes a whole task when it resumes after ``interrupt()``: the tool wrapper runs
again for the same ``tool_call["id"]``. Asking the Governor again would record a second decision
(and count the call twice against rate limits). The cache maps (session, call id) to the first
decision and, once a human has answered, to the resolved decision. It is bounded (least recently
used entries go first) and thread-safe, because ToolNode runs parallel tool calls in threads.

The cache lives in the adapter's process: a resume served by another process asks again (one
extra ``approve`` record); the human's answer is still recorded exactly once.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Any, Hashable, Optional

import orjson

from lictor import Decision

__all__ = ["CallRecord", "DecisionCache"]


class CallRecord:
    """What Lictor decided about one framework call: the first decision, then the resolution."""

    __slots__ = ("decision", "resolved", "answer")

    def __init__(self, decision: Decision) -> None:
        self.decision = decision
        self.resolved: Optional[Decision] = None
        self.answer: object = None


class DecisionCache:
    """A bounded LRU map from (session, call id) to :class:`CallRecord`."""

    def __init__(self, maxsize: int = 4096) -> None:
        if maxsize < 1:
            raise ValueError("DecisionCache maxsize must be at least 1")
        self._maxsize = maxsize
        self._data: "OrderedDict[Hashable, CallRecord]" = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Optional[Hashable]) -> Optional[CallRecord]:
        if key is None:
            return None
        with self._lock:
            rec = self._data.get(key)
            if rec is not None:
                self._data.move_to_end(key)
            return rec

    def put(self, key: Optional[Hashable], decision: Decision) -> CallRecord:
        rec = CallRecord(decision)
        if key is None:
            return rec
        with self._lock:
            self._data[key] = rec
            self._data.move_to_end(key)
            while len(self._data) > self._maxsize:
                self._data.popitem(last=False)
        return rec

    def __len__(self) -> int:
        return len(self._data)


def args_fingerprint(args: Any) -> str:
    """A stable digest of a tool call's arguments (canonical JSON; repr for what JSON cannot hold)."""
    try:
        raw = orjson.dumps(args, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    except TypeError:
        raw = repr(args).encode("utf-8", "replace")
    return hashlib.sha256(raw).hexdigest()
