"""Pieces the text and data-flow protections share: reading a ``protections.<name>`` section
with errors that name the field, walking outputs of any shape, trust labels, bounded
per-session memory, and masking secrets in evidence.

Kept private (underscore) because the names here are not a contract for plugin authors; the
protections themselves are ordinary plugins on the public hooks.
"""

from __future__ import annotations

import fnmatch
import re
import threading
from collections import OrderedDict
from typing import Any, Callable, Iterable, Iterator, Mapping, Optional, Sequence

from ..errors import PolicyError
from ..models import Action
from ..policy.schema import parse_duration

__all__ = [
    "Section",
    "TRUSTED_SOURCES",
    "UNTRUSTED_SOURCES",
    "source_of",
    "session_key",
    "iter_strings",
    "map_strings",
    "BoundedSessions",
    "glob_matcher",
    "shorten",
    "EFFECTS",
]

#: ``metadata["source"]`` values whose text is the user's own request or the system prompt.
TRUSTED_SOURCES = frozenset({"user", "system"})
#: ``metadata["source"]`` values whose text may carry someone else's instructions (DESIGN §3b).
UNTRUSTED_SOURCES = frozenset({"tool", "retrieval", "agent", "memory"})

EFFECTS = ("allow", "redact", "approve", "deny")
_MISSING = object()


class Section:
    """One ``protections.<name>`` mapping being read; collects every problem, then raises once.

    ``get`` removes a key as it reads it; :meth:`finish` reports the keys nobody read (typos)
    and raises :class:`PolicyError` listing every problem with the policy's file and line.
    """

    def __init__(self, policy: Any, name: str) -> None:
        self.policy = policy
        self.name = name
        raw = policy.section(name)
        self.present = raw is not None
        self.base: tuple[Any, ...] = policy.section_path(name)
        self.problems: list[str] = []
        if raw is None:
            raw = {}
        elif not isinstance(raw, Mapping):
            self.problems.append(f"{policy.where(self.base)} {'.'.join(self.base)}: must be a mapping of settings, got {type(raw).__name__}")
            raw = {}
        self._raw = dict(raw)
        self._seen: set[str] = set()

    # -- reporting -------------------------------------------------------------------------
    def where(self, *path: Any) -> str:
        full = self.base + tuple(path)
        dotted = ".".join(str(p) for p in full)
        return f"{self.policy.where(full)} {dotted}"

    def problem(self, msg: str, *path: Any) -> None:
        self.problems.append(f"{self.where(*path)}: {msg}")

    def finish(self, allowed: Iterable[str] = ()) -> None:
        extra = sorted(k for k in self._raw if k not in self._seen)
        if extra:
            known = sorted(set(self._seen) | set(allowed))
            for k in extra:
                self.problem(f"unknown setting '{k}' for protection '{self.name}' (known: {', '.join(known)})", k)
        if self.problems:
            raise PolicyError(self.problems)

    # -- typed readers -----------------------------------------------------------------------
    def raw(self, key: str, default: Any = _MISSING) -> Any:
        self._seen.add(key)
        if key in self._raw:
            return self._raw[key]
        return None if default is _MISSING else default

    def has(self, key: str) -> bool:
        return key in self._raw

    def choice(self, key: str, options: Sequence[str], default: str, *path: Any) -> str:
        v = self.raw(key, default)
        if v not in options:
            self.problem(f"must be one of {', '.join(options)}, got {v!r}", *(path or (key,)))
            return default
        return v

    def number(self, key: str, default: float, *, lo: float = float("-inf"), hi: float = float("inf"),
               integer: bool = False) -> float:
        v = self.raw(key, default)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or (integer and not float(v).is_integer()):
            self.problem(f"must be {'an integer' if integer else 'a number'}, got {v!r}", key)
            return default
        if not lo <= v <= hi:
            self.problem(f"must be between {lo:g} and {hi:g}, got {v!r}", key)
            return default
        return int(v) if integer else float(v)

    def boolean(self, key: str, default: bool) -> bool:
        v = self.raw(key, default)
        if not isinstance(v, bool):
            self.problem(f"must be true or false, got {v!r}", key)
            return default
        return v

    def duration(self, key: str, default: float) -> float:
        v = self.raw(key, default)
        try:
            return parse_duration(v)
        except ValueError as e:
            self.problem(str(e), key)
            return default

    def str_list(self, key: str, default: Sequence[str], options: Optional[Sequence[str]] = None) -> list[str]:
        v = self.raw(key, list(default))
        return self.check_str_list(v, options, key)

    def check_str_list(self, v: Any, options: Optional[Sequence[str]], *path: Any) -> list[str]:
        if isinstance(v, str):
            v = [v]
        if not isinstance(v, (list, tuple)) or not all(isinstance(x, str) for x in v):
            self.problem(f"must be a list of strings, got {v!r}", *path)
            return []
        if options is not None:
            bad = [x for x in v if x not in options]
            if bad:
                self.problem(f"unknown value(s) {', '.join(map(repr, bad))} (choose from {', '.join(options)})", *path)
                return [x for x in v if x in options]
        return list(v)

    def mapping(self, key: str) -> Optional[dict[str, Any]]:
        v = self.raw(key, None)
        if v is None:
            return None
        if not isinstance(v, Mapping):
            self.problem(f"must be a mapping, got {type(v).__name__}", key)
            return None
        return dict(v)

    def thresholds(self, default: Mapping[str, float], *, effects: Sequence[str] = ("deny", "approve", "redact")
                   ) -> list[tuple[float, str]]:
        """``thresholds: {deny: 0.9, approve: 0.6}`` or ``effect: deny`` (+ ``threshold: 0.6``).

        Returns ``[(threshold, effect), ...]`` highest threshold first.
        """
        th = self.raw("thresholds", None)
        effect = self.raw("effect", None)
        single = self.raw("threshold", None)
        if th is not None and (effect is not None or single is not None):
            self.problem("give either 'thresholds' or 'effect' (with an optional 'threshold'), not both", "thresholds")
        out: list[tuple[float, str]] = []
        if th is not None:
            if not isinstance(th, Mapping) or not th:
                self.problem("must map effects to scores, e.g. {deny: 0.9, approve: 0.6}", "thresholds")
                return sorted(((v, k) for k, v in default.items()), reverse=True)
            for k, v in th.items():
                if k not in effects:
                    self.problem(f"unknown effect {k!r} (choose from {', '.join(effects)})", "thresholds", k)
                elif isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v <= 1:
                    self.problem(f"must be a score above 0 and at most 1, got {v!r}", "thresholds", k)
                else:
                    out.append((float(v), k))
        elif effect is not None or single is not None:
            e = effect if effect is not None else "deny"
            if e not in effects:
                self.problem(f"must be one of {', '.join(effects)}, got {e!r}", "effect")
                e = "deny"
            t = single if single is not None else min(default.values())
            if isinstance(t, bool) or not isinstance(t, (int, float)) or not 0 < t <= 1:
                self.problem(f"must be a score above 0 and at most 1, got {t!r}", "threshold")
                t = min(default.values())
            out.append((float(t), e))
        else:
            out = [(v, k) for k, v in default.items()]
        out.sort(reverse=True)
        return out


def source_of(action: Action) -> Optional[str]:
    """The adapter's trust label of an action's text (``metadata["source"]``), if any."""
    md = action.metadata
    if not md:
        return None
    s = md.get("source")
    return s if isinstance(s, str) else None


def session_key(action: Action) -> str:
    """Per-session state is keyed by the session; actions without one share their agent's."""
    return action.session if action.session else f"agent:{action.agent}"


def iter_strings(value: Any, _depth: int = 0) -> Iterator[str]:
    """Every string inside an output or arguments (dicts, lists, pydantic models, objects)."""
    if isinstance(value, str):
        yield value
    elif value is None or isinstance(value, (bool, int, float)):
        return
    elif _depth > 20:
        return
    elif isinstance(value, Mapping):
        for k, v in value.items():
            yield from iter_strings(v, _depth + 1)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for v in value:
            yield from iter_strings(v, _depth + 1)
    elif isinstance(value, bytes):
        yield value.decode("utf-8", "replace")
    else:
        dump = getattr(value, "model_dump", None)
        if callable(dump):
            try:
                yield from iter_strings(dump(), _depth + 1)
                return
            except Exception:  # pragma: no cover - a model that cannot dump itself
                pass
        yield str(value)


def map_strings(value: Any, fn: Callable[[str], str], _depth: int = 0) -> Any:
    """``value`` with ``fn`` applied to every string inside; unchanged parts keep their identity.

    Objects that are not plain containers are turned into their text when a string inside them
    had to change (a redacted output must not keep the original in a hidden attribute).
    """
    if isinstance(value, str):
        return fn(value)
    if value is None or isinstance(value, (bool, int, float)) or _depth > 20:
        return value
    if isinstance(value, Mapping):
        changed = False
        out = {}
        for k, v in value.items():
            nv = map_strings(v, fn, _depth + 1)
            changed = changed or nv is not v
            out[k] = nv
        return out if changed else value
    if isinstance(value, (list, tuple)):
        items = [map_strings(v, fn, _depth + 1) for v in value]
        if all(a is b for a, b in zip(items, value)):
            return value
        return type(value)(items) if isinstance(value, tuple) else items
    if isinstance(value, bytes):
        s = value.decode("utf-8", "replace")
        ns = fn(s)
        return value if ns == s else ns.encode("utf-8")
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        try:
            d = dump()
        except Exception:  # pragma: no cover
            d = None
        if d is not None:
            nd = map_strings(d, fn, _depth + 1)
            return value if nd is d else nd
    s = str(value)
    ns = fn(s)
    return value if ns == s else ns


class BoundedSessions:
    """Per-session records with a cap on the number of sessions and an age limit.

    The least recently used session is dropped when the cap is reached; a session whose last
    update is older than ``ttl`` reads as absent (and is dropped when next seen). All methods are
    thread-safe and O(1).
    """

    def __init__(self, max_sessions: int, ttl: float, factory: Callable[[], Any]) -> None:
        self.max_sessions = max_sessions
        self.ttl = ttl
        self._factory = factory
        self._d: "OrderedDict[str, list[Any]]" = OrderedDict()  # key -> [last_update, record]
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._d)

    def peek(self, key: str, now: float) -> Any:
        """The record, or None when absent or expired (no allocation on the common miss)."""
        e = self._d.get(key)
        if e is None:
            return None
        if now - e[0] > self.ttl:
            with self._lock:
                if self._d.get(key) is e:
                    del self._d[key]
            return None
        return e[1]

    def touch(self, key: str, now: float) -> Any:
        """The record for ``key`` (created if absent or expired), marked as updated now."""
        with self._lock:
            e = self._d.get(key)
            if e is None or now - e[0] > self.ttl:
                e = [now, self._factory()]
                self._d[key] = e
                while len(self._d) > self.max_sessions:
                    self._d.popitem(last=False)
            else:
                e[0] = now
                self._d.move_to_end(key)
            return e[1]

    def drop(self, key: str) -> None:
        with self._lock:
            self._d.pop(key, None)


def glob_matcher(patterns: Sequence[str]) -> Callable[[str], bool]:
    """A fast test of a name against globs (``send_*``); exact names skip the regex."""
    if not patterns:
        return lambda name: False
    if "*" in patterns:
        return lambda name: True
    exact = frozenset(p for p in patterns if not any(c in p for c in "*?["))
    globs = [p for p in patterns if p not in exact]
    if not globs:
        return exact.__contains__
    rx = re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in globs))
    return lambda name: name in exact or rx.match(name) is not None


def shorten(text: str, limit: int = 80) -> str:
    """One line, at most ``limit`` characters, for evidence and reasons."""
    t = " ".join(text.split())
    return t if len(t) <= limit else t[: limit - 1] + "…"


TAINT_KEY = "lictor.taint"


def taint_store(ctx: Any) -> BoundedSessions:
    """The per-Governor record of tainted sessions (session key -> {score, why, at}).

    Written by ``prompt_injection`` (and ``memory_guard``) when untrusted text scores above the
    taint threshold; read by any protection that steps up actions of tainted sessions.
    """
    st = ctx.plugin_data.get(TAINT_KEY)
    if st is None:
        st = ctx.plugin_data.setdefault(TAINT_KEY, BoundedSessions(10_000, 3600.0, dict))
    return st


def mark_tainted(ctx: Any, key: str, score: float, why: str, now: float) -> None:
    rec = taint_store(ctx).touch(key, now)
    if score >= rec.get("score", 0.0):
        rec["score"] = score
        rec["why"] = why
    rec["at"] = now
