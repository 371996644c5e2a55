"""The shape of a policy file, as pydantic models.

Every model forbids unknown keys: a misspelt key (``whenn:``) or value (``effect: dny``) is an
error at load time, never a rule that silently does nothing.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Callable, Dict, List, Literal, Optional, Tuple

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr, model_validator


from ..models import ActionKind

__all__ = [
    "Policy",
    "Rule",
    "Match",
    "Limit",
    "RedactSpec",
    "AgentSpec",
    "Rollout",
    "PluginsSection",
    "StateSection",
    "AuditSection",
    "parse_duration",
    "RISK_IDS",
    "RISK_TITLES",
]

RISK_IDS: Tuple[str, ...] = tuple(f"ASI{i:02d}" for i in range(1, 11))

#: The OWASP Top 10 for Agentic Applications (2026), by id.
RISK_TITLES = {
    "ASI01": "Agent goal hijack",
    "ASI02": "Tool misuse and exploitation",
    "ASI03": "Identity and privilege abuse",
    "ASI04": "Agentic supply chain vulnerabilities",
    "ASI05": "Unexpected code execution",
    "ASI06": "Memory and context poisoning",
    "ASI07": "Insecure inter-agent communication",
    "ASI08": "Cascading failures",
    "ASI09": "Human-agent trust exploitation",
    "ASI10": "Rogue agents",
}

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


def parse_duration(value: Any) -> float:
    """``"60s"``, ``"5m"``, ``"1h"``, ``"250ms"``, ``"2d"`` or a number of seconds -> seconds."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration (use e.g. 60s, 5m, 1h)")
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        m = _DURATION.match(str(value))
        if not m:
            raise ValueError(f"{value!r} is not a duration (use e.g. 250ms, 60s, 5m, 1h, 2d)")
        seconds = float(m.group(1)) * _UNIT[m.group(2)]
    if seconds <= 0:
        raise ValueError(f"{value!r} must be longer than zero")
    return seconds


def _as_list(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, (str, int, float)):
        return [value]
    return value


StrList = Annotated[List[str], BeforeValidator(_as_list)]
KindList = Annotated[List[ActionKind], BeforeValidator(_as_list)]
Duration = Annotated[float, BeforeValidator(parse_duration)]
RiskId = Literal[
    "ASI01", "ASI02", "ASI03", "ASI04", "ASI05", "ASI06", "ASI07", "ASI08", "ASI09", "ASI10"
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Match(_Strict):
    """Which actions a rule looks at. Every given field must match; lists mean "any of".

    ``name`` and ``agent`` are globs (``shell*``, ``support-*``); ``roles`` matches when the
    agent has any of the roles.
    """

    kind: Optional[KindList] = None
    name: Optional[StrList] = None
    agent: Optional[StrList] = None
    roles: Optional[StrList] = None


class Limit(_Strict):
    """At most ``count`` matching actions per ``per`` window, counted per ``key``.

    ``key`` is ``agent``, ``session``, ``name``, ``kind``, ``global``, or a CEL expression over
    the same variables as ``when`` (e.g. ``args.account``).
    """

    count: int = Field(gt=0)
    per: Duration
    key: str = "agent"


class RedactSpec(_Strict):
    """What a ``redact`` rule masks: named arguments (dotted paths), and/or regex patterns
    masked wherever they occur in argument values and content (or in the output, for
    ``phase: output`` rules)."""

    args: StrList = Field(default_factory=list)
    patterns: StrList = Field(default_factory=list)
    replacement: str = "[REDACTED]"

    @model_validator(mode="after")
    def _something_to_mask(self) -> "RedactSpec":
        if not self.args and not self.patterns:
            raise ValueError("redact needs 'args' and/or 'patterns' to mask")
        for p in self.patterns:
            try:
                re.compile(p)
            except re.error as e:
                raise ValueError(f"pattern {p!r} is not a valid regular expression: {e}") from None
        return self


class Rule(_Strict):
    """One policy rule: which actions (``match``, ``when``), and what to do (``effect``,
    ``limit``, ``redact``). ``risks`` names the OWASP ASI ids the rule addresses."""

    id: str = Field(min_length=1)
    description: Optional[str] = None
    phase: Literal["action", "output"] = "action"
    match: Match = Field(default_factory=Match)
    when: Optional[str] = None
    effect: Optional[Literal["allow", "deny", "approve", "redact"]] = None
    limit: Optional[Limit] = None
    redact: Optional[RedactSpec] = None
    reason: Optional[str] = None
    risks: List[RiskId] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> "Rule":
        if self.effect is None and self.limit is None:
            raise ValueError("a rule needs an 'effect' (allow, deny, approve, redact) or a 'limit'")
        if self.effect == "redact" and self.redact is None:
            raise ValueError("effect 'redact' needs a 'redact' section naming args or patterns")
        if self.redact is not None and self.effect != "redact":
            raise ValueError("a 'redact' section only makes sense with effect 'redact'")
        if self.limit is not None and self.effect in ("allow", "redact"):
            raise ValueError("a limit's effect (when exceeded) must be deny or approve")
        return self


class AgentSpec(_Strict):
    """What the policy knows about agents whose name matches the key (a glob)."""

    roles: StrList = Field(default_factory=list)


class Rollout(_Strict):
    """Enforce for a stable share of agents (by a hash of their name); monitor the rest."""

    enforce_percent: float = Field(ge=0, le=100)


class PluginsSection(_Strict):
    """``disable``: plugin names not to load; ``fail_open``: plugins whose errors are logged as
    reasons but do not deny; ``config``: sections for plugins that are not built-in protections."""

    disable: StrList = Field(default_factory=list)
    fail_open: StrList = Field(default_factory=list)
    config: Dict[str, Dict[str, Any]] = Field(default_factory=dict)


class StateSection(_Strict):
    """Where counters and flags live: ``memory`` (one process) or ``redis`` (shared by every
    process and machine using the same ``url`` and ``prefix``). With Redis, a kill switch
    engaged anywhere reaches every process within ``flag_refresh``."""

    backend: Literal["memory", "redis"] = "memory"
    url: Optional[str] = None
    prefix: str = "lictor:"
    flag_refresh: Duration = 0.25

    @model_validator(mode="after")
    def _url_for_redis(self) -> "StateSection":
        if self.backend == "redis" and not self.url:
            raise ValueError("backend 'redis' needs a 'url' (e.g. redis://localhost:6379/0)")
        return self


class AuditSection(_Strict):
    """The audit trail. ``durability: journal`` (default) makes every returned decision
    survive ``kill -9``; ``batch`` keeps up to ``flush_interval`` of records in memory."""

    sink: Literal["sqlite", "none"] = "sqlite"
    path: str = "lictor-audit.db"
    durability: Literal["journal", "batch"] = "journal"
    flush_interval: Duration = 0.2
    max_content: int = Field(default=4096, ge=0)


class Policy(_Strict):
    """A whole policy file (``version: 1``)."""

    version: Literal[1] = 1
    mode: Literal["enforce", "monitor"] = "enforce"
    rollout: Optional[Rollout] = None
    default: Literal["allow", "deny"] = "allow"
    agents: Dict[str, AgentSpec] = Field(default_factory=dict)
    rules: List[Rule] = Field(default_factory=list)
    protections: Dict[str, Dict[str, Any]] = Field(default_factory=dict)
    plugins: PluginsSection = Field(default_factory=PluginsSection)
    state: StateSection = Field(default_factory=StateSection)
    audit: Optional[AuditSection] = None

    # Where the policy came from, for error messages that name file and line.
    _source: str = PrivateAttr(default="<policy>")
    _locate: Optional[Callable[[Tuple[Any, ...]], Optional[int]]] = PrivateAttr(default=None)
    _hash: str = PrivateAttr(default="")

    def section(self, name: str) -> Optional[Dict[str, Any]]:
        """A plugin's configuration: ``protections.<name>`` or ``plugins.config.<name>``."""
        if name in self.protections:
            return self.protections[name]
        return self.plugins.config.get(name)

    def section_path(self, name: str) -> Tuple[Any, ...]:
        """The path of a plugin's section in the policy, for :meth:`where`."""
        return ("protections", name) if name in self.protections else ("plugins", "config", name)

    def where(self, path: Tuple[Any, ...]) -> str:
        """``file:line`` of a path in the policy (``("rules", 2, "when")``), for messages."""
        locate = self.__pydantic_private__.get("_locate") if self.__pydantic_private__ else None
        line = locate(tuple(path)) if locate is not None else None
        return f"{self._source}:{line}" if line else self._source

    @property
    def source(self) -> str:
        """The file the policy came from (``<dict>`` for ``from_dict``)."""
        return self._source

    @property
    def hash(self) -> str:
        """SHA-256 of the policy's canonical form, recorded with every decision."""
        return self._hash
