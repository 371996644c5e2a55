"""``pii``: finds and masks personal data (e-mail addresses, phone numbers, payment cards, IBANs
and national identity numbers of 17 countries) in tool outputs, model outputs, messages and,
optionally, tool-call arguments.

How it works: fast regular expressions find *candidates* (one combined pattern, one pass over the
text); only candidates are validated, with ``python-stdnum`` (pure Python, offline, maintained
since 2010, one module per number format). So order numbers, timestamps, hashes and amounts are
not masked: a card must start with a known issuer prefix, have that issuer's length and pass
``stdnum.luhn``; an IBAN must pass ``stdnum.iban`` (the country's length and BBAN layout from the
SWIFT registry shipped with stdnum, ISO 7064 mod 97-10, and the national check digits where stdnum
knows them); a national id must pass its stdnum module (check digits, embedded birth dates, never
issued ranges).

National ids, and when they are masked:

* masked wherever they appear, because their written form is distinctive: ``us_ssn``
  (``536-90-4399``, ``536 90 4399``), ``uk_nino`` (``AB 12 34 56 C``; stdnum has no NINO module:
  it has no check digit, the prefix letters are checked here), ``es_dni`` (``12345678Z``),
  ``es_nie`` (``X1234567L``), ``it_codicefiscale``, ``fi_hetu`` (``131052-308T``), ``br_cpf`` in
  its dotted form ``390.533.447-05``, ``be_nn`` as ``85.07.30-033.28``, ``ch_ahv`` as
  ``756.9217.0769.85``, ``fr_nir`` grouped as ``2 95 10 99 126 111 93``;
* masked only next to a keyword naming them, because the written form is a bare or plainly
  grouped run of digits that a valid checksum alone does not tell from an order number, a
  timestamp, a phone number or an amount (a 1-in-10 Luhn check passes for one order number in
  ten): ``ca_sin`` ("SIN"), ``nl_bsn`` ("BSN"), ``de_idnr`` ("Steuer-ID", "IdNr"), ``pl_pesel``,
  ``se_personnummer``, ``dk_cpr`` ("CPR"), ``no_fodselsnummer``, ``in_aadhaar``, ``uk_nhs`` ("NHS
  number"), and the bare forms of ``us_ssn``, ``br_cpf``, ``be_nn``, ``ch_ahv``, ``fr_nir``. The
  keyword counts when it is within 64 characters before the number or 24 after it without a
  field or record boundary in between (a line break, bracket, semicolon, table bar, or a comma
  that is not prose, so the key of the previous JSON field or CSV cell does not count), is the
  key of the dict entry holding it, or heads its column in a CSV, TSV or Markdown table. Several
  countries share a shape (9 digits: SSN, SIN, BSN): the ids named by keywords are checked
  nearest keyword first, and a number that passes none of their checks is left alone.

Outputs and arguments keep their shape (dicts, lists, models); strings are scanned with the key
they sit under, and integers of 8 digits or more as their decimal text (a masked one becomes a
string).

Phone numbers are recognised by pattern only (international ``+`` form, ``(0xx)`` and common
grouped national forms, 8-15 digits). ``phonenumbers`` (9.0) was measured as a validator of these
candidates only (its own matcher over the whole text costs ~2.6 ms per KB): 28 ms to import,
30-45 µs per candidate, 48 MB installed; and a national form without ``+`` can only be checked
against a guessed country (``030 12345678``, a Berlin number, is invalid read as a US number),
while a tool output rarely says the country. What it would add is rejecting ``+`` numbers in
unallocated ranges, which are rare in real text, so it is not used.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Mapping, Optional

from stdnum import iban as _iban
from stdnum import luhn as _luhn
from stdnum.be import nn as _be_nn
from stdnum.br import cpf as _br_cpf
from stdnum.ca import sin as _ca_sin
from stdnum.ch import ssn as _ch_ssn
from stdnum.de import idnr as _de_idnr
from stdnum.dk import cpr as _dk_cpr
from stdnum.es import dni as _es_dni
from stdnum.es import nie as _es_nie
from stdnum.fi import hetu as _fi_hetu
from stdnum.fr import nir as _fr_nir
from stdnum.gb import nhs as _gb_nhs
from stdnum.in_ import aadhaar as _in_aadhaar
from stdnum.it import codicefiscale as _it_cf
from stdnum.nl import bsn as _nl_bsn
from stdnum.no import fodselsnummer as _no_fnr
from stdnum.pl import pesel as _pl_pesel
from stdnum.se import personnummer as _se_pnr
from stdnum.us import ssn as _us_ssn

from ..hookspecs import hookimpl
from ..models import Action, Decision
from ._common import Section

__all__ = ["PiiProtection", "find_pii", "ENTITIES", "NATIONAL_IDS", "GROUPS", "luhn_ok", "iban_ok"]

NATIONAL_IDS = (
    "us_ssn", "uk_nino", "uk_nhs", "ca_sin", "br_cpf", "in_aadhaar", "de_idnr", "fr_nir", "es_dni", "es_nie",
    "it_codicefiscale", "nl_bsn", "be_nn", "ch_ahv", "pl_pesel", "se_personnummer", "dk_cpr", "no_fodselsnummer",
    "fi_hetu",
)
ENTITIES = ("email", "phone", "card", "iban") + NATIONAL_IDS
#: Names that set the effect of several entities at once (an entity's own entry wins).
GROUPS = {"national_id": NATIONAL_IDS}
TARGETS = ("tool_output", "model_output", "message", "memory_write", "args")

_SEPS = str.maketrans("", "", " .-/")
_SHAPE = str.maketrans("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", "d" * 10 + "A" * 26)


def luhn_ok(digits: str) -> bool:
    """The Luhn (mod 10) check of payment card numbers (``stdnum.luhn``)."""
    return _luhn.is_valid(digits)


def iban_ok(iban: str) -> bool:
    """An IBAN's country length, BBAN layout, ISO 7064 mod 97-10 check and, where stdnum knows
    them, national check digits (``stdnum.iban``)."""
    return _iban.is_valid(iban)


def _card_prefix_ok(d: str) -> bool:
    """Issuer prefixes and lengths (IIN ranges are not in stdnum: it validates numbers, not
    which network issued them)."""
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


def _card_ok(value: str) -> bool:
    d = value.translate(_SEPS)
    return 13 <= len(d) <= 19 and _card_prefix_ok(d) and _luhn.is_valid(d)


def _stdnum(check: Callable[[str], bool], digits: bool = True) -> Callable[[str], bool]:
    def valid(value: str) -> bool:
        try:
            return bool(check(value.translate(_SEPS) if digits else value))
        except Exception:  # a stdnum module that chokes on an odd candidate: not a match
            return False
    return valid


#: entity -> validator of the text the patterns found
_VALID: dict[str, Callable[[str], bool]] = {
    "iban": _stdnum(_iban.is_valid, digits=False),
    "us_ssn": _stdnum(_us_ssn.is_valid),
    "uk_nhs": _stdnum(_gb_nhs.is_valid),
    "ca_sin": _stdnum(_ca_sin.is_valid),
    "br_cpf": _stdnum(_br_cpf.is_valid),
    "in_aadhaar": _stdnum(_in_aadhaar.is_valid),
    "de_idnr": _stdnum(_de_idnr.is_valid),
    "fr_nir": _stdnum(_fr_nir.is_valid),
    "es_dni": _stdnum(_es_dni.is_valid),
    "es_nie": _stdnum(_es_nie.is_valid),
    "it_codicefiscale": _stdnum(_it_cf.is_valid, digits=False),
    "nl_bsn": _stdnum(_nl_bsn.is_valid),
    "be_nn": _stdnum(_be_nn.is_valid),
    "ch_ahv": _stdnum(_ch_ssn.is_valid),
    "pl_pesel": _stdnum(_pl_pesel.is_valid),
    "se_personnummer": _stdnum(_se_pnr.is_valid),
    "dk_cpr": _stdnum(_dk_cpr.is_valid),
    "no_fodselsnummer": _stdnum(_no_fnr.is_valid),
    "fi_hetu": _stdnum(_fi_hetu.is_valid, digits=False),
}

#: Written forms of the numeric ids (d = digit, A = letter): (masked on their own, masked only
#: next to a keyword). The dashed/spaced US SSN has its own pattern.
_FORMS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "es_dni": (("ddddddddA", "dddddddd-A", "dd.ddd.ddd-A"), ()),
    "br_cpf": (("ddd.ddd.ddd-dd",), ("ddddddddd-dd", "ddddddddddd")),
    "be_nn": (("dd.dd.dd-ddd.dd",), ("dd.dd.dd-ddd-dd", "dd dd dd ddd dd", "ddddddddddd")),
    "ch_ahv": (("ddd.dddd.dddd.dd",), ("ddddddddddddd",)),
    "fr_nir": (("d dd dd dd ddd ddd dd",), ("ddddddddddddddd", "ddddddddddddd dd")),
    "us_ssn": ((), ("ddddddddd",)),
    "ca_sin": ((), ("ddd-ddd-ddd", "ddd ddd ddd", "ddddddddd")),
    "nl_bsn": ((), ("dddd.dd.ddd", "ddd.ddd.ddd", "ddd ddd ddd", "ddddddddd")),
    "uk_nhs": ((), ("ddd ddd dddd", "ddd-ddd-dddd", "dddddddddd")),
    "de_idnr": ((), ("dd ddd ddd ddd", "ddddddddddd")),
    "pl_pesel": ((), ("ddddddddddd",)),
    "no_fodselsnummer": ((), ("dddddd ddddd", "dddddd-ddddd", "ddddddddddd")),
    "se_personnummer": ((), ("dddddd-dddd", "dddddddd-dddd", "dddddddddd", "dddddddddddd")),
    "dk_cpr": ((), ("dddddd-dddd", "dddddddddd")),
    "in_aadhaar": ((), ("dddd dddd dddd", "dddd-dddd-dddd", "dddddddddddd")),
}
#: shape -> (ids masked on their own, ids that need a keyword)
_SHAPES: dict[str, tuple[list[str], list[str]]] = {}
for _ent, (_free, _gated) in _FORMS.items():
    for _f in _free:
        _SHAPES.setdefault(_f, ([], []))[0].append(_ent)
    for _f in _gated:
        _SHAPES.setdefault(_f, ([], []))[1].append(_ent)

#: the ids that have a form needing a keyword; generic words ("national id") name them all
_GATED = tuple(e for e, (_, g) in _FORMS.items() if g)

#: Keywords that name an id: a word (case-insensitive; "SIN", "NAS", "TIN" and "UID" are common
#: words or log fields in lower case, so in lower case they count only as a field name such as
#: ``sin: ...``, ``"sin": ...``, ``sin=``), or a phrase of words.
_WORDS: dict[str, tuple[str, ...]] = {}
_PHRASES: dict[str, list[tuple[tuple[str, ...], tuple[str, ...]]]] = {}
for _ids, _kws in (
    (("us_ssn",), "ssn ssns"),
    (("us_ssn", "fr_nir"), "social|security"),
    (("fr_nir",), "nir insee sécurité|sociale securite|sociale numéro|de|sécu numero|de|secu "
                  "carte|vitale sécu|sociale secu|sociale"),
    (("ca_sin",), "SIN NAS social|insurance assurance|sociale"),
    (("nl_bsn",), "bsn burgerservicenummer sofinummer sofi|nummer burger|service|nummer"),
    (("de_idnr",), "TIN idnr steuerid steueridnr steueridentifikationsnummer identifikationsnummer steuer|id "
                   "steuer|idnr steuer|nummer tax|id"),
    (("br_cpf",), "cpf"),
    (("in_aadhaar",), "UID aadhaar aadhar uidai"),
    (("pl_pesel",), "pesel"),
    (("se_personnummer", "dk_cpr", "no_fodselsnummer"), "personnummer personnumer personnr person|nr"),
    (("se_personnummer",), "samordningsnummer"),
    (("dk_cpr",), "cpr"),
    (("no_fodselsnummer",), "fødselsnummer fodselsnummer fnr d|nummer"),
    (("be_nn",), "rijksregisternummer rijksregister niss insz rrn registre|national numéro|national "
                 "numero|national national|number"),
    (("ch_ahv",), "ahv avs sozialversicherungsnummer"),
    (("uk_nhs",), "nhs"),
    (_GATED, "national|id national|identification national|identity personal|id personal|identification "
           "personal|identity identity|number"),
):
    for _kw in _kws.split():
        _parts = tuple(_kw.split("|"))
        if len(_parts) == 1:
            _WORDS[_kw.lower()] = _WORDS.get(_kw.lower(), ()) + _ids
        else:
            _PHRASES.setdefault(_parts[0], []).append((_parts[1:], _ids))
#: words that name an id only in capitals, or as a field name in lower case
_CAPS_ONLY = frozenset(("sin", "nas", "tin", "uid"))
_WORD_RX = re.compile(r"[^\W\d_]+")
#: A substring of every keyword, searched in the lower-cased text: without one, no number that
#: needs a keyword is looked at further.
_MAYBE_KW = re.compile("|".join(
    "ssn bsn nir insee secu sécu sociale vitale insurance nummer idnr steuer tax cpf aadha uidai pesel person "
    "cpr fnr rijksregister niss insz rrn national ahv avs nhs identi".split()
    + [w + sep for w in _CAPS_ONLY for sep in ('"', "'", ":", "=", " :", " =")]
))  # literals only, so that the regex engine skips ahead to their first letters
_MAYBE_CAPS = re.compile("SIN|NAS|TIN|UID")
#: Where a field or record ends: line breaks, brackets, semicolons, table bars, and commas that
#: are not prose (prose puts a space and a word after its commas; CSV and JSON do not).
_BOUNDARY = re.compile(r"[\n\r\t{}\[\];|]|,(?![ ]+[^\s\"'])")
_FIELD_AFTER = re.compile(r"[\"']?\s*[:=]")
_CONTEXT_BEFORE, _CONTEXT_AFTER = 64, 24


def _near_ids(text: str, s: int, e: int, key: str, memo: dict[Any, Any]) -> list[str]:
    """Ids named by a keyword near ``text[s:e]``, nearest first: the field name ``key``, the text
    around the number, else the header of its column in a table."""
    out: list[str] = []
    if key:
        _keywords(key + ":", 0, len(key) + 1, out, None)  # a field name: "sin" counts as one
    hits: list[tuple[int, tuple[str, ...]]] = []
    # the text around the number, up to the nearest field or record boundary on each side (a
    # keyword of the previous JSON field, CSV cell or line names a different value)
    lo = max(0, s - _CONTEXT_BEFORE)
    for b in _BOUNDARY.finditer(text, lo, s):
        lo = b.end()
    hi = min(len(text), e + _CONTEXT_AFTER)
    after = _BOUNDARY.search(text, e, hi)
    if after is not None:
        hi = after.start()
    _keywords(text, lo, s, None, hits)
    _keywords(text, e, hi, None, hits, e)
    if hits:
        hits.sort(key=lambda h: h[0])
        for _, ids in hits:
            out.extend(ids)
    if not out:
        cell = _column_header(text, s, memo)
        if cell:
            _keywords(cell, 0, len(cell), out, None)
    return out


def _keywords(text: str, lo: int, hi: int, out: Optional[list[str]],
              hits: Optional[list[tuple[int, tuple[str, ...]]]], after: int = -1) -> None:
    """Keywords in ``text[lo:hi]``: their ids appended to ``out``, or ``(distance, ids)`` to
    ``hits`` (distance from ``hi``, or from ``after`` for text after the number)."""
    words = [(m.group(), m.start(), m.end()) for m in _WORD_RX.finditer(text, lo, hi)]
    for i, (w, ws, we) in enumerate(words):
        lw = w.lower()
        ids = _WORDS.get(lw)
        if ids is not None and lw in _CAPS_ONLY and not w.isupper() and _FIELD_AFTER.match(text, we) is None:
            ids = None
        end = we
        if ids is None and lw in _PHRASES:
            for rest, pids in _PHRASES[lw]:
                n = len(rest)
                if i + n < len(words) and all(words[i + 1 + j][0].lower() == rest[j] for j in range(n)):
                    ids, end = pids, words[i + n][2]
                    break
        if ids is None:
            continue
        if out is not None:
            out.extend(ids)
        else:
            hits.append((ws - after if after >= 0 else hi - end, ids))  # type: ignore[union-attr]


def _column_header(text: str, s: int, memo: dict[Any, Any]) -> str:
    """The header cell above position ``s`` when it sits in a CSV / TSV / Markdown table: the
    first line of the text with as many delimiters as the number's own line."""
    ls = text.rfind("\n", 0, s) + 1
    if ls == 0:
        return ""
    le = text.find("\n", s)
    line = text[ls:le if le >= 0 else len(text)]
    for d in (",", "\t", ";", "|"):
        n = line.count(d)
        if n:
            break
    else:
        return ""
    cells = memo.get((d, n))
    if cells is None:
        cells = []
        pos = 0
        while pos < ls:
            nl = text.find("\n", pos)
            if nl < 0:
                nl = len(text)
            row = text[pos:nl]
            if row.count(d) == n:
                if pos != ls:
                    cells = row.split(d)
                break
            pos = nl + 1
        memo[(d, n)] = cells
    col = text.count(d, ls, s)
    return cells[col] if col < len(cells) else ""


def _number_id(value: str, text: str, s: int, e: int, key: str, memo: dict[Any, Any]) -> Optional[str]:
    """The national id a run of digits is, by its written form, check digits and, for the forms
    that need one, a keyword nearby."""
    ids = _SHAPES.get(value.translate(_SHAPE))
    if ids is None:
        return None
    free, gated = ids
    for ent in free:
        if _VALID[ent](value):
            return ent
    if gated:
        maybe = memo.get("kw")
        if maybe is None:  # once per text: is any keyword there at all (a quick over-approximation)?
            maybe = memo["kw"] = bool(_MAYBE_KW.search(text.lower()) or _MAYBE_CAPS.search(text)
                                      or (key and _MAYBE_KW.search(key.lower() + ":")))
        if maybe:
            for ent in _near_ids(text, s, e, key, memo):
                if ent in gated and _VALID[ent](value):
                    return ent
    return None


_EMAIL = r"(?P<email>(?<![\w.%+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@(?:[A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,24}(?![\w-]))"
_IBAN = r"(?P<iban>\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]){11,30}\b)"
_CF = r"(?P<it_codicefiscale>\b[A-Z]{6}[0-9LMNP-V]{2}[ABCDEHLMPRST][0-9LMNP-V]{2}[A-Z][0-9LMNP-V]{3}[A-Z]\b)"
_NIE = r"(?P<es_nie>\b[XYZ]-?\d{7}-?[A-Z]\b)"
_CARD = r"(?P<card>(?<![\d.-])\d(?:[ -]?\d){11,18}(?!\d|\.\d|,\d{1,2}(?!\d)))"
_SSN = r"(?P<us_ssn>(?<![\d-])\d{3}(?:-\d{2}-| \d{2} )\d{4}(?![\d-]))"
_HETU = r"(?P<fi_hetu>\b[0-3]\d[01]\d{3}[-+A-FU-Y]\d{3}[0-9A-FHJ-NPR-Y](?![\w-]))"
_NINO = r"(?P<uk_nino>\b(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b)"
_PHONE = (
    r"(?P<phone>(?<![\w+.])(?:\+\d{1,3}[ .-]?(?:\(0?\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]?\d{2,4}){1,4}"
    r"|\(\d{2,5}\)[ .-]?\d{3,4}[ .-]?\d{3,4}"
    r"|0\d{1,4}[ /.-]\d{3,4}[ .-]?\d{3,5}"
    r"|[2-9]\d{2}[.-]\d{3}[.-]\d{4})(?![\w]|[.,]\d))"
)
# 8 to 15 digits, alone or grouped with spaces, dots or dashes, not inside a longer token or an
# amount (a decimal part may not follow; a CSV cell may); a DNI letter may follow. Which id, if
# any, it is is decided by its shape (_FORMS), not here.
_NUMBER = r"(?P<number>\d(?<![\w./+-]\d)(?:[ .-]?\d){7,14}(?:-?[A-Z])?(?!\w|[.-]\d|,\d{1,2}(?!\d)))"
# Branches are grouped behind a look-ahead at the character they can start with, so that at most
# positions one test fails instead of ten; e-mail addresses are only looked for when the text has
# an "@". Order at a position: IBAN, codice fiscale, NIE, NINO (capitals); card, SSN, HETU
# (digits); e-mail; phone, then any other run of digits.
_UPPER = "(?=[A-Z])(?:" + "|".join((_IBAN, _CF, _NIE, _NINO)) + ")"
_DIGIT = "(?=\\d)(?:" + "|".join((_CARD, _SSN, _HETU)) + ")"
_TAIL = "(?=[\\d+(])(?:" + "|".join((_PHONE, _NUMBER)) + ")"
_RX = re.compile("|".join((_UPPER, _DIGIT, _EMAIL, _TAIL)))
_RX_NO_EMAIL = re.compile("|".join((_UPPER, _DIGIT, _TAIL)))
_PHONE_RX = re.compile(_PHONE)
_PREFILTER = re.compile(r"@|\d{2}")


def _phone_ok(value: str) -> bool:
    return 8 <= sum(c.isdigit() for c in value) <= 15


def find_pii(text: str, entities: Optional[frozenset[str]] = None, key: str = "") -> list[tuple[str, int, int]]:
    """``(entity, start, end)`` of every validated personal-data item in ``text``.

    ``key`` is the name of the field holding ``text`` (a dict key, a JSON property), which
    counts as a keyword for the ids that need one."""
    if not text or _PREFILTER.search(text) is None:
        return []
    out = []
    memo: dict[Any, Any] = {}
    for m in (_RX if "@" in text else _RX_NO_EMAIL).finditer(text):
        kind = m.lastgroup
        s, e = m.span()
        value = m.group()
        ent: Optional[str]
        if kind == "card":
            if _card_ok(value):
                ent = "card"
            else:  # a card-shaped number that is not a card may be an id or a phone number
                ent = _number_id(value, text, s, e, key, memo)
                if ent is None and _PHONE_RX.fullmatch(value) is not None and _phone_ok(value):
                    ent = "phone"
        elif kind == "number":
            ent = _number_id(value, text, s, e, key, memo)
        elif kind == "phone":
            ent = _number_id(value, text, s, e, key, memo) if value[0] != "+" else None
            if ent is None and _phone_ok(value):
                ent = "phone"
        elif kind in ("email", "uk_nino"):
            ent = kind
        elif kind == "fi_hetu":  # DDMMYY-NNNC with a digit as check character is also a Nordic id
            ent = kind if _VALID[kind](value) else _number_id(value, text, s, e, key, memo)
        else:
            ent = kind if _VALID[kind](value) else None  # type: ignore[index]
        if ent is not None and (entities is None or ent in entities):
            out.append((ent, s, e))
    return out


def _walk(value: Any, fn: Callable[[str, str], str], key: str = "", _depth: int = 0) -> Any:
    """``value`` with ``fn(text, field name)`` applied to every string inside, and to integers
    long enough to be an id or a card; unchanged parts keep their identity. Objects that are not
    plain containers are turned into their text when a string inside them had to change."""
    if isinstance(value, str):
        return fn(value, key)
    if value is None or isinstance(value, (bool, float)) or _depth > 20:
        return value
    if isinstance(value, int):
        if -10_000_000 < value < 10_000_000:
            return value
        s = str(value)
        ns = fn(s, key)
        return value if ns == s else ns
    if isinstance(value, Mapping):
        changed = False
        out = {}
        for k, v in value.items():
            nv = _walk(v, fn, k if isinstance(k, str) else key, _depth + 1)
            changed = changed or nv is not v
            out[k] = nv
        return out if changed else value
    if isinstance(value, (list, tuple)):
        items = [_walk(v, fn, key, _depth + 1) for v in value]
        if all(a is b for a, b in zip(items, value)):
            return value
        return type(value)(items) if isinstance(value, tuple) else items
    if isinstance(value, bytes):
        s = value.decode("utf-8", "replace")
        ns = fn(s, key)
        return value if ns == s else ns.encode("utf-8")
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        try:
            d = dump()
        except Exception:  # pragma: no cover - a model that cannot dump itself
            d = None
        if d is not None:
            nd = _walk(d, fn, key, _depth + 1)
            return value if nd is d else nd
    s = str(value)
    ns = fn(s, key)
    return value if ns == s else ns


class PiiProtection:
    """Registered as ``pii``. Policy section (absent: inactive)::

        pii:
          on: [tool_output, model_output]     # also: message, memory_write, args
          effect: redact                      # default per entity: redact | deny | allow
          entities: {card: redact, iban: deny, email: allow, national_id: redact, us_ssn: deny}
                                              # per entity or group: effect or {effect, replacement}
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
        # groups first, so that an entity's own entry overrides its group's
        order = sorted(ents.items(), key=lambda kv: kv[0] not in GROUPS)
        for name, spec in order:
            if name not in ENTITIES and name not in GROUPS:
                sec.error(("entities", name), f"unknown entity {name!r} (known: {', '.join(ENTITIES + tuple(GROUPS))})")
                continue
            members = GROUPS.get(name, (name,))
            if isinstance(spec, str):
                spec = {"effect": spec}
            if not isinstance(spec, dict):
                sec.error(("entities", name), "must be an effect (redact, deny, allow) or {effect, replacement}")
                continue
            for k in spec:
                if k not in ("effect", "replacement"):
                    sec.error(("entities", name, k), f"unknown setting '{k}'; known settings: effect, replacement")
            eff = spec.get("effect", default)
            if eff not in ("redact", "deny", "allow"):
                sec.error(("entities", name, "effect"), f"{eff!r} is not one of redact, deny, allow")
            else:
                for e in members:
                    self.effects[e] = eff
            if "replacement" in spec:
                if isinstance(spec["replacement"], str):
                    for e in members:
                        self.replacements[e] = _fill(sec, spec["replacement"], e, ("entities", name, "replacement"))
                else:
                    sec.error(("entities", name, "replacement"), "must be a string")
        sec.finish(("on", "effect", "replacement", "entities"))
        self.watch = frozenset(e for e, eff in self.effects.items() if eff != "allow")

    # -- scanning ----------------------------------------------------------------------------------
    def _scan(self, text: str, found: list[str], key: str = "") -> str:
        hits = find_pii(text, self.watch, key)
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
            args = _walk(action.args, lambda s, key: self._scan(s, found, key))
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
        new = _walk(output, lambda s, key: self._scan(s, found, key))
        # a deny entity withholds the whole output (_decide); otherwise the masked copy goes on
        return self._decide(found, f"the output of {k} '{action.name}'",
                            lambda: Decision.redact("", output=new, rule_id="pii"))


def _fill(sec: Section, template: str, entity: str, path: tuple[str, ...]) -> str:
    try:
        return template.format(entity=entity, ENTITY=entity.upper())
    except (KeyError, IndexError, ValueError) as e:
        sec.error(path, f"may only use the placeholders {{entity}} and {{ENTITY}}: {e}")
        return f"[{entity.upper()}]"
