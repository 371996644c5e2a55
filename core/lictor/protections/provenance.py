"""``provenance`` (ASI01/ASI02, DESIGN §3b): did this argument value come only from untrusted text?

The protection keeps, per session, the values (IBANs, account and phone numbers, e-mail
addresses, URLs and domains, optionally file paths and amounts) seen in untrusted text (tool
outputs, content labelled ``tool``/``retrieval``/``agent``/``memory``) and in trusted text (content
labelled ``user``/``system``, outputs of ``trusted_tools``). A tool call whose argument carries a
value that was seen in untrusted text and never in trusted text is where an injected "send the
money to X" shows up, however harmless the injected sentence looked: the policy sends it to a
human or refuses it.

Memory is bounded: ``max_sessions`` sessions (least recently used dropped), ``max_values``
values per session and side (oldest dropped), values older than ``ttl`` ignored. A session
that has seen no untrusted value costs one dictionary lookup per tool call.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from typing import Any, Iterable, Iterator, Optional

from stdnum import iban as _stdnum_iban

from ..hookspecs import hookimpl
from ..models import Action, Decision
from ._common import (
    TRUSTED_SOURCES,
    UNTRUSTED_SOURCES,
    BoundedSessions,
    Section,
    glob_matcher,
    iter_strings,
    session_key,
    source_of,
)

__all__ = ["ProvenanceProtection", "extract_values", "VALUE_KINDS"]

#: Value kinds the protection can track (``kinds:``).
VALUE_KINDS = ("iban", "account", "email", "url", "domain", "phone", "path", "amount")
_DEFAULT_KINDS = ("iban", "account", "email", "url", "domain", "phone")
PLUGIN_DATA_KEY = "lictor.provenance"

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,24}")
_URL = re.compile(r"\b(?:https?|ftp|wss?)://[^\s<>\"'`)\]}]+", re.I)
_TLDS = (
    "com|net|org|io|co|biz|info|xyz|top|app|dev|ai|me|us|uk|de|fr|nl|be|es|it|ch|at|se|no|dk|fi|pl|cz|ru|cn|jp|kr|in|br|"
    "au|ca|eu|online|site|shop|store|tech|cloud|live|link|click|support|help|pay|money|finance|bank|email|services|"
    "zip|mov|tk|ml|ga|cf|gq|cc|tv|ly|gg|sh|to|ws|su|ir|ng|pw|icu|cyou|buzz|rest|fit|vip"
)
_DOMAIN = re.compile(rf"(?<![A-Za-z0-9@._-])(?:[A-Za-z0-9](?:[A-Za-z0-9-]{{0,61}}[A-Za-z0-9])?\.)+(?:{_TLDS})(?![A-Za-z0-9-]|\.[A-Za-z0-9])", re.I)
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b|\b[a-z]{2}\d{2}(?: ?[a-z0-9]){11,30}\b")


def _valid_iban_prefix(raw: str) -> Optional[str]:
    """The IBAN in a match that may have run on into the next words ("gb33 bukb … as requested":
    letters and digits look alike once lower-cased): the longest run of its space-separated
    parts that passes the IBAN check, upper-cased, or None."""
    parts = raw.split(" ")
    while parts:
        v = "".join(parts).upper()
        if len(v) < 15:
            return None
        if len(v) <= 34 and _stdnum_iban.is_valid(v):
            return v
        parts.pop()
    return None


_DIGITS = re.compile(r"(?<![\w.,])\+?\(?\d(?:[ ()./-]{0,2}\d){6,33}(?![\w])")
_PATH = re.compile(r"(?<![\w:/.])(?:~|\.{1,2})?(?:/[\w.@-]+){2,}/?|\b[A-Za-z]:\\(?:[\w. -]+\\)*[\w. -]+")
_AMOUNT = re.compile(r"(?<![\w.])\d{1,3}(?:[,\u202f' ]\d{3})+(?:\.\d+)?(?![\w])|(?<![\w.,])\d+(?:\.\d+)?(?![\w])")


def _norm_digits(s: str) -> str:
    d = "".join(c for c in s if c.isdigit())
    return d[-9:] if len(d) > 9 else d


def _norm_amount(s: str) -> Optional[str]:
    t = s.replace(",", "").replace("\u202f", "").replace("'", "").replace(" ", "")
    try:
        v = float(t)
    except ValueError:
        return None
    return f"{v:.2f}"


def _host(url: str) -> str:
    rest = url.split("://", 1)[-1]
    host = re.split(r"[/?#]", rest, 1)[0].rsplit("@", 1)[-1].split(":", 1)[0].lower().rstrip(".")
    return host[4:] if host.startswith("www.") else host


def extract_values(text: str, kinds: frozenset[str]) -> Iterator[tuple[str, str, str]]:
    """``(kind, normalised value, as written)`` for every trackable value in ``text``."""
    if "email" in kinds or "domain" in kinds:
        for m in _EMAIL.finditer(text):
            v = m.group(0)
            if "email" in kinds:
                yield "email", v.lower(), v
    if "url" in kinds or "domain" in kinds:
        for m in _URL.finditer(text):
            v = m.group(0).rstrip(".,;:!?")
            if "url" in kinds:
                yield "url", v.lower().rstrip("/"), v
            if "domain" in kinds:
                h = _host(v)
                if h:
                    yield "domain", h, h
    if "domain" in kinds and "." in text:
        for m in _DOMAIN.finditer(text):
            h = m.group(0).lower()
            yield "domain", h[4:] if h.startswith("www.") else h, m.group(0)
    if "iban" in kinds:
        for m in _IBAN.finditer(text):
            raw = m.group(0)
            v = _valid_iban_prefix(raw)
            if v is None:
                v = raw.replace(" ", "")
                # gb33bukb… : the model lower-cased it; only a valid IBAN counts
                if not v.isupper() or not 15 <= len(v) <= 34:
                    continue
            yield "iban", v, raw
    if "account" in kinds or "phone" in kinds:
        for m in _DIGITS.finditer(text):
            raw = m.group(0)
            if sum(c.isdigit() for c in raw) >= 7:
                yield "number", _norm_digits(raw), raw
    if "path" in kinds and ("/" in text or "\\" in text):
        for m in _PATH.finditer(text):
            v = m.group(0)
            if "://" not in text[max(0, m.start() - 8):m.start() + 1]:
                yield "path", v.rstrip("/").lower(), v
    if "amount" in kinds:
        for m in _AMOUNT.finditer(text):
            a = _norm_amount(m.group(0))
            if a is not None and float(a) >= 10:
                yield "amount", a, m.group(0)


class _Memory:
    __slots__ = ("untrusted", "trusted", "lock")

    def __init__(self) -> None:
        self.untrusted: "OrderedDict[tuple[str, str], tuple[float, str]]" = OrderedDict()
        self.trusted: "OrderedDict[tuple[str, str], float]" = OrderedDict()
        self.lock = threading.Lock()


class ProvenanceProtection:
    """Registered as ``provenance``. Policy section (absent: inactive)::

        provenance:
          effect: approve                # approve | deny
          tools: ["*"]                   # tool names (globs) whose arguments are checked
          args: []                       # argument names to check (default: all)
          kinds: [iban, account, email, url, domain, phone]   # also: path, amount
          trusted_tools: [lookup_contact] # outputs of these tools count as trusted
          max_sessions: 10000
          max_values: 2000               # per session and side (untrusted / trusted)
          ttl: 1h                        # values older than this are forgotten
    """

    name = "provenance"

    def __init__(self) -> None:
        self.active = False
        self.effect = "approve"
        self.tool = glob_matcher(["*"])
        self.args: Optional[frozenset[str]] = None
        self.kinds: frozenset[str] = frozenset(_DEFAULT_KINDS)
        self.trusted_tool = glob_matcher([])
        self.max_values = 2000
        self.ttl = 3600.0
        self.sessions = BoundedSessions(10_000, 3600.0, _Memory)

    @hookimpl
    def lictor_configure(self, policy: Any, ctx: Any) -> None:
        sec = Section(policy, self.name)
        self.active = sec.present
        if not sec.present:
            return
        self.effect = sec.choice("effect", ("approve", "deny"), "approve")
        self.tool = glob_matcher(sec.strings("tools", ["*"]))
        args = sec.strings("args")
        self.args = frozenset(args) if args else None
        self.kinds = frozenset(sec.strings("kinds", _DEFAULT_KINDS, VALUE_KINDS))
        self.trusted_tool = glob_matcher(sec.strings("trusted_tools"))
        max_sessions = sec.integer("max_sessions", 10_000, minimum=1, maximum=10_000_000)
        self.max_values = sec.integer("max_values", 2000, minimum=1, maximum=1_000_000)
        self.ttl = sec.duration("ttl", 3600.0)
        sec.finish(("effect", "tools", "args", "kinds", "trusted_tools", "max_sessions", "max_values", "ttl"))
        self.sessions = BoundedSessions(max_sessions, self.ttl, _Memory)
        ctx.plugin_data[PLUGIN_DATA_KEY] = self

    # -- recording -------------------------------------------------------------------------------
    def record(self, key: str, texts: Iterable[str], trusted: bool, where: str, now: float) -> int:
        """Remember the values in ``texts`` for session ``key``; returns how many were found."""
        found: list[tuple[str, str]] = []
        for t in texts:
            if t:
                found.extend((k, v) for k, v, _ in extract_values(t, self.kinds))
        if not found:
            return 0
        mem = self.sessions.touch(key, now)
        with mem.lock:
            side = mem.trusted if trusted else mem.untrusted
            for kv in found:
                side[kv] = now if trusted else (now, where)  # type: ignore[assignment]
                side.move_to_end(kv)
            while len(side) > self.max_values:
                side.popitem(last=False)
        return len(found)

    def untrusted_only(self, key: str, values: Iterable[tuple[str, str, str]], now: float) -> list[tuple[str, str, str]]:
        """The ``(kind, value, where seen)`` among ``values`` seen only in untrusted text."""
        mem = self.sessions.peek(key, now)
        if mem is None or not mem.untrusted:
            return []
        out = []
        cutoff = now - self.ttl
        seen: set[tuple[str, str]] = set()
        for kind, v, shown in values:
            kv = (kind, v)
            if kv in seen:
                continue
            seen.add(kv)
            u = mem.untrusted.get(kv)
            if u is None or u[0] < cutoff:
                continue
            t = mem.trusted.get(kv)
            if t is not None and t >= cutoff:
                continue
            out.append((kind, shown, u[1]))
        return out

    def trusted_all(self, key: str, values: Iterable[tuple[str, str, str]], now: float) -> bool:
        """Were all of ``values`` (at least one) seen in trusted text of this session?"""
        mem = self.sessions.peek(key, now)
        if mem is None or not mem.trusted:
            return False
        cutoff = now - self.ttl
        any_value = False
        for kind, v, _ in values:
            t = mem.trusted.get((kind, v))
            if t is None or t < cutoff:
                return False
            any_value = True
        return any_value

    # -- hooks -------------------------------------------------------------------------------------
    @hookimpl
    def lictor_check_action(self, action: Action, ctx: Any) -> Optional[Decision]:
        if not self.active:
            return None
        kind = action.kind
        # Text to remember (its source label is read only then: most tool calls have no text)
        if action.content or (kind != "tool_call" and action.args):
            src = source_of(action)
            if src is not None:
                texts = [action.content] if action.content else []
                if kind != "tool_call":
                    texts.extend(iter_strings(action.args))
                if src in TRUSTED_SOURCES:
                    self.record(session_key(action), texts, True, f"{src} {kind}", ctx.clock())
                elif src in UNTRUSTED_SOURCES:
                    self.record(session_key(action), texts, False, f"{src} {kind} '{action.name}'", ctx.clock())
        if kind != "tool_call" or not self.sessions._d or not action.args or not self.tool(action.name):
            return None  # (no session has recorded anything yet: nothing can be untrusted)
        now = ctx.clock()
        key = session_key(action)
        mem = self.sessions.peek(key, now)
        if mem is None or not mem.untrusted:
            return None
        flagged = self.untrusted_only(key, self._arg_values(action.args), now)
        if not flagged:
            return None
        shown = "; ".join(f"{k} {_show(k, v)} (seen in {w})" for k, v, w in flagged[:5])
        reason = (f"argument value(s) of tool '{action.name}' appear only in untrusted text, not in the user's request: "
                  f"{shown}")
        return Decision.vote(self.effect, reason, rule_id="provenance", risks=("ASI01", "ASI02"),
                             evidence=tuple(f"provenance: {k} {_show(k, v)} from {w}" for k, v, w in flagged))

    @hookimpl
    def lictor_check_output(self, action: Action, output: Any, ctx: Any) -> Optional[Decision]:
        if not self.active or output is None:
            return None
        src = source_of(action)
        if action.kind in ("tool_call", "code_exec"):
            trusted = self.trusted_tool(action.name)
        elif src in UNTRUSTED_SOURCES:
            trusted = False
        else:
            return None  # a model's own answer is neither the user's words nor a third party's
        self.record(session_key(action), iter_strings(output), trusted, f"output of {action.kind} '{action.name}'", ctx.clock())
        return None

    def _arg_values(self, args: dict[str, Any]) -> Iterator[tuple[str, str, str]]:
        for name, value in args.items():
            if self.args is not None and name not in self.args:
                continue
            yield from self._values_of(value, 0)

    def _values_of(self, value: Any, depth: int) -> Iterator[tuple[str, str, str]]:
        if isinstance(value, str):
            yield from extract_values(value, self.kinds)
        elif isinstance(value, bool) or value is None:
            return
        elif isinstance(value, (int, float)):
            if "amount" in self.kinds and abs(value) >= 10:
                yield "amount", f"{float(value):.2f}", str(value)
            if ("account" in self.kinds or "phone" in self.kinds) and isinstance(value, int) and value >= 1_000_000:
                yield "number", _norm_digits(str(value)), str(value)
        elif depth < 6 and isinstance(value, dict):
            for v in value.values():
                yield from self._values_of(v, depth + 1)
        elif depth < 6 and isinstance(value, (list, tuple)):
            for v in value:
                yield from self._values_of(v, depth + 1)


def _show(kind: str, value: str) -> str:
    if kind in ("number", "iban") and len(value) > 8:
        return f"{value[:4]}…{value[-4:]}"
    return value if len(value) <= 80 else value[:79] + "…"
