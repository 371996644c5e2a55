"""``human_trust`` (ASI09 human-agent trust exploitation): what an agent tells a human, and what
a human is shown when asked to approve.

People trust an agent's words more than an anonymous e-mail's, so a hijacked agent is a good
phishing channel. This protection flags outputs to humans (``model_output`` actions, the output
of model calls, messages to a user) that ask for credentials (passwords, one-time codes, card
numbers, recovery phrases) or push the reader to links outside the allowed domains, with extra
weight for urgency and for deceptive links (IP hosts, punycode, user-info tricks, shorteners).

:func:`approval_summary` builds what an approver sees from the action itself (what will run,
with which arguments, which rules flagged it and which risks) and never from the agent's own
justification: text the agent wrote to argue for its action is labelled as such, secrets are
masked.
"""

from __future__ import annotations

import fnmatch
import re
from typing import Any, Optional

from ..hookspecs import hookimpl
from ..policy.schema import RISK_TITLES
from ..models import Action, Decision
from ._common import Section, iter_strings, shorten
from .secret_scan import mask_secrets

__all__ = ["HumanTrustProtection", "approval_summary", "format_approval_summary", "score_human_output", "RISK_TITLES"]


_S = r"[^a-z0-9\n]{1,3}"
_CRED = re.compile(
    rf"\b(?:enter|provide|send|share|confirm|verify|type|give|reply{_S}with|tell{_S}me|update|re-?enter|submit|input|paste|read{_S}(?:me|out))"
    rf"{_S}(?:(?:us|me|your|the|full|current|complete|new|a|all|of){_S}){{0,3}}"
    r"(?:password|passcode|pass ?phrase|pin(?: code)?|one[- ]time (?:pass)?code|otp|2fa code|mfa code|verification code|security code|sms code|"
    r"auth(?:entication)? code|cvv|cvc|card number|card details|credit card|bank login|online banking (?:login|details|password)|"
    r"login details|login credentials|credentials|username and password|seed phrase|recovery phrase|secret phrase|private key|"
    r"api key|social security number|ssn|mother'?s maiden name|\d[- ]?digit code|"
    r"(?:login|access|security|confirmation|text|sms) code|code (?:you|we) (?:just )?(?:received|got|sent))\b"
)
# requests that name the credential without an imperative verb: "I need your SSN", "what is your PIN?"
_CRED_ASK = re.compile(
    rf"\b(?:(?:i|we) (?:need|require|must have|will need)|what(?:'s| is) (?:your|the)|can you (?:tell|give|send|share)(?: me| us)?|"
    rf"(?:please )?(?:let me|let us) (?:know|have))(?:{_S}(?:your|the|full|current|complete|a)){{0,2}}{_S}"
    r"(?:password|passcode|pin|one[- ]time (?:pass)?code|otp|2fa code|verification code|security code|sms code|cvv|cvc|"
    r"card number|credit card number|online banking (?:login|password)|login credentials|credentials|seed phrase|"
    r"recovery phrase|private key|api key|social security number|ssn|mother'?s maiden name)\b"
)
# the same requests in the other languages support agents most often answer in
_CRED_INTL = re.compile(
    r"\b(?:(?:ihr|ihre|dein|deine) (?:passwort|kennwort|pin|tan|zugangsdaten|kreditkartennummer)|"
    r"(?:su|tu) (?:contraseña|contrasena|clave|pin|número de tarjeta|numero de tarjeta)|"
    r"(?:votre|ton|vos|tes) (?:mot de passe|code pin|code secret|identifiants|numéro de carte|numero de carte)|"
    r"(?:la sua|la tua|il suo|il tuo) (?:password|pin|codice)|(?:uw|je) (?:wachtwoord|pincode))\b"
)
# ... only when the sentence asks for it (a verb of giving, sending or typing in)
_INTL_VERB = re.compile(
    r"\b(?:gib|geben|gebt|senden|sende|schick\w*|teilen|teile|nennen|nenne|bestätig\w*|bestatig\w*|eingeben|mitteilen|verraten|"
    r"envíe\w*|envie\w*|envía\w*|envia\w*|introduzca|introduce|ingrese|ingresa|comparta|comparte|dame|deme|proporcione|"
    r"confirme|escriba|entrez|entrer|envoyez|envoyer|donnez|communiquez|confirmez|saisissez|saisir|indiquez|fournissez|fournir|"
    r"inserisci|inserire|inviami|invia|mandami|comunicami|conferma|fornisci|dammi|geef|stuur|voer|deel|bevestig)\b"
)
# asks the reader to run a file: the classic malware lure
_RUN_FILE = re.compile(
    r"\b(?:download|open|run|install|execute|launch|double-?click)\b[^.\n]{0,60}?\.(?:exe|scr|bat|cmd|com|js|jse|vbs|ps1|"
    r"msi|apk|dmg|pkg|jar|hta|iso|img|lnk)\b"
)
# links written without a scheme on shortener domains ("bit.ly/3xYz")
_BARE_SHORT = re.compile(r"(?<![\w./@])(?:bit\.ly|tinyurl\.com|t\.co|goo\.gl|ow\.ly|is\.gd|buff\.ly|rebrand\.ly|cutt\.ly|"
                         r"shorturl\.at|rb\.gy|t\.ly|tiny\.cc)/\S+")
_NEGATED = re.compile(r"\b(?:never|not|don'?t|won'?t|doesn'?t|will never|no one will|nobody will|should not|must not)\b[^.!?\n]{0,40}$")
_URGENT = re.compile(
    r"\b(?:immediately|urgent(?:ly)?|right away|asap|act now|final (?:notice|warning)|last chance|within \d+ (?:hours?|minutes?|days?)|"
    r"(?:will|would) be (?:suspended|locked|closed|deleted|terminated|disabled|blocked)|(?:account|access) (?:has been |is |was )?(?:suspended|locked|compromised|restricted))\b"
)
_LURE = re.compile(
    r"\b(?:click (?:here|the link|below|this link|on the link)|verify your (?:account|identity|details)|confirm your (?:identity|account|details)|"
    r"log ?in (?:here|now|at|via|using)|sign ?in (?:here|now|at|via)|follow (?:this|the) link|visit (?:this|the following) (?:link|page|site))\b"
)
_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"'`)\]]+", re.I)
_SHORTENERS = frozenset({"bit.ly", "tinyurl.com", "t.co", "goo.gl", "ow.ly", "is.gd", "buff.ly", "rebrand.ly", "cutt.ly", "shorturl.at", "rb.gy", "t.ly", "tiny.cc"})


def _host_of(url: str) -> tuple[str, bool]:
    rest = url.split("://", 1)[-1]
    netloc = re.split(r"[/?#]", rest, 1)[0]
    userinfo = "@" in netloc
    host = netloc.rsplit("@", 1)[-1].split(":", 1)[0].lower().rstrip(".")
    return host, userinfo


def _sentence_of(text: str, start: int, end: int) -> str:
    """The sentence around text[start:end] (for words that must come with the match)."""
    a = max(text.rfind(c, 0, start) for c in ".!?\n")
    ends = [i for i in (text.find(c, end) for c in ".!?\n") if i >= 0]
    return text[a + 1: min(ends) if ends else len(text)]


def score_human_output(text: str, allowed: Any) -> tuple[float, list[str]]:
    """Score text meant for a human: (score 0..1, evidence lines)."""
    low = text.lower()
    signals: list[tuple[float, str]] = []
    for rx in (_CRED, _CRED_ASK, _CRED_INTL):
        m = next((m for m in rx.finditer(low) if _NEGATED.search(low, max(0, m.start() - 60), m.start()) is None
                  and (rx is not _CRED_INTL or _INTL_VERB.search(_sentence_of(low, m.start(), m.end())) is not None)), None)
        if m is not None:
            signals.append((0.7, f"asks for credentials: {m.group(0)!r}"))
            break
    m = _RUN_FILE.search(low)
    if m is not None and _NEGATED.search(low, max(0, m.start() - 60), m.start()) is None:
        # an attached document that is a program is the lure; a program from a download page less so
        lure = re.search(r"\b(?:attach\w*|invoice|statement|receipt|document|scan|voicemail|payslip)\b",
                         _sentence_of(low, m.start(), m.end())) is not None
        signals.append((0.6 if lure else 0.4, f"asks to run a file: {m.group(0)!r}"))
    if "/" in low:
        m = _BARE_SHORT.search(low)
        if m is not None and not allowed(m.group(0).split("/", 1)[0]):
            signals.append((0.45, f"deceptive link {shorten(m.group(0), 60)!r} (link shortener)"))
    if ("http" in low or "www." in low):
        for m in _URL.finditer(text):
            url = m.group(0).rstrip(".,;:!?")
            host, userinfo = _host_of(url if "://" in url else "http://" + url)
            if allowed(host):
                continue
            tricks = []
            if re.fullmatch(r"[\d.]+|\[[0-9a-f:]+\]", host):
                tricks.append("IP address host")
            if "xn--" in host:
                tricks.append("punycode host")
            if userinfo:
                tricks.append("user-info before the host")
            if host in _SHORTENERS:
                tricks.append("link shortener")
            if url.lower().startswith("http://"):
                tricks.append("not https")
            if tricks:
                signals.append((0.45, f"deceptive link {shorten(url, 60)!r} ({', '.join(tricks)})"))
            else:
                signals.append((0.25, f"link to a domain that is not allowed: {host}"))
    m = _URGENT.search(low)
    if m is not None:
        signals.append((0.3, f"urgency: {m.group(0)!r}"))
    m = _LURE.search(low)
    if m is not None:
        signals.append((0.35, f"lure: {m.group(0)!r}"))
    if not signals:
        return 0.0, []
    best: dict[str, float] = {}
    for w, why in signals:
        fam = why.split(":", 1)[0].split(" ", 1)[0]
        best[fam] = max(best.get(fam, 0.0), w)
    p = 1.0
    for w in best.values():
        p *= 1 - w
    return round(1 - p, 4), [why for _, why in sorted(signals, reverse=True)]


class HumanTrustProtection:
    """Registered as ``human_trust``. Policy section (absent: inactive)::

        human_trust:
          on: [model_output, message]          # model outputs; messages to recipients below
          recipients: [user, human, customer]  # message names (globs) that are humans
          allow_domains: ["*.example.com"]     # links to these are not flagged
          threshold: 0.6
          effect: approve                      # approve | deny
    """

    name = "human_trust"

    def __init__(self) -> None:
        self.active = False
        self.targets = frozenset(("model_output", "message"))
        self.recipient: Any = None
        self.allowed: Any = lambda host: False
        self.threshold = 0.6
        self.effect = "approve"

    @hookimpl
    def lictor_configure(self, policy: Any, ctx: Any) -> None:
        sec = Section(policy, self.name)
        self.active = sec.present
        if not sec.present:
            return
        self.targets = frozenset(sec.strings("on", ["model_output", "message"], ("model_output", "message")))
        recips = sec.strings("recipients", ["user", "human", "customer"])
        rx = re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in recips)) if recips else None
        self.recipient = (lambda n: rx.match(n) is not None) if rx is not None else (lambda n: False)
        domains = [d.lower() for d in sec.strings("allow_domains")]
        exact = frozenset(d for d in domains if not d.startswith("*."))
        suffixes = tuple(d[1:] for d in domains if d.startswith("*."))
        self.allowed = lambda h: h in exact or (bool(suffixes) and (h.endswith(suffixes) or ("." + h) in suffixes))
        self.threshold = sec.number("threshold", 0.6, minimum=0.01, maximum=1.0)
        self.effect = sec.choice("effect", ("approve", "deny"), "approve")
        sec.finish(("on", "recipients", "allow_domains", "threshold", "effect"))

    def _judge(self, texts: Any, what: str) -> Optional[Decision]:
        best, evidence = 0.0, []
        for t in texts:
            if t:
                s, ev = score_human_output(t, self.allowed)
                if s > best:
                    best, evidence = s, ev
        if best < self.threshold:
            return None
        reason = f"{what} may exploit the reader's trust (score {best:.2f}): {evidence[0]}"
        return Decision.vote(self.effect, reason, rule_id="human_trust", risks=("ASI09",),
                             evidence=tuple(mask_secrets(f"human_trust: {e}") for e in evidence))

    def applies_to(self, kind: str, name: str) -> bool:
        """The Governor calls this plugin only for actions of kinds (and names) it judges."""
        return ((kind == "model_output" and "model_output" in self.targets)
                or (kind == "message" and "message" in self.targets and self.recipient(name)))

    @hookimpl
    def lictor_check_action(self, action: Action, ctx: Any) -> Optional[Decision]:
        if not self.active or not action.content:
            return None
        if action.kind == "model_output" and "model_output" in self.targets:
            return self._judge([action.content], f"model output to {action.name or 'the user'}")
        if action.kind == "message" and "message" in self.targets and self.recipient(action.name):
            return self._judge([action.content], f"message to {action.name}")
        return None

    @hookimpl
    def lictor_check_output(self, action: Action, output: Any, ctx: Any) -> Optional[Decision]:
        if not self.active or output is None or action.kind != "model_call" or "model_output" not in self.targets:
            return None
        return self._judge(iter_strings(output), f"answer of model '{action.name}'")


# ---------------------------------------------------------------------------------------------
# Approval summaries
# ---------------------------------------------------------------------------------------------

_SELF_JUSTIFYING = frozenset({"reason", "reasoning", "justification", "rationale", "explanation", "why", "thought",
                              "thoughts", "thinking", "purpose", "motivation", "note_to_approver"})


def _show_value(v: Any, limit: int = 200) -> Any:
    if isinstance(v, str):
        return shorten(mask_secrets(v), limit)
    if isinstance(v, (int, float, bool)) or v is None:
        return v
    if isinstance(v, dict):
        return {str(k): _show_value(x, limit) for k, x in list(v.items())[:20]}
    if isinstance(v, (list, tuple)):
        shown = [_show_value(x, limit) for x in list(v)[:20]]
        if len(v) > 20:
            shown.append(f"… {len(v) - 20} more")
        return shown
    return shorten(mask_secrets(str(v)), limit)


def approval_summary(action: Action, decision: Decision) -> dict[str, Any]:
    """What a human approver should see, built only from the action and Lictor's decision.

    Keys: ``title``, ``what`` (kind, name, agent, session, call id), ``arguments`` (values
    shortened, secrets masked), ``agent_statements`` (arguments in which the agent argues for its
    own action: shown apart and labelled unverified), ``content`` (excerpt), ``why`` (the reasons
    of the rules and protections that flagged it), ``rules``, ``risks`` (id and title),
    ``evidence``, ``decision_id``, ``text`` (all of it as plain text for a chat or ticket).
    The agent's metadata (including any explanation it attached) is never used.
    """
    args: dict[str, Any] = {}
    statements: dict[str, Any] = {}
    for k, v in (action.args or {}).items():
        (statements if k.lower() in _SELF_JUSTIFYING else args)[k] = _show_value(v)
    what = {"kind": action.kind, "name": action.name, "agent": action.agent, "session": action.session, "call_id": action.call_id}
    risks = [{"id": r, "title": RISK_TITLES.get(r, r)} for r in decision.risks]
    verb = {"tool_call": "run tool", "model_call": "call model", "message": "send a message to", "handoff": "hand off to",
            "memory_write": "write to memory", "code_exec": "execute code in", "model_output": "show model output to"}.get(action.kind, action.kind)
    title = f"Agent '{action.agent}' wants to {verb} '{action.name}'" if action.name else f"Agent '{action.agent}' wants to {verb}"
    content = shorten(mask_secrets(action.content), 500) if action.content else None
    summary: dict[str, Any] = {
        "title": title,
        "what": what,
        "arguments": args,
        "agent_statements": statements,
        "content": content,
        "why": list(decision.reasons),
        "rules": list(decision.rule_ids),
        "risks": risks,
        "evidence": [mask_secrets(e) for e in decision.evidence],
        "verdict": decision.verdict,
        "decision_id": decision.decision_id,
    }
    summary["text"] = format_approval_summary(summary)
    return summary


def format_approval_summary(summary: dict[str, Any]) -> str:
    """The summary as plain text (what adapters show in a chat, a ticket or a terminal)."""
    lines = [summary["title"]]
    w = summary["what"]
    lines.append(f"  action: {w['kind']} {w['name']!r}" + (f" (session {w['session']})" if w.get("session") else ""))
    if summary["arguments"]:
        lines.append("  arguments:")
        lines.extend(f"    {k} = {v!r}" for k, v in summary["arguments"].items())
    if summary["content"]:
        lines.append(f"  content: {summary['content']!r}")
    if summary["agent_statements"]:
        lines.append("  the agent's own statements (unverified, not the reason it was flagged):")
        lines.extend(f"    {k}: {v!r}" for k, v in summary["agent_statements"].items())
    lines.append("  flagged because:")
    lines.extend(f"    - {r}" for r in summary["why"] or ["(no reason recorded)"])
    if summary["risks"]:
        lines.append("  risks: " + ", ".join(f"{r['id']} {r['title']}" for r in summary["risks"]))
    if summary["evidence"]:
        lines.append("  evidence:")
        lines.extend(f"    - {e}" for e in summary["evidence"][:8])
    if summary.get("decision_id"):
        lines.append(f"  decision: {summary['decision_id']}")
    return "\n".join(lines)
