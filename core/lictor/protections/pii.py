"""``pii``: finds and masks personal data (e-mail addresses, phone numbers, payment cards, IBANs,
US social security numbers, UK national insurance numbers) in tool outputs, model outputs,
messages and, optionally, tool-call arguments.

Numbers are validated, not just pattern-matched: a card must pass the Luhn check and start with
a known issuer prefix, an IBAN must have its country's length and pass the ISO 13616 mod-97
check, an SSN must not use a never-issued area/group/serial, a NINO must use valid prefix letters.
That keeps order numbers, timestamps and hashes from being masked.

No dependency: ``phonenumbers`` (9 MB, ~2 ms to match a KB of text) and ``python-stdnum`` were
considered; the checks Lictor needs are a few lines each and run at regex speed, and a phone
number here only has to be recognised as one (international ``+`` form or common grouped
national forms), not attributed to a carrier or region.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Optional

from ..hookspecs import hookimpl
from ..models import Action, Decision
from ._common import Section, iter_strings, map_strings

__all__ = ["PiiProtection", "find_pii", "ENTITIES", "luhn_ok", "iban_ok"]

ENTITIES = ("email", "phone", "card", "iban", "us_ssn", "uk_nino")
TARGETS = ("tool_output", "model_output", "message", "memory_write", "args")

_IBAN_LEN = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29, "BY": 28,
    "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18,
    "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22,
    "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20,
    "LU": 20, "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15,
    "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24, "SC": 31, "SE": 24, "SI": 19,
    "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}


def luhn_ok(digits: str) -> bool:
    """The Luhn (mod 10) check of payment card numbers."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _card_prefix_ok(d: str) -> bool:
    n = len(d)
    if d[0] == "4":
        return n in (13, 16, 19)  # Visa
    p2, p4 = int(d[:2]), int(d[:4])
    if 51 <= p2 <= 55 or 2221 <= p4 <= 2720:
        return n == 16  # Mastercard
    if p2 in (34, 37):
        return n == 15  # American Express
    if d.startswith("6011") or d.startswith("65") or 644 <= int(d[:3]) <= 649:
        return 16 <= n <= 19  # Discover
    if 3528 <= p4 <= 3589:
        return 16 <= n <= 19  # JCB
    if p2 in (36, 38) or 300 <= int(d[:3]) <= 305:
        return 14 <= n <= 19  # Diners
    if p2 == 62:
        return 16 <= n <= 19  # UnionPay
    if d[:4] in ("5018", "5020", "5038", "5893", "6304", "6759", "6761", "6762", "6763"):
        return 12 <= n <= 19  # Maestro
    return False


def iban_ok(iban: str) -> bool:
    """Country length and the ISO 13616 mod-97 check of an IBAN (no spaces, upper case)."""
    if _IBAN_LEN.get(iban[:2]) != len(iban):
        return False
    moved = iban[4:] + iban[:4]
    num = "".join(str(int(c, 36)) for c in moved)
    return int(num) % 97 == 1


_EMAIL = r"(?P<email>(?<![\w.%+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@(?:[A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,24}(?![\w-]))"
_IBAN = r"(?P<iban>\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]){11,30}\b)"
_CARD = r"(?P<card>(?<![\d.,-])\d(?:[ -]?\d){11,18}(?![\d]|[.,]\d))"
_SSN = r"(?P<us_ssn>(?<![\d-])(?!000|666|9\d\d)\d{3}(?P<ssn_sep>[- ])(?!00)\d{2}(?P=ssn_sep)(?!0000)\d{4}(?![\d-]))"
_NINO = r"(?P<uk_nino>\b(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b)"
_PHONE = (
    r"(?P<phone>(?<![\w+.])(?:\+\d{1,3}[ .-]?(?:\(0?\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]?\d{2,4}){1,4}"
    r"|\(\d{2,5}\)[ .-]?\d{3,4}[ .-]?\d{3,4}"
    r"|0\d{1,4}[ /.-]\d{3,4}[ .-]?\d{3,5}"
    r"|[2-9]\d{2}[.-]\d{3}[.-]\d{4})(?![\w]|[.,]\d))"
)
_RX = re.compile("|".join((_IBAN, _CARD, _SSN, _NINO, _EMAIL, _PHONE)))
_PHONE_RX = re.compile(_PHONE)
_PREFILTER = re.compile(r"@|\d{2}")


def _valid(entity: str, value: str) -> bool:
    if entity == "card":
        d = value.replace(" ", "").replace("-", "")
        return 13 <= len(d) <= 19 and _card_prefix_ok(d) and luhn_ok(d)
    if entity == "iban":
        return iban_ok(value.replace(" ", ""))
    if entity == "phone":
        n = sum(c.isdigit() for c in value)
        return 8 <= n <= 15
    return True


def find_pii(text: str, entities: Optional[frozenset[str]] = None) -> list[tuple[str, int, int]]:
    """``(entity, start, end)`` of every validated personal-data item in ``text``."""
    if not text or _PREFILTER.search(text) is None:
        return []
    out = []
    for m in _RX.finditer(text):
        entity = m.lastgroup
        if entity == "ssn_sep":
            entity = "us_ssn"
        if entity is None:
            continue
        s, e = m.span(entity)
        value = m.group(entity)
        if not _valid(entity, value):
            if entity == "card":  # a card-shaped number that is not a card may be a phone number
                pm = _PHONE_RX.fullmatch(value)
                if pm is not None and _valid("phone", value) and (entities is None or "phone" in entities):
                    out.append(("phone", s, e))
            continue
        if entities is None or entity in entities:
            out.append((entity, s, e))
    return out


class PiiProtection:
    """Registered as ``pii``. Policy section (absent: inactive)::

        pii:
          on: [tool_output, model_output]     # also: message, memory_write, args
          effect: redact                      # default per entity: redact | deny | allow
          entities: {card: redact, iban: deny, email: allow}   # per entity: effect or {effect, replacement}
          replacement: "[{ENTITY}]"           # {entity} / {ENTITY} placeholders
    """

    name = "pii"

    def __init__(self) -> None:
        self.active = False
        self.targets: frozenset[str] = frozenset(("tool_output", "model_output"))
        self.effects: dict[str, str] = {e: "redact" for e in ENTITIES}
        self.replacements: dict[str, str] = {e: f"[{e.upper()}]" for e in ENTITIES}
        self.watch: frozenset[str] = frozenset(ENTITIES)

    @hookimpl
    def lictor_configure(self, policy: Any, ctx: Any) -> None:
        sec = Section(policy, self.name)
        self.active = sec.present
        if not sec.present:
            return
        self.targets = frozenset(sec.strings("on", ["tool_output", "model_output"], TARGETS))
        default = sec.choice("effect", ("redact", "deny", "allow"), "redact")
        template = sec.take("replacement", "[{ENTITY}]")
        if not isinstance(template, str):
            sec.error("replacement", "must be a string")
            template = "[{ENTITY}]"
        self.effects = {e: default for e in ENTITIES}
        self.replacements = {}
        ents = sec.optional_mapping("entities") or {}
        for e in ENTITIES:
            self.replacements[e] = _fill(sec, template, e, ("replacement",))
        for e, spec in ents.items():
            if e not in ENTITIES:
                sec.error(("entities", e), f"unknown entity {e!r} (known: {', '.join(ENTITIES)})")
                continue
            if isinstance(spec, str):
                spec = {"effect": spec}
            if not isinstance(spec, dict):
                sec.error(("entities", e), "must be an effect (redact, deny, allow) or {effect, replacement}")
                continue
            for k in spec:
                if k not in ("effect", "replacement"):
                    sec.error(("entities", e, k), f"unknown setting '{k}'; known settings: effect, replacement")
            eff = spec.get("effect", default)
            if eff not in ("redact", "deny", "allow"):
                sec.error(("entities", e, "effect"), f"{eff!r} is not one of redact, deny, allow")
            else:
                self.effects[e] = eff
            if "replacement" in spec:
                if isinstance(spec["replacement"], str):
                    self.replacements[e] = _fill(sec, spec["replacement"], e, ("entities", e, "replacement"))
                else:
                    sec.error(("entities", e, "replacement"), "must be a string")
        sec.finish(("on", "effect", "replacement", "entities"))
        self.watch = frozenset(e for e, eff in self.effects.items() if eff != "allow")

    # -- scanning ----------------------------------------------------------------------------------
    def _scan(self, text: str, found: list[str]) -> str:
        hits = find_pii(text, self.watch)
        if not hits:
            return text
        parts, last = [], 0
        for entity, s, e in hits:
            found.append(entity)
            parts.append(text[last:s])
            parts.append(self.replacements[entity])
            last = e
        parts.append(text[last:])
        return "".join(parts)

    def _decide(self, found: list[str], what: str, make: Callable[[], Decision]) -> Optional[Decision]:
        if not found:
            return None
        kinds = sorted(set(found))
        evidence = tuple(f"pii: {k} x{found.count(k)}" for k in kinds)
        denied = [k for k in kinds if self.effects[k] == "deny"]
        if denied:
            d = Decision.deny(f"personal data ({', '.join(denied)}) in {what}", rule_id="pii")
        else:
            d = make()
            object.__setattr__(d, "reasons", (f"personal data masked in {what} ({', '.join(kinds)})",))
        object.__setattr__(d, "evidence", evidence)
        return d

    def applies_to(self, kind: str, name: str) -> bool:
        """The Governor calls this plugin only for actions of kinds (and names) it judges."""
        if not self.watch:
            return False
        content = ((kind == "model_output" and "model_output" in self.targets)
                   or (kind in ("message", "handoff") and "message" in self.targets)
                   or (kind == "memory_write" and "memory_write" in self.targets))
        args = "args" in self.targets and kind in ("tool_call", "code_exec", "handoff", "message", "memory_write")
        return bool(content or args)

    @hookimpl
    def lictor_check_action(self, action: Action, ctx: Any) -> Optional[Decision]:
        if not self.active or not self.watch:
            return None
        k = action.kind
        scan_content = action.content and (
            (k == "model_output" and "model_output" in self.targets)
            or (k in ("message", "handoff") and "message" in self.targets)
            or (k == "memory_write" and "memory_write" in self.targets)
        )
        scan_args = action.args and "args" in self.targets and k in ("tool_call", "code_exec", "handoff", "message", "memory_write")
        if not scan_content and not scan_args:
            return None
        found: list[str] = []
        new = action
        if scan_args:
            args = map_strings(action.args, lambda s: self._scan(s, found))
            if args is not action.args:
                new = new.with_args(args)
        if scan_content:
            content = self._scan(action.content or "", found)
            if content != action.content:
                new = new.with_content(content)
        return self._decide(found, f"{k} '{action.name}'",
                            lambda: Decision.redact("", action=new, rule_id="pii"))

    @hookimpl
    def lictor_check_output(self, action: Action, output: Any, ctx: Any) -> Optional[Decision]:
        if not self.active or output is None or not self.watch:
            return None
        k = action.kind
        if not ((k in ("tool_call", "code_exec") and "tool_output" in self.targets)
                or (k in ("model_call", "model_output") and "model_output" in self.targets)
                or (k in ("message", "handoff") and "message" in self.targets)):
            return None
        found: list[str] = []
        if any(self.effects[e] == "deny" for e in self.watch):
            for s in iter_strings(output):
                found.extend(e for e, _, _ in find_pii(s, self.watch))
            if any(self.effects[e] == "deny" for e in found):
                return self._decide(found, f"the output of {k} '{action.name}'", lambda: Decision.deny(""))
            found = []
        new = map_strings(output, lambda s: self._scan(s, found))
        return self._decide(found, f"the output of {k} '{action.name}'",
                            lambda: Decision.redact("", output=new, rule_id="pii"))


def _fill(sec: Section, template: str, entity: str, path: tuple[str, ...]) -> str:
    try:
        return template.format(entity=entity, ENTITY=entity.upper())
    except (KeyError, IndexError, ValueError) as e:
        sec.error(path, f"may only use the placeholders {{entity}} and {{ENTITY}}: {e}")
        return f"[{entity.upper()}]"
