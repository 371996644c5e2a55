"""ASI10 rogue agents: a behavioural baseline per agent, departures scored, repeat offenders quarantined.

While learning (the policy's ``mode: monitor``, or ``learn: true``) every action an agent takes
is added to its profile: which kinds of action and which tools it uses, the names, JSON types
and usual lengths of each tool's arguments, and its busiest calendar minute. Profiles are saved as JSON
(``path``) on ``Governor.close()`` and every ``save_every`` learned actions, and loaded when a
Governor starts.

When not learning, each action gets a departure score in [0, 1] (the sum of the weights of what
is new, capped at 1) with the evidence, e.g. ``unknown tool 'export_all_customers' (+0.6)``.
``thresholds`` map a score to an effect (``{deny: 0.9, approve: 0.6}``). An agent with no
profile at all is treated by ``unknown_agent`` (default ``approve``).

``quarantine: {denials: 5, within: 10m}`` engages the kill switch for an agent after that many
enforced denials (from any protection or rule) within the window; it stays engaged until a human
releases it: ``gov.kill_switch.release(agent="...")``.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Any, Optional

from ..hookspecs import hookimpl
from ..models import ACTION_KINDS, Action, Decision
from ._common import KindScoped, Section

__all__ = ["BaselinePlugin", "WEIGHTS"]

#: What each kind of novelty adds to the departure score (overridable with ``weights:``).
WEIGHTS = {
    "unknown_kind": 0.5,
    "unknown_tool": 0.6,
    "new_arg": 0.3,
    "arg_type": 0.3,
    "arg_length": 0.2,
    "rate": 0.4,
}
_VERSION = 1
_RATE_WINDOW = 60.0


def _json_type(v: Any) -> str:
    t = _TYPE_OF.get(type(v))
    if t is not None:
        return t
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, (list, tuple)):
        return "array"
    if isinstance(v, dict):
        return "object"
    return "other"


def _size(v: Any) -> int:
    return len(v) if isinstance(v, (str, list, tuple, dict)) else 0


class _Rates:
    """Actions per agent in the current calendar minute (in memory, two numbers per agent)."""

    def __init__(self) -> None:
        self._b: dict[str, list[int]] = {}

    def count(self, agent: str, now: float, record: bool) -> int:
        minute = int(now // _RATE_WINDOW)
        b = self._b.get(agent)
        if b is None:
            if len(self._b) > 65_536:
                self._b.clear()
            b = self._b[agent] = [minute, 0]
        elif b[0] != minute:
            b[0], b[1] = minute, 0
        if record:
            b[1] += 1
        return b[1]


_TYPE_OF = {str: "string", int: "number", float: "number", bool: "boolean", type(None): "null",
            list: "array", tuple: "array", dict: "object"}
_SIZED = (str, list, tuple, dict)  # the types whose size the profile limits
_NOT_KNOWN = object()


class BaselinePlugin(KindScoped):
    """Learns per-agent behaviour and scores departures from it (ASI10). Registered as
    ``baseline``; inactive without a ``protections.baseline`` section."""

    name = "baseline"
    risks = ("ASI10",)

    def __init__(self) -> None:
        self.active = False
        self.learning = False
        self.model: dict[str, Any] = {"version": _VERSION, "agents": {}}
        self._path: Optional[Path] = None
        self._save_every = 500
        self._since_save = 0
        self._kinds: frozenset[str] = frozenset()
        self._thresholds: list[tuple[float, str]] = []
        self._weights = dict(WEIGHTS)
        self._unknown_agent = "approve"
        self._rate_factor = 2.0
        self._min_rate = 10
        self._quarantine: Optional[tuple[int, float, bool]] = None
        self._rates = _Rates()
        self._fast: dict[tuple[str, str, str], Any] = {}
        self._shared_args: dict[tuple[Any, ...], dict[str, tuple[Any, ...]]] = {}
        self._shared_entries: dict[tuple[frozenset[str], int], tuple[Any, ...]] = {}
        self._lock = threading.RLock()  # save() runs inside _learn()
        self._gov: Any = None
        self._state: Any = None

    # -- configuration ----------------------------------------------------------------------
    @hookimpl
    def lictor_configure(self, policy: Any, ctx: Any) -> None:
        sec = Section(policy, self.name)
        self.active = sec.present
        if not self.active:
            return
        self.learning = sec.boolean("learn", policy.mode == "monitor")
        path = sec.string("path", None)
        self._save_every = sec.integer("save_every", 500, minimum=1)
        self._kinds = sec.kinds("on", [k for k in ACTION_KINDS if k != "model_output"])
        thresholds = sec.mapping("thresholds") if sec.has("thresholds") else {"deny": 0.9, "approve": 0.6}
        self._thresholds = []
        for effect, value in thresholds.items():
            if effect not in ("deny", "approve"):
                sec.error(("thresholds", effect), f"'{effect}' is not an effect for a threshold (deny, approve)")
            elif isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
                sec.error(("thresholds", effect), f"expected a score in (0, 1], got {value!r}")
            else:
                self._thresholds.append((float(value), effect))
        self._thresholds.sort(reverse=True)
        weights = sec.child("weights")
        self._weights = dict(WEIGHTS)
        if weights is not None:
            for key in list(weights.data):
                if key in WEIGHTS:
                    self._weights[key] = weights.number(key, minimum=0, maximum=1)
            weights.done(tuple(WEIGHTS))
        self._unknown_agent = sec.choice("unknown_agent", ("allow", "approve", "deny"), "approve")
        self._rate_factor = sec.number("rate_factor", 2.0, minimum=1)
        self._min_rate = sec.integer("min_rate", 10, minimum=1)
        q = sec.child("quarantine")
        self._quarantine = None
        if q is not None:
            n = q.integer("denials", 5, minimum=1)
            within = q.duration("within", "10m")
            only_baseline = q.choice("count", ("all", "baseline"), "all") == "baseline"
            q.done(("denials", "within", "count"))
            self._quarantine = (n, within, only_baseline)
        sec.done(("learn", "path", "save_every", "on", "thresholds", "weights", "unknown_agent", "rate_factor",
                  "min_rate", "quarantine"))
        self._path = None
        self.model = {"version": _VERSION, "agents": {}}
        if path is not None:
            p = Path(path)
            src = getattr(policy, "source", "")
            if not p.is_absolute() and src and not src.startswith("<"):
                p = Path(src).parent / p
            self._path = p
            if p.exists():
                try:
                    loaded = json.loads(p.read_text(encoding="utf-8"))
                    if not isinstance(loaded, dict) or loaded.get("version") != _VERSION or not isinstance(loaded.get("agents"), dict):
                        raise ValueError("not a Lictor baseline (expected {\"version\": 1, \"agents\": {...}})")
                    self.model = loaded
                except (OSError, ValueError) as exc:
                    sec.error("path", f"cannot read baseline {str(p)!r}: {exc}")
        sec.raise_problems()
        self._fast = {}
        self._rates = _Rates()
        self._gov = ctx.governor
        self._state = ctx.state

    # -- learning ---------------------------------------------------------------------------
    def _learn(self, action: Action, now: float) -> None:
        agents = self.model["agents"]
        prof = agents.get(action.agent)
        if prof is None:
            prof = agents[action.agent] = {"kinds": {}, "tools": {}, "max_rate": 0, "actions": 0}
        prof["actions"] += 1
        prof["kinds"][action.kind] = prof["kinds"].get(action.kind, 0) + 1
        rate = self._rates.count(action.agent, now, True)
        if rate > prof["max_rate"]:
            prof["max_rate"] = rate
        if action.name:
            tools = prof["tools"]
            key = f"{action.kind}:{action.name}"
            t = tools.get(key)
            if t is None:
                t = tools[key] = {"count": 0, "args": {}}
            t["count"] += 1
            for k, v in action.args.items():
                a = t["args"].get(k)
                if a is None:
                    a = t["args"][k] = {"types": [], "max_len": 0}
                jt = _json_type(v)
                if jt not in a["types"]:
                    a["types"].append(jt)
                a["max_len"] = max(a["max_len"], _size(v))
        if self._fast:  # a profile changed: scoring must not use what was compiled from the old one
            self._fast.clear()
        self._since_save += 1
        if self._path is not None and self._since_save >= self._save_every:
            self.save()

    def save(self) -> None:
        """Write the profiles to ``path`` (atomically); a no-op without a path."""
        if self._path is None:
            return
        with self._lock:
            text = json.dumps(self.model, indent=1, sort_keys=True)
            self._since_save = 0
        self._path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=str(self._path.parent), prefix=".baseline-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            os.replace(tmp, self._path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise

    # -- scoring ----------------------------------------------------------------------------
    def _compiled(self, agent: str, kind: str, name: str) -> Any:
        """What scoring an (agent, kind, name) needs, flattened so that a check touches few
        objects: ``(known args or None, kind is new, rate limit, busiest minute, rate box)``,
        or ``()`` for an agent without a profile. Known args map a name to ``({python type: size
        limit or None}, JSON types, max size, size limit)``; the rate box is the agent's
        ``[minute, count]`` in ``_Rates``.

        Cached per (agent, kind, name): profiles change only while learning (``_learn`` drops
        the cache), and ``configure`` starts a new one."""
        key = (agent, kind, name)
        c = self._fast.get(key)
        if c is None:
            prof = self.model["agents"].get(agent)
            c = ()
            if prof is not None:
                t = prof["tools"].get(f"{kind}:{name}") if name else None
                args = self._known_args(t["args"]) if t is not None else None
                # more than min_rate actions a minute and more than rate_factor x the busiest minute
                limit = max(self._min_rate, prof["max_rate"] * self._rate_factor)
                rates = self._rates._b
                box = rates.get(agent)
                if box is None:
                    if len(rates) > 65_536:
                        rates.clear()
                        self._fast.clear()  # entries hold boxes of the old dict
                    box = rates[agent] = [-1, 0]  # read as a new minute on first use
                c = (args, kind not in prof["kinds"], limit, prof["max_rate"], box)
            if len(self._fast) > 65_536:
                self._fast.clear()
            self._fast[key] = c
        return c

    def _known_args(self, learned: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
        """The scoring entries of a tool's learned arguments (see :meth:`_compiled`), shared by
        every (agent, tool) whose arguments were learned alike.

        With thousands of (agent, tool) pairs, a copy per pair (about 2.5 KB) would not fit in the
        CPU's cache, and a check would fetch its pair's from memory. An entry depends only on the
        learned JSON types and sizes it is keyed by, so sharing cannot mix profiles up."""
        shape = tuple((k, frozenset(a["types"]), a["max_len"]) for k, a in learned.items())
        args = self._shared_args.get(shape)
        if args is None:
            args = {k: self._arg_entry(types, max_len) for k, types, max_len in shape}
            if len(self._shared_args) > 65_536:
                self._shared_args.clear()
            self._shared_args[shape] = args
        return args

    def _arg_entry(self, types: frozenset[str], max_len: int) -> tuple[Any, ...]:
        """``({python type: size limit or None}, JSON types, max size, size limit)`` of one
        learned argument, one object per distinct (types, max size)."""
        entry = self._shared_entries.get((types, max_len))
        if entry is None:
            lim = max(64, 4 * max_len)
            by_type = {pt: (lim if pt in _SIZED else None) for pt, jt in _TYPE_OF.items() if jt in types}
            entry = (by_type, types, max_len, lim)
            if len(self._shared_entries) > 65_536:
                self._shared_entries.clear()
            self._shared_entries[(types, max_len)] = entry
        return entry

    def score(self, action: Action, now: float) -> tuple[float, list[str]]:
        """The departure score of ``action`` from its agent's profile, with the evidence."""
        score, notes = self._assess(action, now)
        if score < 0:
            return score, [f"no baseline for agent '{action.agent}'"]
        return score, self._evidence(action, notes)

    def _assess(self, action: Action, now: float) -> tuple[float, Optional[list[tuple[Any, ...]]]]:
        """The departure score and what made it up, as ``(weight key, details...)`` tuples that
        :meth:`_evidence` turns into text only when a vote needs them (most scores stay below
        every threshold, and formatting is most of the cost). -1.0 for an unknown agent."""
        agent, kind, name = action.agent, action.kind, action.name
        c = self._fast.get((agent, kind, name))
        if c is None:
            c = self._compiled(agent, kind, name)
        if not c:
            return -1.0, None
        known, new_kind, limit, max_rate, box = c
        notes: list[tuple[Any, ...]] = []
        if new_kind:
            notes.append(("unknown_kind",))
        if name:
            if known is None:
                notes.append(("unknown_tool",))
            else:
                for k, v in action.args.items():
                    a = known.get(k)
                    if a is None:
                        notes.append(("new_arg", k))
                        continue
                    lim = a[0].get(type(v), _NOT_KNOWN)
                    if lim is None:  # a known type without a size
                        continue
                    if lim is not _NOT_KNOWN:  # a known sized type
                        if len(v) > lim:
                            notes.append(("arg_length", k, len(v), a[2]))
                        continue
                    tv = type(v)
                    jt = _json_type(v)
                    if jt not in a[1]:
                        notes.append(("arg_type", k, jt, a[1]))
                    if (tv is str or tv is list or tv is dict or tv is tuple) and len(v) > a[3]:
                        notes.append(("arg_length", k, len(v), a[2]))
        # _Rates.count(agent, now, True) on the agent's box
        minute = int(now // _RATE_WINDOW)
        if box[0] != minute:
            box[0], box[1] = minute, 1
        else:
            box[1] += 1
        if box[1] > limit:  # limit >= min_rate
            notes.append(("rate", box[1], max_rate))
        if not notes:
            return 0.0, None
        w = self._weights
        score = 0.0
        for n in notes:
            score += w[n[0]]
        return (score if score < 1.0 else 1.0), notes

    def _evidence(self, action: Action, notes: Optional[list[tuple[Any, ...]]]) -> list[str]:
        out: list[str] = []
        w = self._weights
        for n in notes or ():
            what = n[0]
            if what == "unknown_kind":
                out.append(f"first {action.kind} of this agent (+{w[what]:g})")
            elif what == "unknown_tool":
                out.append(f"unknown {action.kind} '{action.name}' (+{w[what]:g})")
            elif what == "new_arg":
                out.append(f"new argument '{n[1]}' (+{w[what]:g})")
            elif what == "arg_type":
                out.append(f"argument '{n[1]}' is {n[2]}, was {'/'.join(sorted(n[3]))} (+{w[what]:g})")
            elif what == "arg_length":
                out.append(f"argument '{n[1]}' has size {n[2]}, was at most {n[3]} (+{w[what]:g})")
            else:
                out.append(f"{n[1]} actions this minute, baseline at most {n[2]} (+{w[what]:g})")
        return out

    @hookimpl
    def lictor_check_action(self, action: Action, ctx: Any) -> Optional[Decision]:
        if not self.active or action.kind not in self._kinds:
            return None
        now = ctx.clock()
        if self.learning:
            with self._lock:
                self._learn(action, now)
            return None
        score, notes = self._assess(action, now)
        if score < 0:
            if self._unknown_agent == "allow":
                return None
            evidence = [f"no baseline for agent '{action.agent}'"]
            why = f"baseline: {evidence[0]} (unknown_agent: {self._unknown_agent})"
            return Decision.vote(self._unknown_agent, why, rule_id="baseline", risks=self.risks,
                                 evidence=tuple(evidence))
        if notes is None:
            return None
        for threshold, effect in self._thresholds:
            if score >= threshold:
                evidence = self._evidence(action, notes)
                why = f"baseline: departure score {score:.2f} >= {threshold:g} ({'; '.join(evidence)})"
                return Decision.vote(effect, why, rule_id="baseline", risks=self.risks, evidence=tuple(evidence))
        return None

    # -- quarantine -------------------------------------------------------------------------
    @hookimpl
    def lictor_on_decision(self, action: Action, decision: Decision, ctx: Any) -> None:
        q = self._quarantine
        if q is None or not self.active or decision.verdict != "deny" or not decision.enforced:
            return
        if "kill_switch" in decision.rule_ids:
            return
        n, within, only_baseline = q
        if only_baseline and "baseline" not in decision.rule_ids:
            return
        agent = action.agent
        if n > 1 and self._state.hit(f"baseline:denials:{agent}", n - 1, within, ctx.clock()):
            return
        self._gov.kill_switch.engage(
            f"quarantined by baseline: {n} denied actions within {within:g}s; a human must release it "
            f"(gov.kill_switch.release(agent={agent!r}))", agent=agent)

    @hookimpl
    def lictor_shutdown(self, ctx: Any) -> None:
        if self.active and self.learning and self._path is not None:
            self.save()
