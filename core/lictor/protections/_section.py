"""Reading a protection's ``protections.<name>`` section: typed fields, errors that name the field.

Every protection of part B reads its section through :class:`Section`, so that every mistake in a
policy is reported the same way (``policy.yaml:12 protections.loops.max_repeats: ...``), all of
them together, and unknown keys are errors rather than settings that silently do nothing.
Also here: the agent -> roles resolution the protections share with the rules plugin's idea
(the policy's ``agents:`` globs plus ``metadata["roles"]``).
"""

from __future__ import annotations

import fnmatch
import re
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence

from ..errors import PolicyError
from ..models import ACTION_KINDS, Action
from ..policy.loader import format_path
from ..policy.schema import parse_duration

__all__ = ["Section", "RoleResolver", "glob_matcher", "EFFECTS"]

EFFECTS = ("deny", "approve")
_MISSING = object()
_CACHE_MAX = 8192


def glob_matcher(patterns: Iterable[str]) -> Callable[[str], bool]:
    """A fast test "does a name match any of these globs" (exact names are a set lookup)."""
    exact = frozenset(p for p in patterns if not any(c in p for c in "*?["))
    globs = [p for p in patterns if p not in exact]
    if not globs:
        return exact.__contains__
    rx = re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in globs))
    match = rx.match
    if not exact:
        return lambda s: match(s) is not None
    return lambda s: s in exact or match(s) is not None


class Section:
    """One mapping of a protection's configuration, read field by field.

    ``take`` and the typed helpers remove a key from the pending set; :meth:`done` reports the
    keys nobody read as unknown. Problems are collected (a whole section is checked at once)
    and raised together by :meth:`raise_problems` of the root section.
    """

    def __init__(self, policy: Any, name: str, data: Any, path: tuple[Any, ...] = (),
                 problems: Optional[list[str]] = None) -> None:
        self.policy = policy
        self.name = name
        self.base = tuple(policy.section_path(name)) if policy is not None else ("protections", name)
        self.path = path
        self.problems: list[str] = problems if problems is not None else []
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

    def integer(self, key: str, default: Any = _MISSING, *, minimum: Optional[int] = None) -> Any:
        if key not in self.data:
            if default is _MISSING:
                self.error((key,), "is required")
                return 0
            return default
        v = self.take(key)
        if isinstance(v, bool) or not isinstance(v, int):
            self.error((key,), f"expected a whole number, got {v!r}")
            return default if default is not _MISSING else 0
        if minimum is not None and v < minimum:
            self.error((key,), f"must be at least {minimum}, got {v}")
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
        if minimum is not None and v < minimum:
            self.error((key,), f"must be at least {minimum}, got {v}")
        if maximum is not None and v > maximum:
            self.error((key,), f"must be at most {maximum}, got {v}")
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

    def strings(self, key: str, default: Sequence[str] = ()) -> list[str]:
        if key not in self.data:
            return list(default)
        v = self.take(key)
        if isinstance(v, str):
            v = [v]
        if not isinstance(v, list) or not all(isinstance(x, str) and x for x in v):
            self.error((key,), f"expected a list of non-empty strings, got {v!r}")
            return list(default)
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
        if key not in self.data:
            return {}
        v = self.take(key)
        if not isinstance(v, Mapping):
            self.error((key,), f"expected a mapping, got {type(v).__name__}")
            return {}
        return {str(k): val for k, val in v.items()}


class RoleResolver:
    """An agent's roles: the policy's ``agents:`` globs (cached per agent name) plus the roles
    an adapter put in ``metadata["roles"]``. The same idea as the rules plugin's resolution."""

    __slots__ = ("_patterns", "_cache")

    def __init__(self, policy: Any) -> None:
        agents = getattr(policy, "agents", {}) or {}
        self._patterns = [(re.compile(fnmatch.translate(p)), tuple(spec.roles)) for p, spec in agents.items()]
        self._cache: dict[str, tuple[str, ...]] = {}

    def of_name(self, agent: str) -> tuple[str, ...]:
        """Roles the policy gives an agent name (no metadata)."""
        roles = self._cache.get(agent)
        if roles is None:
            found: list[str] = []
            for rx, rs in self._patterns:
                if rx.match(agent):
                    found.extend(rs)
            roles = tuple(dict.fromkeys(found))
            if len(self._cache) >= _CACHE_MAX:
                self._cache.clear()
            self._cache[agent] = roles
        return roles

    def of(self, action: Action) -> tuple[str, ...]:
        """Roles of the acting agent: policy roles plus ``metadata["roles"]``."""
        roles = self.of_name(action.agent)
        md = action.metadata
        extra = md.get("roles") if md else None
        if extra:
            if isinstance(extra, str):
                extra = (extra,)
            return roles + tuple(r for r in extra if isinstance(r, str) and r not in roles)
        return roles
