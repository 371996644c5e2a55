"""Pieces every built-in protection shares: reading a ``protections.<name>`` section with
errors that name the file, line and field (:class:`Section`), glob tests of names, walking
outputs of any shape, trust labels, bounded per-session memory, and masking secrets in evidence.

Every protection reads its section through :class:`Section`, so that every mistake in a policy is
reported the same way (``policy.yaml:12 protections.loops.max_repeats: ...``), all of them
together, and unknown keys are errors rather than settings that silently do nothing.

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
from ..models import ACTION_KINDS, Action
from ..policy.loader import format_path
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

#: The effects a protection that steps an action up may choose (``effect: deny|approve``).
EFFECTS = ("deny", "approve")
_MISSING = object()


def _bound(x: float) -> str:
    return str(int(x)) if isinstance(x, float) and x.is_integer() and abs(x) < 1e15 else str(x)


class Section:
    """One mapping of a protection's configuration, read field by field.

    ``Section(policy, name)`` reads ``protections.<name>`` (``present`` says whether the policy
    has it); ``Section(policy, name, data)`` reads a mapping the caller already has. ``take``
    and the typed helpers mark a key as read; :meth:`done` reports the keys nobody read as
    unknown. Problems (``policy.yaml:12 protections.loops.max_repeats: ...``) are collected, so
    a whole section is checked at once, and raised together by :meth:`raise_problems`
    (:meth:`finish` does both). :meth:`child` and :meth:`sub` give nested mappings their own
    Section that reports into the same list.
    """

    def __init__(self, policy: Any, name: str, data: Any = _MISSING, path: tuple[Any, ...] = (),
                 problems: Optional[list[str]] = None) -> None:
        self.policy = policy
        self.name = name
        self.base = tuple(policy.section_path(name)) if policy is not None else ("protections", name)
        self.path = path
        self.problems: list[str] = problems if problems is not None else []
        if data is _MISSING:
            data = policy.section(name) if policy is not None else None
            self.present = data is not None
            if data is None:
                data = {}
        else:
            self.present = True
        if not isinstance(data, Mapping):
            self.error((), f"expected a mapping of settings, got {type(data).__name__}")
            data = {}
        self.data: Mapping[str, Any] = data
        self._pending = set(str(k) for k in data)

    # -- errors ---------------------------------------------------------------------------
    def where(self, field: tuple[Any, ...]) -> str:
        full = self.base + self.path + tuple(field)
        loc = self.policy.where(full) if self.policy is not None else "<policy>"
        return f"{loc} {format_path(full)}"

    def error(self, field: tuple[Any, ...] | str, message: str) -> None:
        if isinstance(field, str):
            field = (field,)
        self.problems.append(f"{self.where(field)}: {message}")

    def raise_problems(self) -> None:
        if self.problems:
            raise PolicyError(list(self.problems))

    def finish(self, allowed_hint: Sequence[str] = ()) -> None:
        """:meth:`done` then :meth:`raise_problems`."""
        self.done(allowed_hint)
        self.raise_problems()

    # -- reading --------------------------------------------------------------------------
    def has(self, key: str) -> bool:
        return key in self.data

    def take(self, key: str, default: Any = None) -> Any:
        self._pending.discard(key)
        return self.data.get(key, default)

    def child(self, key: str, default: Any = _MISSING) -> Optional["Section"]:
        """The nested mapping under ``key`` as its own Section (None when absent)."""
        if key not in self.data:
            if default is _MISSING:
                return None
            return Section(self.policy, self.name, default, self.path + (key,), self.problems)
        self._pending.discard(key)
        return Section(self.policy, self.name, self.data[key], self.path + (key,), self.problems)

    def sub(self, key: Any, data: Any) -> "Section":
        """A Section for a value found under this one (e.g. one entry of a mapping)."""
        return Section(self.policy, self.name, data, self.path + (key,), self.problems)

    def done(self, allowed_hint: Sequence[str] = ()) -> None:
        for key in sorted(self._pending):
            hint = f"; known settings: {', '.join(allowed_hint)}" if allowed_hint else ""
            self.error((key,), f"unknown setting '{key}'{hint}")
        self._pending.clear()

    def _range(self, key: str, v: float, minimum: Optional[float], maximum: Optional[float]) -> None:
        if minimum is not None and maximum is not None:
            if not minimum <= v <= maximum:
                self.error((key,), f"must be between {_bound(minimum)} and {_bound(maximum)}, got {v}")
        elif minimum is not None and v < minimum:
            self.error((key,), f"must be at least {minimum}, got {v}")
        elif maximum is not None and v > maximum:
            self.error((key,), f"must be at most {maximum}, got {v}")

    def integer(self, key: str, default: Any = _MISSING, *, minimum: Optional[int] = None,
                maximum: Optional[int] = None) -> Any:
        if key not in self.data:
            if default is _MISSING:
                self.error((key,), "is required")
                return 0
            return default
        v = self.take(key)
        if isinstance(v, bool) or not isinstance(v, int):
            self.error((key,), f"expected a whole number, got {v!r}")
            return default if default is not _MISSING else 0
        self._range(key, v, minimum, maximum)
        return v

    def number(self, key: str, default: Any = _MISSING, *, minimum: Optional[float] = None,
               maximum: Optional[float] = None) -> Any:
        if key not in self.data:
            if default is _MISSING:
                self.error((key,), "is required")
                return 0.0
            return default
        v = self.take(key)
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            self.error((key,), f"expected a number, got {v!r}")
            return default if default is not _MISSING else 0.0
        self._range(key, v, minimum, maximum)
        return float(v)

    def boolean(self, key: str, default: bool) -> bool:
        if key not in self.data:
            return default
        v = self.take(key)
        if not isinstance(v, bool):
            self.error((key,), f"expected true or false, got {v!r}")
            return default
        return v

    def string(self, key: str, default: Any = _MISSING) -> Any:
        if key not in self.data:
            if default is _MISSING:
                self.error((key,), "is required")
                return ""
            return default
        v = self.take(key)
        if not isinstance(v, str) or not v:
            self.error((key,), f"expected a non-empty string, got {v!r}")
            return default if default is not _MISSING else ""
        return v

    def choice(self, key: str, options: Sequence[str], default: str) -> str:
        if key not in self.data:
            return default
        v = self.take(key)
        if v not in options:
            self.error((key,), f"{v!r} is not one of {', '.join(options)}")
            return default
        return str(v)

    def duration(self, key: str, default: Any) -> float:
        if key not in self.data:
            return parse_duration(default) if default is not None else 0.0
        v = self.take(key)
        try:
            return parse_duration(v)
        except ValueError as exc:
            self.error((key,), str(exc))
            return parse_duration(default) if default is not None else 1.0

    def strings(self, key: str, default: Sequence[str] = (), options: Optional[Sequence[str]] = None) -> list[str]:
        """A list of non-empty strings (a single string counts as a list of one); with
        ``options``, values outside them are reported and left out."""
        if key not in self.data:
            return list(default)
        v = self.take(key)
        if isinstance(v, str):
            v = [v]
        if not isinstance(v, (list, tuple)) or not all(isinstance(x, str) and x for x in v):
            self.error((key,), f"expected a list of non-empty strings, got {v!r}")
            return list(default)
        if options is not None:
            bad = [x for x in v if x not in options]
            if bad:
                self.error((key,), f"unknown value(s) {', '.join(map(repr, bad))} (choose from {', '.join(options)})")
                return [x for x in v if x in options]
        return list(v)

    def kinds(self, key: str, default: Sequence[str]) -> frozenset[str]:
        values = self.strings(key, default)
        bad = [v for v in values if v not in ACTION_KINDS]
        if bad:
            self.error((key,), f"{', '.join(map(repr, bad))} not action kinds ({', '.join(ACTION_KINDS)})")
        return frozenset(v for v in values if v in ACTION_KINDS)

    def effect(self, key: str = "effect", default: str = "deny", options: Sequence[str] = EFFECTS) -> str:
        return self.choice(key, options, default)

    def mapping(self, key: str) -> dict[str, Any]:
        """The mapping under ``key``; ``{}`` when absent."""
        if key not in self.data:
            return {}
        v = self.take(key)
        if not isinstance(v, Mapping):
            self.error((key,), f"expected a mapping, got {type(v).__name__}")
            return {}
        return {str(k): val for k, val in v.items()}

    def optional_mapping(self, key: str) -> Optional[dict[str, Any]]:
        """The mapping under ``key``; None when absent or null (the feature is off)."""
        v = self.take(key)
        if v is None:
            return None
        if not isinstance(v, Mapping):
            self.error((key,), f"expected a mapping, got {type(v).__name__}")
            return None
        return {str(k): val for k, val in v.items()}

    def score(self, value: Any, *field: Any) -> Optional[float]:
        """``value`` as a score above 0 and at most 1 (None, reported, when it is not one)."""
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
            self.error(field, f"must be a score above 0 and at most 1, got {value!r}")
            return None
        return float(value)

    def thresholds(self, default: Mapping[str, float], *, effects: Sequence[str] = ("deny", "approve", "redact")
                   ) -> list[tuple[float, str]]:
        """``thresholds: {deny: 0.9, approve: 0.6}`` or ``effect: deny`` (+ ``threshold: 0.6``).

        Returns ``[(threshold, effect), ...]`` highest threshold first.
        """
        th = self.take("thresholds")
        effect = self.take("effect")
        single = self.take("threshold")
        if th is not None and (effect is not None or single is not None):
            self.error(("thresholds",), "give either 'thresholds' or 'effect' (with an optional 'threshold'), not both")
        out: list[tuple[float, str]] = []
        if th is not None:
            scores = self._scores("thresholds", th, effects)
            if scores is None:
                return sorted(((v, k) for k, v in default.items()), reverse=True)
            out = scores
        elif effect is not None or single is not None:
            e = effect if effect is not None else "deny"
            if e not in effects:
                self.error(("effect",), f"{e!r} is not one of {', '.join(effects)}")
                e = "deny"
            t = self.score(single, "threshold") if single is not None else None
            out.append((t if t is not None else float(min(default.values())), e))
        else:
            out = [(v, k) for k, v in default.items()]
        out.sort(reverse=True)
        return out

    def score_map(self, key: str, default: list[tuple[float, str]], effects: Sequence[str] = ("deny", "approve")
                  ) -> list[tuple[float, str]]:
        """``key: {deny: 0.9, approve: 0.6}`` as ``[(score, effect), ...]``, highest first;
        ``key: false`` switches the check off (``[]``); absent: ``default``."""
        raw = self.take(key)
        if raw is None:
            return default
        if raw is False:
            return []
        scores = self._scores(key, raw, effects)
        return default if scores is None else sorted(scores, reverse=True)

    def _scores(self, key: str, raw: Any, effects: Sequence[str]) -> Optional[list[tuple[float, str]]]:
        """The (score, effect) pairs of a mapping of effects to scores; None when it is not one."""
        if not isinstance(raw, Mapping) or not raw:
            self.error((key,), "must map effects to scores, e.g. {deny: 0.9, approve: 0.6}"
                       + (", or be false" if key != "thresholds" else ""))
            return None
        out = []
        for k, v in raw.items():
            if k not in effects:
                self.error((key, k), f"unknown effect {k!r} (choose from {', '.join(effects)})")
            else:
                s = self.score(v, key, k)
                if s is not None:
                    out.append((s, k))
        return out


class KindScoped:
    """For a protection that judges the action kinds in ``self._kinds`` (its ``on:`` setting)
    and no others: the Governor then calls it only for those (see ``applies_to`` in hookspecs)."""

    _kinds: frozenset[str] = frozenset()

    def applies_to(self, kind: str, name: str) -> bool:
        return kind in self._kinds


def glob_matcher(patterns: Iterable[str]) -> Callable[[str], bool]:
    """A fast test "does a name match any of these globs" (``send_*``); exact names are a set
    lookup, ``*`` matches everything without a regex."""
    patterns = tuple(patterns)
    if not patterns:
        return lambda name: False
    if "*" in patterns:
        return lambda name: True
    exact = frozenset(p for p in patterns if not any(c in p for c in "*?["))
    globs = [p for p in patterns if p not in exact]
    if not globs:
        return exact.__contains__
    match = re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in globs)).match
    if not exact:
        return lambda name: match(name) is not None
    return lambda name: name in exact or match(name) is not None


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
