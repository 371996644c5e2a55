"""ASI07 inter-agent communication: messages and handoffs carry an HMAC-SHA256 signature.

Adapters sign what an agent sends with :class:`MessageSigner` and attach the result to the
action's metadata; this protection verifies it on ``message`` and ``handoff`` actions::

    from lictor.protections.message_signing import MessageSigner

    signer = MessageSigner(os.environ["LICTOR_MESSAGE_KEY"])
    meta = signer.sign(sender="planner", recipient="executor", content=text)   # {"signature": {...}}
    gov.check(lictor.Action(kind="message", agent="planner", name="executor", content=text,
                            metadata={**meta, "framework": "..."}))

The MAC covers a version tag, the sender, the recipient, a random nonce, the timestamp and the
SHA-256 of the canonical content (the text; for a handoff without text, the canonical JSON of
its arguments). Refused: unsigned messages, a wrong MAC (forged or altered), a sender or
recipient that differs from the action's agent / name (misattributed or misaddressed), a
timestamp outside the window, and a nonce seen before (replay). The nonce cache is bounded;
when it overflows, messages older than the oldest remembered nonce are refused too, so a replay
never slips through an eviction. The key is read from the environment variable the policy
names (``key_env``) and is never logged or put in a reason.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
import time
from collections import OrderedDict
from typing import Any, Callable, Mapping, Optional, Union

import orjson

from ..hookspecs import hookimpl
from ..models import Action, Decision
from ._common import KindScoped, Section, glob_matcher

__all__ = ["MessageSigner", "MessageSigningPlugin", "canonical_content", "resolve_signer", "VERSION"]

VERSION = "lictor-msg/1"
_MIN_KEY_BYTES = 16


def canonical_content(content: Any) -> bytes:
    """The bytes a signature covers for ``content``: UTF-8 text, raw bytes, or the canonical
    JSON (sorted keys) of anything else (``None`` is the empty string)."""
    if content is None:
        return b""
    if isinstance(content, str):
        return content.encode("utf-8")
    if isinstance(content, (bytes, bytearray)):
        return bytes(content)
    return orjson.dumps(content, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)


def _as_key(key: Union[str, bytes]) -> bytes:
    k = key.encode("utf-8") if isinstance(key, str) else bytes(key)
    if len(k) < _MIN_KEY_BYTES:
        raise ValueError(f"a signing key needs at least {_MIN_KEY_BYTES} bytes")
    return k


def _mac(key: bytes, sender: str, recipient: str, nonce: str, ts_ms: int, content: Any) -> str:
    digest = hashlib.sha256(canonical_content(content)).hexdigest()
    msg = orjson.dumps([VERSION, sender, recipient, nonce, ts_ms, digest])
    return hmac.new(key, msg, hashlib.sha256).hexdigest()


class MessageSigner:
    """Signs inter-agent messages for adapters (and verifies a signature's MAC).

    :param key: the shared secret (at least 16 bytes), e.g. ``os.environ["LICTOR_MESSAGE_KEY"]``.
    :param clock: seconds since the epoch (tests may pass their own).
    """

    __slots__ = ("_key", "_clock")

    def __init__(self, key: Union[str, bytes], *, clock: Callable[[], float] = time.time) -> None:
        self._key = _as_key(key)
        self._clock = clock

    def __repr__(self) -> str:  # never show the key
        return "MessageSigner(key=<hidden>)"

    def sign(self, sender: str, recipient: str, content: Any) -> dict[str, Any]:
        """The metadata to attach to the message's Action: ``{"signature": {...}}``.

        ``content`` is the message text (for a handoff without text: its arguments dict), exactly
        as it will be put on the Action.
        """
        nonce = secrets.token_hex(16)
        ts_ms = int(self._clock() * 1000)
        return {"signature": {
            "v": VERSION, "alg": "HMAC-SHA256", "sender": sender, "recipient": recipient,
            "nonce": nonce, "ts": ts_ms, "mac": _mac(self._key, sender, recipient, nonce, ts_ms, content),
        }}

    def verify(self, signature: Mapping[str, Any], sender: str, recipient: str, content: Any) -> bool:
        """Whether the MAC of ``signature`` is right for this sender, recipient and content
        (no time window or replay check: the plugin does those)."""
        return _verify_mac((self._key,), signature, sender, recipient, content) is None


def _verify_mac(keys: tuple[bytes, ...], sig: Mapping[str, Any], sender: str, recipient: str,
                content: Any) -> Optional[str]:
    """None when the MAC is valid for one of ``keys``, else what is wrong."""
    nonce, ts, mac = sig.get("nonce"), sig.get("ts"), sig.get("mac")
    if sig.get("v") != VERSION:
        return f"signature version {sig.get('v')!r} is not {VERSION!r}"
    if not isinstance(nonce, str) or not 16 <= len(nonce) <= 128:
        return "signature nonce is missing or malformed"
    if isinstance(ts, bool) or not isinstance(ts, int):
        return "signature timestamp is missing or not an integer (milliseconds)"
    if not isinstance(mac, str):
        return "signature MAC is missing"
    try:
        for key in keys:
            if hmac.compare_digest(_mac(key, sender, recipient, nonce, ts, content), mac):
                return None
    except (TypeError, orjson.JSONEncodeError) as exc:
        return f"content cannot be canonicalised ({exc})"
    return "signature does not match (forged, or the message was altered)"


class MessageSigningPlugin(KindScoped):
    """Verifies HMAC signatures on messages and handoffs (ASI07). Registered as
    ``message_signing``; inactive without a ``protections.message_signing`` section."""

    name = "message_signing"
    risks = ("ASI07",)

    def __init__(self) -> None:
        self.active = False
        self._keys: tuple[bytes, ...] = ()
        self._kinds: frozenset[str] = frozenset()
        self._max_age = 300.0
        self._skew = 30.0
        self._max_nonces = 100_000
        self._exempt: Callable[[str], bool] = lambda s: False
        self._effect = "deny"
        self._nonces: "OrderedDict[str, float]" = OrderedDict()
        self._floor = 0.0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return "MessageSigningPlugin(keys=<hidden>)"

    @hookimpl
    def lictor_configure(self, policy: Any, ctx: Any) -> None:
        sec = Section(policy, self.name)
        self.active = sec.present
        if not self.active:
            return
        keys: list[bytes] = []
        for field, required in (("key_env", True), ("previous_key_env", False)):
            env = sec.string(field) if required else sec.string(field, None)
            if not env:
                continue
            value = os.environ.get(env)
            if value is None:
                sec.error(field, f"environment variable {env} is not set (it must hold the signing key)")
            elif len(value.encode("utf-8")) < _MIN_KEY_BYTES:
                sec.error(field, f"the key in environment variable {env} is shorter than {_MIN_KEY_BYTES} bytes")
            else:
                keys.append(value.encode("utf-8"))
        self._kinds = sec.kinds("on", ("message", "handoff"))
        self._max_age = sec.duration("max_age", "300s")
        self._skew = sec.duration("max_skew", "30s")
        self._max_nonces = sec.integer("max_nonces", 100_000, minimum=1)
        exempt = sec.strings("exempt_senders", ())
        self._exempt = glob_matcher(exempt) if exempt else (lambda s: False)
        self._effect = sec.effect()
        sec.done(("key_env", "previous_key_env", "on", "max_age", "max_skew", "max_nonces", "exempt_senders", "effect"))
        sec.raise_problems()
        self._keys = tuple(keys)
        self._nonces = OrderedDict()
        self._floor = 0.0

    def _refuse(self, action: Action, why: str) -> Decision:
        reason = f"message_signing: {action.kind} from '{action.agent}' to '{action.name}' refused: {why}"
        return Decision.vote(self._effect, reason, rule_id="message_signing", risks=self.risks)

    # tryfirst: the signature covers what the sender wrote, so it is checked before any other
    # plugin rewrites the content (a redaction by `secrets` would otherwise read as tampering).
    @hookimpl(tryfirst=True)
    def lictor_check_action(self, action: Action, ctx: Any) -> Optional[Decision]:
        if not self.active or action.kind not in self._kinds:
            return None
        if self._exempt(action.agent):
            return None
        sig = action.metadata.get("signature") if action.metadata else None
        if not isinstance(sig, Mapping):
            return self._refuse(action, "unsigned (no metadata.signature from MessageSigner.sign)")
        sender, recipient = sig.get("sender"), sig.get("recipient")
        if sender != action.agent:
            return self._refuse(action, f"signed by {sender!r}, but sent as '{action.agent}' (misattributed)")
        if recipient != action.name:
            return self._refuse(action, f"signed for {recipient!r}, but addressed to '{action.name}' (misaddressed)")
        content = action.content if action.content is not None else action.args
        problem = _verify_mac(self._keys, sig, action.agent, action.name, content)
        if problem is not None:
            return self._refuse(action, problem)
        now = ctx.clock()
        ts = sig["ts"] / 1000.0
        if ts < now - self._max_age:
            return self._refuse(action, f"signed {now - ts:.0f}s ago, older than max_age {self._max_age:g}s")
        if ts > now + self._skew:
            return self._refuse(action, f"signed {ts - now:.0f}s in the future (max_skew {self._skew:g}s)")
        nonce = sig["nonce"]
        with self._lock:
            cache = self._nonces
            edge = now - self._max_age - self._skew
            while cache:
                first = next(iter(cache.values()))
                if first > edge:
                    break
                cache.popitem(last=False)
            if nonce in cache:
                return self._refuse(action, "nonce already used (replayed message)")
            if ts <= self._floor:
                return self._refuse(action, "older than the oldest nonce the replay cache still holds")
            cache[nonce] = ts
            while len(cache) > self._max_nonces:
                _, evicted_ts = cache.popitem(last=False)
                self._floor = max(self._floor, evicted_ts)
        return None


def resolve_signer(gov: Any, signer: Optional["MessageSigner"] = None) -> Optional["MessageSigner"]:
    """The signer an adapter should use: ``signer`` when given, else one keyed from the
    environment variable the policy's ``message_signing.key_env`` names, else None (the policy
    does not verify signatures, so messages go unsigned).

    Adapters call this so that a policy with ``message_signing`` on needs no extra argument.
    """
    if signer is not None:
        if not callable(getattr(signer, "sign", None)):
            raise TypeError(f"signer must be a lictor MessageSigner, got {type(signer).__name__}")
        return signer
    section = gov.policy.section("message_signing")
    if not isinstance(section, Mapping):
        return None
    env = section.get("key_env")
    key = os.environ.get(env) if isinstance(env, str) else None
    return MessageSigner(key) if key else None
