"""``secrets`` (ASI03): API keys, tokens, private keys and passwords in URLs, found in tool-call
arguments (deny or redact) and in outputs and message content (redact).

A leaked credential in an argument is how an agent hands a key to someone else's server; one in
a tool result is how it ends up in the model's context, its memory and the audit trail. The
detectors are fixed-format patterns of the well-known issuers plus two generic ones (a
``key=value`` assignment with a secret-sounding name, and a long random-looking token), so a scan
costs one pass of a few regular expressions; no network, no model.

Module name ``secret_scan`` (not ``secrets``) so it never shadows the standard library module.
"""

from __future__ import annotations

import math
import re
from typing import Any, Optional

from ..hookspecs import hookimpl
from ..models import Action, Decision
from ._common import Section, iter_strings, map_strings

__all__ = ["SecretsProtection", "find_secrets", "mask_secrets", "DETECTORS"]

# name -> pattern; group "s" (when present) is the secret part to mask, else the whole match.
_PATTERNS: dict[str, str] = {
    "private_key": r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----(?:[\s\S]*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|[\s\S]*)",
    "aws_access_key": r"\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b",
    "github_token": r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b",
    "gitlab_token": r"\bglpat-[A-Za-z0-9_\-]{20,}\b",
    "slack_token": r"\bxox[abposr]-[A-Za-z0-9-]{10,}|https://hooks\.slack\.com/services/[A-Za-z0-9/]{20,}",
    "stripe_key": r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}\b|\bwhsec_[A-Za-z0-9]{20,}\b",
    "openai_key": r"\bsk-(?:proj-|ant-(?:api\d\d-)?)?[A-Za-z0-9_\-]{32,}",
    "google_api_key": r"\bAIza[0-9A-Za-z_\-]{35}\b",
    "huggingface_token": r"\bhf_[A-Za-z]{34}\b",
    "npm_token": r"\bnpm_[A-Za-z0-9]{36}\b",
    "pypi_token": r"\bpypi-AgEIcHlwaS5vcmc[A-Za-z0-9_\-]{50,}",
    "sendgrid_key": r"\bSG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43}\b",
    "twilio_key": r"\bSK[0-9a-f]{32}\b",
    "jwt": r"\beyJ[A-Za-z0-9_\-]{10,}\.eyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}",
    "url_password": r"\b[a-zA-Z][a-zA-Z0-9+.\-]{1,20}://[^\s/:@]{0,64}:(?P<s>[^\s/@]{1,128})@",
    "assignment": (
        r"(?i:(?:\b|_)(?:api[_\-]?key|apikey|secret(?:[_\-]?key)?|access[_\-]?token|auth[_\-]?token|"
        r"client[_\-]?secret|passw(?:or)?d|passwd|pwd|private[_\-]?key|bearer|account[_\-]?key|shared[_\-]?access[_\-]?key)"
        r"[A-Za-z_\-]{0,24})\b[\"']?\s*(?:[:=]|=>)\s*[\"']?"
        r"(?P<s>[^\s\"'<>,;]{8,200})"
    ),
    "password_phrase": r"(?i:\bpass(?:word|phrase)|\bpwd)\s+(?:is|was|:)\s+[\"'`]?(?P<s>[^\s\"'`<>,;]{6,64})",
    "bearer": r"\b[Bb]earer\s+(?P<s>[A-Za-z0-9_\-.=+/]{20,})",
    "basic_auth": r"\b[Bb]asic\s+(?P<s>[A-Za-z0-9+/]{8,}={0,2})(?![A-Za-z0-9+/=])",
    "high_entropy": r"(?<![A-Za-z0-9+/_\-])(?P<s>[A-Za-z0-9+/_\-]{32,120}={0,2})(?![A-Za-z0-9+/_\-])",
}

#: Detector names accepted in ``protections.secrets.detectors``.
DETECTORS: tuple[str, ...] = tuple(_PATTERNS) + ("named_argument",)

# Every detector needs a run of 16+ token characters, a URL with user-info, or a secret-sounding
# word: three cheap tests that let ordinary text skip the full scan (about 1 µs for a sentence).
_RUN = re.compile(r"[A-Za-z0-9+/_\-]{16}")
_WORDS = re.compile(r"key|secret|token|passw|pwd|bearer|private")


# ASCII text (nearly all arguments) takes a faster route to the same answer: the bytes mapped
# to "1" for a token character and "0" otherwise, searched for sixteen "1"s in a row (C speed,
# where the regex tries every start position), and the secret-sounding words as substrings.
_TOKEN_BYTES = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-"
_TOKEN_TABLE = bytes(0x31 if i in _TOKEN_BYTES else 0x30 for i in range(256))
_RUN_ONES = "1" * 16
# Strings found not to need a scan, remembered (bounded) so that values agents repeat — targets,
# modes, canned notes — cost one dict lookup. Only negatives are kept: never a possible secret.
_CLEAN: dict[str, bool] = {}
_CLEAN_MAX = 4096
_CLEAN_LEN = 512


def _candidate_uncached(text: str) -> bool:
    if text.isascii():
        if _RUN_ONES in text.encode("ascii").translate(_TOKEN_TABLE).decode("ascii"):
            return True
        if "@" in text and "://" in text:
            return True
        t = text.lower()
        return ("key" in t or "secret" in t or "token" in t or "passw" in t or "pwd" in t or "bearer" in t
                or "private" in t)
    if _RUN.search(text) is not None:
        return True
    if "@" in text and "://" in text:
        return True
    return _WORDS.search(text.lower()) is not None


def _candidate(text: str) -> bool:
    """Could ``text`` hold a secret? (False: no detector can match it; True: scan it.)"""
    n = len(text)
    if n < 8:
        return False
    if n <= _CLEAN_LEN:
        if text in _CLEAN:
            return False
        if _candidate_uncached(text):
            return True
        if len(_CLEAN) >= _CLEAN_MAX:
            _CLEAN.clear()
        _CLEAN[text] = True
        return False
    return _candidate_uncached(text)

# Documentation placeholders and examples anywhere in a value (AKIAIOSFODNN7EXAMPLE,
# sk-...your-key-here, ghp_xxxxxxxx...): never a live credential.
_PLACEHOLDER_PART = re.compile(r"(?i)example|x{8,}|\*{4,}|\.\.\.|your[_\-]|<[^>]*>|\$\{|\{\{|placeholder|redacted")
# Public values that look random: publishable keys, subresource-integrity hashes.
_PUBLIC_PREFIXES = ("pk_live_", "pk_test_", "sha256-", "sha384-", "sha512-")
_PLACEHOLDERS = re.compile(r"(?i)^(?:x+|\*+|\.+|<[^>]*>|\$\{[^}]*\}|\{\{[^}]*\}\}|%[a-z_]+%|changeme|password|redacted|\[redacted\]|null|none|true|false|example\w*|your[_\-]?\w*)$")


def _entropy(s: str) -> float:
    counts: dict[str, int] = {}
    for ch in s:
        counts[ch] = counts.get(ch, 0) + 1
    n = len(s)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def _looks_random(tok: str, min_entropy: float) -> bool:
    t = tok.rstrip("=")
    if len(t) < 32:
        return False
    has_upper = any(c.isupper() for c in t)
    has_lower = any(c.islower() for c in t)
    has_digit = any(c.isdigit() for c in t)
    if not (has_upper and has_lower and has_digit):
        return False  # hex digests, UUIDs, words_with_underscores, camelCaseIdentifiers
    if t.count("/") >= 2 and not any(c.isdigit() for c in t):
        return False  # a path
    if re.search(r"[a-z]{5,}", t) and len(re.findall(r"[A-Z][a-z]{2,}", t)) >= 3:
        return False  # CamelCaseIdentifierNames
    return _entropy(t) >= min_entropy


def _password_like(v: str) -> bool:
    """A word after "password is" that is a password, not prose ("is required", "is case-sensitive")."""
    v = v.rstrip(".!?")
    return len(v) >= 6 and any(c.isalpha() for c in v) and (any(c.isdigit() for c in v) or not v.isalnum())


def _basic_credentials(v: str) -> bool:
    import base64
    import binascii

    try:
        raw = base64.b64decode(v + "=" * (-len(v) % 4), validate=True).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return False
    user, sep, pw = raw.partition(":")
    return bool(sep and pw and raw.isprintable())


# Argument names that say the value is a credential ({"password": "Winter2024!"}): the value
# is secret whatever it looks like. Names of references, counts and pagination cursors are not.
_SECRET_NAME = re.compile(
    r"(?:^|_)(?:password|passwd|passphrase|pwd|pass|secret|client_secret|api_key|apikey|access_token|auth_token|"
    r"refresh_token|id_token|session_token|bearer_token|token|private_key|secret_key|access_key_secret|"
    r"secret_access_key|authorization|x_api_key|credential|credentials|account_key|sas_token)$")
_NOT_SECRET_NAME = re.compile(r"(?:^|_)(?:page|next|next_page|continuation|pagination|sync|cursor|csrf|xsrf|max|num|"
                              r"total|count|stop|start|end|reset|verification)_token$")
_NAME_CACHE: dict[str, bool] = {}


def secret_name(key: str) -> bool:
    """Does an argument named ``key`` hold a credential? (``apiKey``, ``db_password``, ``x-api-key``)"""
    hit = _NAME_CACHE.get(key)
    if hit is None:
        k = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", key).lower().replace("-", "_").replace(".", "_")
        hit = bool(_SECRET_NAME.search(k)) and not _NOT_SECRET_NAME.search(k)
        if len(_NAME_CACHE) > 4096:
            _NAME_CACHE.clear()
        _NAME_CACHE[key] = hit
    return hit


def _named_value_secret(v: Any) -> bool:
    if not isinstance(v, str) or not 6 <= len(v) <= 4096:
        return False
    t = v.strip()
    if _PLACEHOLDERS.match(t.strip("\"'")) or _PLACEHOLDER_PART.search(t):
        return False
    if t.startswith(("arn:", "$", "env:", "vault:", "secret://", "projects/", "http://", "https://", "file:")):
        return False  # a reference to where the secret lives
    if " " in t and not t.lower().startswith(("bearer ", "basic ", "token ")):
        return False  # prose ("min 12 characters"), not a credential
    return len(set(t)) > 2


def _map_named(value: Any, key: Optional[str], hits: list[str], replace: Optional[str], depth: int = 0) -> Any:
    """Find (and with ``replace``, mask) string values under credential-named keys."""
    if depth > 20:
        return value
    if isinstance(value, dict):
        out: Optional[dict[Any, Any]] = None  # copied on the first change only: most calls change nothing
        known = _NAME_CACHE.get  # secret_name()'s own cache, read inline: this runs on every call
        for k, v in value.items():
            named = known(k)
            if named is None:
                named = isinstance(k, str) and secret_name(k)
            if named and _named_value_secret(v):
                hits.append("named_argument")
                nv: Any = replace if replace is not None else v
            elif isinstance(v, (dict, list, tuple)):
                nv = _map_named(v, k if isinstance(k, str) else None, hits, replace, depth + 1)
            else:
                continue
            if nv is not v:
                if out is None:
                    out = dict(value)
                out[k] = nv
        return value if out is None else out
    if isinstance(value, (list, tuple)):
        items = [_map_named(v, key, hits, replace, depth + 1) if isinstance(v, (dict, list, tuple)) else v for v in value]
        if all(a is b for a, b in zip(items, value)):
            return value
        return type(value)(items) if isinstance(value, tuple) else items
    return value


class _Scanner:
    def __init__(self, detectors: list[str], min_entropy: float, ignore: list[str]) -> None:
        parts = [f"(?P<{name}>{_PATTERNS[name]})" for name in detectors]
        # named groups "s" repeat across alternatives: rename per detector
        joined = "|".join(p.replace("(?P<s>", f"(?P<{n}_s>") for p, n in zip(parts, detectors))
        self.rx = re.compile(joined)
        self.names = detectors
        self.min_entropy = min_entropy
        self.ignore = frozenset(ignore)
        self.active = bool(detectors)
        self.basic = "basic_auth" in detectors

    def find(self, text: str) -> list[tuple[str, int, int]]:
        """``(detector, start, end)`` of every secret in ``text`` (the part to mask)."""
        if not self.active or not text or not (_candidate(text) or (self.basic and "asic " in text)):
            return []
        out: list[tuple[str, int, int]] = []
        for m in self.rx.finditer(text):
            kind = m.lastgroup
            if kind is None:
                continue
            if kind.endswith("_s"):
                kind = kind[:-2]
            sub = m.group(kind + "_s") if (kind + "_s") in self.rx.groupindex else None
            if sub is not None:
                start, end = m.span(kind + "_s")
            else:
                start, end = m.span(kind)
            value = text[start:end]
            if value in self.ignore:
                continue
            if kind == "high_entropy" and (not _looks_random(value, self.min_entropy) or value.startswith(_PUBLIC_PREFIXES)
                                           or text.endswith("base64,", 0, start)):
                continue  # data: URLs carry images, not keys
            if kind in ("assignment", "url_password", "bearer", "password_phrase") and _PLACEHOLDERS.match(value.strip("\"'")):
                continue
            if kind == "assignment" and text.startswith("arn:", max(text.rfind(" ", 0, m.start()), text.rfind("\n", 0, m.start())) + 1):
                continue  # arn:aws:secretsmanager:…:secret:name names a secret, it is not one
            if kind == "password_phrase" and not _password_like(value):
                continue
            if kind == "basic_auth" and not _basic_credentials(value):
                continue
            if _PLACEHOLDER_PART.search(value) and kind != "private_key":
                continue
            out.append((kind, start, end))
        return out

    def mask(self, text: str, replacement: str = "[SECRET:{kind}]") -> tuple[str, list[str]]:
        found = self.find(text)
        if not found:
            return text, []
        parts = []
        last = 0
        kinds = []
        for kind, s, e in found:
            parts.append(text[last:s])
            parts.append(replacement.format(kind=kind))
            last = e
            kinds.append(kind)
        parts.append(text[last:])
        return "".join(parts), kinds


_DEFAULT = _Scanner(list(_PATTERNS), 4.0, [])


def find_secrets(text: str) -> list[tuple[str, int, int]]:
    """Every secret in ``text`` with all detectors on: ``[(detector, start, end), ...]``."""
    return _DEFAULT.find(text)


def mask_secrets(text: str) -> str:
    """``text`` with every secret replaced by ``[SECRET:<detector>]`` (for evidence and logs)."""
    return _DEFAULT.mask(text)[0]


def _flat_and_clean(args: dict[str, Any]) -> bool:
    """One pass over the common shape, a flat dict of short scalars: True when no key is named
    like a credential and no value could hold a secret, so neither full check needs to run."""
    known = _NAME_CACHE.get
    for k, v in args.items():
        named = known(k)
        if named is None:
            named = isinstance(k, str) and secret_name(k)
        if named:
            return False
        tv = type(v)
        if tv is str:
            # a value already found clean (targets, modes, canned notes) costs no call
            if v not in _CLEAN and _candidate(v):
                return False
        elif not (tv is int or tv is float or tv is bool or v is None):
            return False
    return True


def _args_candidate(args: dict[str, Any]) -> bool:
    """Does any string in the arguments need a full scan? (flat dicts of short values: fast)"""
    for v in args.values():
        tv = type(v)
        if tv is str:
            if _candidate(v):
                return True
        elif tv is int or tv is float or tv is bool or v is None:
            continue
        elif isinstance(v, (dict, list, tuple)):
            for s in iter_strings(v):
                if _candidate(s):
                    return True
        elif isinstance(v, bytes) or not isinstance(v, (int, float, bool, type(None))):
            return True
    return False


class SecretsProtection:
    """Finds credentials in arguments, content and outputs. Registered as ``secrets``.

    Policy section ``protections.secrets`` (absent: inactive)::

        secrets:
          args: deny          # tool-call / code arguments: deny | approve | redact | allow
          content: redact     # content of messages, model calls, model outputs, memory writes
          outputs: redact     # outputs (check_output): redact | deny | allow
          detectors: [aws_access_key, github_token, ...]   # default: all
          min_entropy: 4.0    # bits per character for the generic high_entropy detector
          ignore: ["AKIAIOSFODNN7EXAMPLE"]                 # exact values never reported
          replacement: "[SECRET:{kind}]"
    """

    name = "secrets"
    risks = ("ASI03",)

    def __init__(self) -> None:
        self.active = False
        self.scanner = _DEFAULT
        self.args_effect = "deny"
        self.content_effect = "redact"
        self.outputs_effect = "redact"
        self.replacement = "[SECRET:{kind}]"
        self.named = True

    @hookimpl
    def lictor_configure(self, policy: Any, ctx: Any) -> None:
        sec = Section(policy, self.name)
        self.active = sec.present
        if not sec.present:
            return
        self.args_effect = sec.choice("args", ("deny", "approve", "redact", "allow"), "deny")
        self.content_effect = sec.choice("content", ("deny", "approve", "redact", "allow"), "redact")
        self.outputs_effect = sec.choice("outputs", ("deny", "redact", "allow"), "redact")
        detectors = sec.strings("detectors", DETECTORS, DETECTORS)
        min_entropy = sec.number("min_entropy", 4.0, minimum=2.0, maximum=6.0)
        ignore = sec.strings("ignore")
        self.replacement = sec.take("replacement", "[SECRET:{kind}]")
        if not isinstance(self.replacement, str):
            sec.error("replacement", "must be a string (it may contain {kind})")
        else:
            try:
                self.replacement.format(kind="x")
            except (KeyError, IndexError, ValueError) as e:
                sec.error("replacement", f"may only use the placeholder {{kind}}: {e}")
        sec.finish(("args", "content", "outputs", "detectors", "min_entropy", "ignore", "replacement"))
        self.scanner = _Scanner([d for d in detectors if d != "named_argument"], min_entropy, ignore)
        self.named = "named_argument" in detectors

    # -- checks --------------------------------------------------------------------------------
    @hookimpl
    def lictor_check_action(self, action: Action, ctx: Any) -> Optional[Decision]:
        if not self.active:
            return None
        kinds: list[str] = []
        new_args = action.args
        # nothing to find in flat, clean arguments (the common case): skip both argument checks
        scan_args = bool(new_args) and self.args_effect != "allow" and not _flat_and_clean(new_args)
        if scan_args and self.named:
            hits: list[str] = []
            masked_args = _map_named(action.args, None, hits,
                                     self.replacement.format(kind="named_argument") if self.args_effect == "redact" else None)
            if hits:
                if self.args_effect != "redact":
                    return self._vote(self.args_effect, f"arguments of {action.kind} '{action.name}' contain secrets", hits)
                kinds.extend(hits)
                new_args = masked_args
        if scan_args and new_args and _args_candidate(new_args):
            kinds_args: list[str] = []

            def sub(s: str) -> str:
                masked, k = self.scanner.mask(s, self.replacement)
                kinds_args.extend(k)
                return masked

            new_args = map_strings(new_args, sub)
            if kinds_args:
                kinds.extend(kinds_args)
                if self.args_effect != "redact":
                    return self._vote(self.args_effect, f"arguments of {action.kind} '{action.name}' contain secrets", kinds_args)
        new_content = action.content
        if action.content and self.content_effect != "allow" and _candidate(action.content):
            new_content, kc = self.scanner.mask(action.content, self.replacement)
            if kc:
                kinds.extend(kc)
                if self.content_effect != "redact":
                    return self._vote(self.content_effect, f"content of {action.kind} '{action.name}' contains secrets", kc)
        if not kinds:
            return None
        new = action
        if new_args is not action.args:
            new = new.with_args(new_args)
        if new_content != action.content:
            new = new.with_content(new_content)
        d = Decision.redact(f"secrets masked in {action.kind} '{action.name}' ({', '.join(sorted(set(kinds)))})",
                            action=new, rule_id="secrets", risks=self.risks)
        object.__setattr__(d, "evidence", tuple(f"secrets: found {k}" for k in sorted(set(kinds))))
        return d

    @hookimpl
    def lictor_check_output(self, action: Action, output: Any, ctx: Any) -> Optional[Decision]:
        if not self.active or self.outputs_effect == "allow" or output is None:
            return None
        kinds: list[str] = []

        def sub(s: str) -> str:
            masked, k = self.scanner.mask(s, self.replacement)
            kinds.extend(k)
            return masked

        if self.outputs_effect == "deny":
            for s in iter_strings(output):
                kinds.extend(k for k, _, _ in self.scanner.find(s))
            if kinds:
                return self._vote("deny", f"output of {action.kind} '{action.name}' contains secrets", kinds)
            return None
        new = map_strings(output, sub)
        if not kinds:
            return None
        d = Decision.redact(f"secrets masked in the output of {action.kind} '{action.name}' ({', '.join(sorted(set(kinds)))})",
                            output=new, rule_id="secrets", risks=self.risks)
        object.__setattr__(d, "evidence", tuple(f"secrets: found {k}" for k in sorted(set(kinds))))
        return d

    def _vote(self, effect: str, reason: str, kinds: list[str]) -> Decision:
        reason = f"{reason} ({', '.join(sorted(set(kinds)))})"
        return Decision.vote(effect, reason, rule_id="secrets", risks=self.risks,
                             evidence=tuple(f"secrets: found {k}" for k in sorted(set(kinds))))
