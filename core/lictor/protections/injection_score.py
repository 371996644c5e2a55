"""Deterministic scoring of untrusted text for injected instructions (used by ``prompt_injection``
and ``memory_guard``).

``score_text(text)`` returns a score in 0..1 and the evidence (which signal matched what). The
text is first searched for hidden channels (Unicode tag characters, zero-width and bidi control
characters, HTML comments and hidden elements, base64 blobs that decode to text, HTML entities),
whose decoded content is scored too; then normalised against evasions (NFKC, case, Cyrillic and
Greek look-alikes, leetspeak inside words, letters separated by spaces or dots) and matched
against signal patterns in five families:

- ``override``     "ignore all previous instructions", "your new task is", "you are now ..."
- ``role``         system-prompt / role impersonation: ``SYSTEM:`` lines, chat-template tokens
- ``addressed``    text speaking to the model: "note to the AI assistant reading this"
- ``directive``    instructions to act covertly: exfiltrate, "do not tell the user", reveal prompt
- ``tool_syntax``  tool-call markup inside data: ``<tool_call>``, ``{"name": .., "arguments": ..}``
- ``concealment``  instructions found inside a hidden channel

Each signal has a weight; a family counts once at its strongest signal (a second, different
signal of the same family adds half its weight), and families combine as independent evidence
(``1 - Π(1 - w)``). Matches inside quotes, inline code or code fences, or introduced as an example
("such as", "e.g."), count at 35 % of their weight: articles about prompt injection quote the
phrases they discuss. Every pattern has literal "needles" checked with ``in`` before its regex
runs, so text without any trigger word costs one normalisation pass.
"""

from __future__ import annotations

import base64
import binascii
import html
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Optional

__all__ = ["InjectionScore", "Signal", "score_text", "normalise"]


@dataclass(frozen=True)
class Signal:
    """One piece of evidence: family, signal name, weight used, the matched (normalised) text,
    its offsets in the normalised text, and the channel it was found in (``text``, ``html_comment``,
    ``base64``, ``unicode_tags``, ``hidden_html``, ``zero_width``)."""

    family: str
    name: str
    weight: float
    snippet: str
    start: int
    end: int
    channel: str = "text"


@dataclass
class InjectionScore:
    """Result of :func:`score_text`: ``score`` in 0..1 and the ``signals`` behind it."""

    score: float
    signals: list[Signal] = field(default_factory=list)

    def evidence(self, limit: int = 5) -> list[str]:
        """Short human-readable lines, strongest first (secrets masked by the caller)."""
        out = []
        seen = set()
        for s in sorted(self.signals, key=lambda s: -s.weight):
            if s.name in seen:
                continue
            seen.add(s.name)
            if len(out) >= limit:
                break
            where = "" if s.channel == "text" else f" in {s.channel}"
            out.append(f"{s.family}/{s.name}{where} (w={s.weight:.2f}): {s.snippet!r} @{s.start}-{s.end}")
        return out


# ---------------------------------------------------------------------------------------------
# Normalisation
# ---------------------------------------------------------------------------------------------

_ZERO_WIDTH = "\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff\u180e\u00ad\u034f"
_BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_DROP = {ord(c): None for c in _ZERO_WIDTH + _BIDI}
_CONFUSABLES = {
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c",
    "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ї": "i", "ј": "j", "ԁ": "d", "ԛ": "q", "ԝ": "w",
    "ү": "y", "һ": "h", "ɡ": "g", "ո": "n", "ս": "u",
    # Greek
    "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t",
    "υ": "u", "χ": "x", "ω": "w", "ϲ": "c", "ѵ": "v",
    # Latin look-alikes NFKC keeps
    "ı": "i", "ł": "l", "ø": "o", "ß": "ss", "ſ": "s",
}
_CONFUSE = {ord(k): v for k, v in _CONFUSABLES.items()}
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g"})
_LEET_WORD = re.compile(r"\b[a-z0-9]*(?:[a-z][013457]|[013457][a-z])[a-z0-9]*\b")
_SPACED = re.compile(r"(?<![a-z0-9])(?:[a-z][ .\-_*|+~]){2,}[a-z](?![a-z0-9])")
_SPACED_SEP = re.compile(r"[ .\-_*|+~]")
_WS = re.compile(r"[ \t\f\v\u00a0]+")


def normalise(text: str) -> str:
    """Lower-case text with evasions undone (for matching only; never shown as the original)."""
    if not text.isascii():
        text = text.translate(_DROP)
        text = unicodedata.normalize("NFKC", text)
        text = text.casefold().translate(_CONFUSE)
    else:
        text = text.lower()
    if any(c.isdigit() for c in text):
        text = _LEET_WORD.sub(lambda m: m.group(0).translate(_LEET) if len(m.group(0)) <= 16 else m.group(0), text)
    text = _SPACED.sub(lambda m: _SPACED_SEP.sub("", m.group(0)), text)
    return _WS.sub(" ", text)


# ---------------------------------------------------------------------------------------------
# Signal patterns (on normalised text)
# ---------------------------------------------------------------------------------------------

_S = r"[^a-z0-9\n]{0,4}"  # separator between words: spaces, punctuation, nothing (spacing evasion)
_ANY = r"(?:[a-z']+" + _S + r"){0,3}"  # up to three filler words
_QUAL = r"(?:previous|prior|above|preceding|earlier|former|original|initial|existing|old|system|developer|safety|given|current|default|all)"
_NOUN = r"(?:instructions?|directions|prompts?|rules?|directives?|guidelines?|commands?|guardrails?|restrictions?|programming|constraints?|polic(?:y|ies)|orders?|context|conversation)"
_AI = r"(?:(?:ai|a\.i\.)[^a-z0-9\n]{1,3})?(?:ai|a\.i\.|llm|language model|assistant|agent|chat ?bot|bot|gpt|chatgpt|claude|gemini|copilot|model)"

# (family, name, weight, needles, pattern)
_SIGNALS: list[tuple[str, str, float, tuple[str, ...], str]] = [
    ("override", "ignore_previous", 0.85,
     ("ignor", "disregard", "forget", "overrid", "bypass", "skip", "abandon", "discard", "neglect", "drop", "set aside", "throw out"),
     rf"\b(?:ignore|disregard|forget|override|bypass|skip|abandon|discard|neglect|drop|set{_S}aside|throw{_S}out){_S}(?:about{_S})?"
     rf"(?:(?:all|any|every|each|the|your|my|these|those|of|everything|anything){_S}){{0,3}}{_QUAL}{_S}(?:[a-z]+{_S})?{_NOUN}\b"
     rf"(?!{_S}(?:i|we|they|he|she){_S}(?:sent|gave|shared|posted|wrote|mentioned|e-?mailed)\b)"
     rf"(?!{_S}(?:about|for|on|regarding|in){_S}(?:the|our|this|that){_S}(?!system\b|assistant\b|ai\b|model\b))"),
    ("override", "ignore_given", 0.8,
     ("ignor", "disregard", "forget"),
     rf"\b(?:ignore|disregard|forget){_S}(?:all{_S})?(?:the{_S})?{_NOUN}{_S}(?:that{_S})?you{_S}(?:were|have{_S}been|got|received){_S}(?:given|told|sent)"),
    ("override", "ignore_your_rules", 0.75,
     ("ignor", "disregard", "forget", "overrid", "bypass"),
     rf"\b(?:ignore|disregard|forget|override|bypass){_S}(?:(?:all|any|of){_S}){{0,2}}(?:your|its){_S}(?:[a-z]+{_S})?{_NOUN}"),
    ("override", "ignore_above", 0.7,
     ("ignor", "disregard", "forget"),
     rf"\b(?:ignore|disregard|forget){_S}(?:(?:all|everything|anything|what(?:ever)?|the|text|content|message|that|which){_S}){{1,3}}"
     rf"(?:above|before|previously|earlier|prior|(?:you|i){_S}(?:were|was|have been){_S}(?:told|given|said))"),
    ("override", "new_instructions", 0.65,
     ("instruction", "task", "directive", "objective", "goal", "order", "prompt", "mission"),
     rf"\b(?:new|updated|revised|real|actual|true|secret|hidden|additional|override|priority|urgent){_S}(?:system{_S})?"
     rf"(?:instructions?|task|directives?|objective|goal|orders|system{_S}prompt|mission){_S}(?::|(?:are|is){_S}(?:as follows|to|:))"),
    ("override", "your_task_is", 0.75,
     ("your",),
     rf"\byour{_S}(?:new|real|actual|true|only|primary|updated|next){_S}(?:task|goal|objective|instructions?|purpose|job|mission|role|priority){_S}(?:is|are|will be|:|now)"),
    ("override", "you_are_now", 0.55,
     ("you are now", "you are no longer", "you're now", "you're no longer", "you will now act", "you now act"),
     rf"\byou(?:{_S}are|'re){_S}(?:now|no{_S}longer){_S}(?!(?:logged|signed|subscribed|registered|connected|ready|able|eligible|enrolled|unsubscribed|viewing|on|in|at|using|part)\b)[a-z]+"),
    ("override", "from_now_on", 0.5,
     ("from now on", "henceforth", "from this point", "for the rest of this conversation"),
     rf"\b(?:from{_S}now{_S}on|henceforth|from{_S}this{_S}point(?:{_S}on(?:ward)?)?|for{_S}the{_S}rest{_S}of{_S}this{_S}conversation),?{_S}(?:you|your|act|respond|reply|answer|always|never|only|do)\b"),
    ("override", "ignore_user", 0.75,
     ("ignor", "disregard"),
     rf"\b(?:ignore|disregard){_S}(?:the{_S}|what{_S}the{_S})?(?:user|customer|human)(?:'?s)?{_S}(?:actual{_S}|original{_S})?(?:request|question|message|instructions?|task|says|said|asked|wants)\b"),
    ("override", "jailbreak_persona", 0.65,
     ("dan", "developer mode", "jailbr", "do anything now", "unrestricted", "no restrictions", "without restrictions", "without any restrictions", "no filter", "god mode"),
     rf"\b(?:do{_S}anything{_S}now|developer{_S}mode{_S}(?:enabled|on|activated)|(?:enable|activate|enter|switch{_S}to){_S}(?:developer|dan|god|jailbr(?:eak|oken)){_S}mode|"
     rf"(?:act|behave|respond|pretend|roleplay){_S}(?:as|like){_S}(?:an?{_S})?(?:unrestricted|unfiltered|jailbroken|uncensored|evil)|you{_S}are{_S}dan\b|"
     rf"(?:answer|respond|reply|act|operate){_S}without{_S}(?:any{_S})?(?:restrictions|filters|limitations|guidelines|rules|censorship))"),
    ("override", "stop_task", 0.55,
     ("stop", "cease", "halt", "abort", "cancel", "do not summar", "don't summar", "do not translat", "don't translat", "instead of", "outdated", "obsolete", "void", "revoked", "no longer valid"),
     rf"\b(?:(?:stop|cease|halt|abort|cancel|do{_S}not|don'?t){_S}(?:what{_S}you(?:{_S}are|'re){_S}doing|(?:the|your){_S}(?:current|original|previous){_S}(?:task|summary|translation|work)|(?:summari[sz]|translat|analy[sz])[a-z]*))\b"
     rf"|\b(?:(?:this|the|your|current|original){_S})?(?:task|translation|summary|summari[sz]ation|request|instructions?){_S}(?:is{_S}|are{_S}|has{_S}been{_S}|have{_S}been{_S})?(?:cancell?ed|aborted|void|revoked|obsolete|outdated|no{_S}longer{_S}valid)\b"
     rf"|\binstead{_S}of{_S}(?:summari[sz]|translat|analy[sz]|answer|respond|completing)[a-z]*{_ANY}(?:you{_S}(?:must|should|will)|do|send|forward|reply|output|write|say)\b"),
    ("role", "chat_template", 0.8,
     ("<|", "[inst]", "[/inst]", "<<sys>>", "<s>[inst", "### instruction", "### system", "\n\nhuman:", "\nhuman:"),
     r"<\|im_start\|> ?(?:system|assistant|user|developer)|<\|(?:system|assistant|begin_of_text|start_header_id|eot_id|tool_call|im_sep)\|?>"
     r"|\[inst\][^\[]{12,2000}\[/inst\]|\[inst\][^\[]{12,}$|<<sys>>[^<]{12,2000}<</sys>>|^#{2,4} ?(?:instruction|system|response)s?:?\s*$"),
    ("role", "fake_transcript", 0.4,
     ("user:", "human:", "assistant:"),
     r"^(?:human|user) ?: .{0,200}\n(?:ai|assistant) ?:|^(?:ai|assistant) ?: .{0,200}\n(?:human|user) ?:"),
    ("role", "override_label", 0.55,
     ("override", "admin", "priority"),
     rf"^[ \t>#*\[(-]*(?:(?:system|admin|security|priority){_S})?override{_S}[:\]]"),
    ("role", "role_marker_instruction", 0.65,
     ("system", "developer", "admin", "sys", "root", "operator"),
     rf"(?m)^[ \t>#*\[(<{{|_-]*(?:system|developer|sys|admin(?:istrator)?|root|operator){_S}(?:message|prompt|note|override|instructions?|update|notice|alert)?{_S}[\]>):}}|]"
     rf"[^\n]{{0,120}}\b(?:you{_S}must|your|must|always|never|ignore|disregard|instructions?|forward|send|reveal|skip|execute|grant|override|disable|delete|transfer|approv\w*|the{_S}user{_S}is|follow)\b"),
    ("role", "system_prompt_boundary", 0.7,
     ("system", "developer", "prompt"),
     rf"\b(?:(?:begin|start|end|beginning){_S}(?:of{_S})?(?:the{_S})?(?:system|developer|admin|new|real){_S}(?:prompt|message|instructions?)|(?:system|developer){_S}prompt{_S}(?:override|update|begins?|starts?)|"
     rf"(?:message|note|instructions?|update|notice|directive|command|override){_S}from{_S}(?:the{_S})?(?:system(?!s){_S}(?:administrator|admin|operator)?|(?:system{_S})?administrator|admin|developers?|openai|anthropic|your{_S}(?:developer|creator|operator|owner|admin|administrator|system))|"
     rf"(?:this{_S}is|i{_S}am){_S}(?:the|your){_S}(?:system|administrator|developer|creator|operator|admin)\b(?!{_S}(?:of|for|at|team|here|who|that)))"),
    ("role", "pseudo_tag", 0.5,
     ("<system", "</system", "<instruction", "</instruction", "<important", "</important", "<admin", "<sys>", "<prompt", "<assistant", "<override"),
     r"(?<!<)</?(?:system|instructions?|important|admin|sys|prompt|assistant|override|secret[_-]?instructions?)(?:\s[^>]{0,40})?>"),
    ("addressed", "for_the_ai_label", 0.5,
     ("ai", "llm", "assistant", "agent", "model", "bot", "gpt"),
     rf"\b(?:for|to){_S}(?:the{_S}|any{_S}|all{_S})?(?:ai{_S})?(?:ai|llms?|assistants?|agents?|language{_S}models?|chat ?bots?|models?)\s?:"
     rf"|\b(?:this|the){_S}(?:message|note|text|section|part|paragraph|comment){_S}is{_S}(?:only{_S})?(?:for|addressed{_S}to|meant{_S}for|intended{_S}for){_S}(?:the{_S}|any{_S})?{_AI}"
     rf"|\bas{_S}(?:the|an?){_S}{_AI}{_S},"),
    ("addressed", "to_the_ai", 0.5,
     ("ai", "llm", "assistant", "agent", "model", "bot", "gpt", "claude", "gemini", "copilot"),
     rf"\b(?:attention|note|message|instructions?|notice|reminder|important|hey|dear|hello|hi|psa|psst|yo){_S}(?:to|for)?{_S}(?:the|any|all|every|an?)?{_S}{_AI}s?\b{_S}"
     rf"(?:(?:reading|processing|parsing|summari[sz]\w*|analy[sz]\w*|viewing|that|who|which)\b|[:,!-])"
     rf"|\b(?:if|when){_S}you{_S}(?:are|'re){_S}an?{_S}(?:ai|a\.i\.|llm|language{_S}model|ai{_S}assistant|ai{_S}agent|assistant|agent|chat ?bot|bot)\b"
     rf"|\b(?:to|for){_S}(?:whoever|whomever|anyone|anybody){_S}(?:is{_S})?(?:reading|summari[sz]\w*|processing|parsing|analy[sz]\w*|translat\w*)\b"
     rf"|\b(?:to|for){_S}(?:the|any|all|every){_S}{_AI}s?{_S}(?:reading|processing|parsing|summari[sz]\w*|analy[sz]\w*|viewing|seeing)\b"),
    ("addressed", "when_you_read_this", 0.45,
     ("this", "these"),
     rf"\b(?:when|if|once|as{_S}soon{_S}as|after){_S}(?:(?:you|the{_S}{_AI}){_S})?(?:read|see|process|summari[sz]\w*|encounter|parse|analy[sz]\w*|finish(?:es)?{_S}reading)\w*{_S}(?:this|these)\b"),
    ("directive", "hide_from_user", 0.55,
     ("user", "human", "customer", "operator", "anyone"),
     rf"\b(?:do{_S}not|don'?t|never|without)(?:{_S}ever)?{_S}(?:tell\w*|inform\w*|mention\w*|notify\w*|alert\w*|reveal\w*|let\w*|ask\w*|show\w*|confirm\w*|disclos\w*|warn\w*)"
     rf"{_S}(?:(?:this|it|anything|about this|them){_S})?(?:to{_S})?(?:the{_S})?(?:user|human|customer|operator|anyone)\b"
     rf"|\b(?:secretly|silently|covertly|quietly|without{_S}(?:the{_S})?(?:user|anyone){_S}(?:knowing|noticing))\b"),
    ("directive", "keep_quiet", 0.4,
     ("mention", "tell", "reveal", "disclose"),
     rf"\b(?:do{_S}not|don'?t|never){_S}(?:ever{_S})?(?:mention|reveal|disclose)\w*{_S}(?:it|this|that|our{_S}competitors?|these{_S}instructions|this{_S}(?:note|message|comment))\b(?!{_S}!)"),
    ("directive", "reveal_prompt", 0.5,
     ("prompt", "instruction", "api key", "credential", "password", "secret", "private key", "token", "environment variable", "env var"),
     rf"\b(?:reveal|print|output|repeat|show|display|leak|dump|disclose|share|tell{_S}me|write{_S}out|include|append|send|return|list)"
     rf"{_S}(?:(?:your|the|all|any|full|entire|original|initial|hidden|secret|complete|verbatim|text|content|contents|words|of|user'?s?|customer'?s?|this){_S}){{0,5}}"
     rf"(?:system{_S}prompt|secret{_S}keys?|private{_S}keys?|api{_S}tokens?|(?:initial|original|hidden|system){_S}instructions|api{_S}keys?|credentials|passwords?|secrets|access{_S}tokens?|environment{_S}variables|env{_S}vars|conversation{_S}history|chat{_S}history)\b"),
    ("directive", "exfiltrate", 0.3,
     ("send", "forward", "mail", "transfer", "wire", "upload", "post", "exfiltrat", "copy", "leak", "submit", "pay", "bcc", "cc"),
     rf"\b(?:send|forward|e-?mail|mail|transfer|wire|upload|post|exfiltrate|copy|leak|submit|pay|bcc|cc|share){_S}"
     rf"(?:[a-z0-9'$€£]+[^a-z0-9'$€£\n]{{1,4}}){{0,8}}(?:to|at|into|with){_S}(?:[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{{2,}}|https?://|[a-z]{{2}}\d{{2}}[a-z0-9 ]{{10,}}|(?:the{_S})?(?:following|this|attacker|external){_S}(?:address|account|url|endpoint|server|email|iban)|(?:account|acct|iban){_S}(?:number{_S}|no{_S})?[#:]?{_S}[a-z]{{0,2}}\d[\d -]{{5,}})"),
    ("directive", "exfil_markdown", 0.6,
     ("![", "<img"),
     r"!\[[^\]\n]{0,100}\]\(https?://[^)\s]{0,200}(?:\{|\$\{|%7b|<|\[)[^)\s]{0,200}\)|<img[^>]{0,100}src=[\"']?https?://[^\"'>\s]{0,200}(?:\{|\$\{|%7b)"),
    ("directive", "user_wants_you", 0.45,
     ("wants you", "asked you", "needs you", "requests that you", "wants the assistant", "authori", "approved", "confirmed", "consented"),
     rf"\bthe{_S}(?:user|customer|human|owner){_S}(?:(?:actually|really|secretly|also|now){_S})?(?:wants|asked|needs|requests{_S}that|has{_S}asked){_S}(?:you|the{_S}{_AI}){_S}(?:to\b)?"
     rf"|\bthe{_S}(?:user|customer|owner|account{_S}holder){_S}(?:has{_S})?(?:already{_S})?(?:authori[sz]ed|approved|confirmed|consented{_S}to){_S}(?:a|an|the|this|all|every)\b"),
    ("directive", "obey_blindly", 0.4,
     ("without question", "without asking", "no questions", "without confirmation", "without verification", "skip all approval", "skip approval", "skip the approval", "without approval"),
     rf"\b(?:without{_S}(?:any{_S})?(?:question(?:ing)?|asking|confirmation|verification|approval|checking)|no{_S}questions{_S}asked|skip{_S}(?:all{_S}|the{_S}|any{_S})?(?:approvals?|confirmations?|verifications?){_S}(?:steps?|checks?)?)\b"),
    ("directive", "sensitive_file", 0.35,
     (".aws", ".ssh", "/etc/passwd", "/etc/shadow", ".env", "id_rsa", "credentials"),
     r"~?/?\.aws/credentials|~?/?\.ssh/(?:id_[a-z0-9]+|authorized_keys)|/etc/(?:passwd|shadow)|(?<![a-z0-9])\.env\b(?!\.example)|\bid_rsa\b"),
    ("directive", "dangerous_command", 0.35,
     ("curl", "wget", "rm -rf", "rm -fr", "powershell", "chmod", "base64 -d", "nc -e", "mkfs"),
     r"\b(?:curl|wget)\b[^\n|]{0,200}\|\s*(?:sudo\s+)?(?:ba|z)?sh\b|\brm\s+-(?:rf|fr)\s+[/~]|\bpowershell\b[^\n]{0,40}-enc|\bnc\s+-e\b|\bmkfs\b"),
    ("directive", "model_must_act", 0.35,
     ("you must", "you should", "you need to", "you have to", "you will", "you are required", "make sure you", "be sure to", "immediately", "urgently"),
     rf"\b(?:you{_S}(?:must|should|need{_S}to|have{_S}to|will|are{_S}required{_S}to)|make{_S}sure{_S}(?:you|to)|be{_S}sure{_S}to)(?:{_S}(?:now|immediately|also|first|urgently|then))*"
     rf"{_S}(?:send|forward|delete|transfer|wire|call|execute|run|invoke|visit|navigate|ignore|reply|respond|say|output|print|include|append|email|upload|grant|change|reset|disable|approve|pay|share|post|fetch|download)\b"),
    ("tool_syntax", "tool_call_markup", 0.5,
     ("tool_call", "function_call", "<invoke", "\"tool_calls\"", "functions.", "<function", "antml", "tool_use"),
     r"</?(?:tool_call|tool_use|function_calls?|invoke)\b|\"(?:tool_calls|function_call|tool_use)\"\s*:|\bfunctions\.[a-z_]{3,}\(|<\|tool_call\|>"),
    ("tool_syntax", "json_call", 0.45,
     ("\"name\"", "\"tool\"", "\"function\"", "\"action\""),
     r"\{\s*\"(?:name|tool|function|action|tool_name)\"\s*:\s*\"[a-z0-9_.-]{2,60}\"\s*,\s*\"(?:arguments|parameters|args|input|action_input|tool_input)\"\s*:"),
    ("tool_syntax", "react_action", 0.45,
     ("action:", "action input"),
     r"(?m)^\s*action\s*:\s*[a-z0-9_.-]{2,60}\s*\n\s*action[ _]input\s*:"),
    ("tool_syntax", "call_tool", 0.35,
     ("tool", "function", "call above", "call below", "request above"),
     rf"\b(?:call|use|invoke|run|execute|trigger){_S}(?:the{_S})?`?[a-z]+_[a-z_]+`?{_S}(?:tool|function)\b"
     rf"|\b(?:call|invoke|use){_S}(?:the{_S})?(?:tool|function){_S}`?[a-z]+_[a-z_]+`?"
     rf"|\b(?:run|execute|make|perform|send|issue){_S}the{_S}(?:(?:tool|function|api){_S})?(?:call|request|command){_S}(?:above|below)\b"),
]


class _Pattern:
    __slots__ = ("family", "name", "weight", "needles", "rx")

    def __init__(self, family: str, name: str, weight: float, needles: tuple[str, ...], rx: str) -> None:
        self.family, self.name, self.weight, self.needles = family, name, weight, needles
        self.rx = re.compile(rx, re.M if rx.startswith("^") or "|^" in rx else 0)


_COMPILED = [_Pattern(*s) for s in _SIGNALS]

# Quoted or example contexts: the text talks *about* an instruction rather than giving it.
_QUOTED = re.compile(r"\"[^\"\n]{1,400}\"|“[^”\n]{1,400}”|«[^»\n]{1,400}»|`[^`\n]{1,400}`|```.*?```|<code>.*?</code>|<pre>.*?</pre>", re.S)
_EXAMPLE_INTRO = re.compile(
    r"(?:such as|e\.g\.|e\.g|for example|for instance|like|phrases? like|strings? like|text like|called|known as|"
    r"example|payloads? (?:like|such as)|instructions? like|commands? like|the phrase|the string|the text)[^a-z0-9]{0,4}$")
_DAMPEN = 0.35
_NEVER_DAMPEN = frozenset({"dangerous_command", "sensitive_file"})  # commands are written in `code` anyway

# ---------------------------------------------------------------------------------------------
# Hidden channels (on the original text)
# ---------------------------------------------------------------------------------------------

_TAGS = re.compile("[\U000e0000-\U000e007f]+")
_FLAG = "\U0001f3f4"
_ZW_IN_WORD = re.compile(f"[A-Za-z][{_ZERO_WIDTH}]+[A-Za-z]")
_BIDI_RX = re.compile(f"[{_BIDI}]")
_HTML_COMMENT = re.compile(r"<!--(.*?)(?:-->|$)", re.S)
_HIDDEN_HTML = re.compile(
    r"<([a-z][a-z0-9]*)\b[^>]*?(?:style\s*=\s*[\"'][^\"']*(?:display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0(?:px|pt|em)?\s*[;\"']|"
    r"opacity\s*:\s*0(?:\.0+)?\s*[;\"']|color\s*:\s*(?:#fff(?:fff)?|white|transparent)\b)[^\"']*[\"']|\bhidden\b|aria-hidden\s*=\s*[\"']true)[^>]*>(.*?)</\1\s*>",
    re.S | re.I,
)
_B64 = re.compile(r"(?<![A-Za-z0-9+/_-])(?:[A-Za-z0-9+/]{4}){5,}(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{4})?(?![A-Za-z0-9+/_-])"
                  r"|(?<![A-Za-z0-9+/_-])[A-Za-z0-9_-]{24,}={0,2}(?![A-Za-z0-9+/_-])")
_ENTITY = re.compile(r"&(?:#\d{2,7}|#x[0-9a-f]{2,6}|[a-z]{2,8});", re.I)


def _decode_b64(tok: str) -> Optional[str]:
    t = tok.rstrip("=")
    if len(t) < 20:
        return None
    t = t.replace("-", "+").replace("_", "/")
    t += "=" * (-len(t) % 4)
    try:
        raw = base64.b64decode(t, validate=True)
    except (binascii.Error, ValueError):
        return None
    try:
        s = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    printable = sum(1 for c in s if c.isprintable() or c in "\n\t")
    if printable < 0.95 * len(s) or " " not in s:
        return None
    return s


def _hidden_channels(text: str) -> tuple[list[tuple[str, str]], list[Signal]]:
    """Decoded hidden content (channel, text) and the signals that hiding alone gives."""
    hidden: list[tuple[str, str]] = []
    signals: list[Signal] = []
    if not text.isascii():
        for m in _TAGS.finditer(text):
            if m.start() > 0 and text[m.start() - 1] == _FLAG:
                continue  # emoji subdivision flags (England, Scotland, Wales) use tag characters
            decoded = "".join(chr(ord(c) - 0xE0000) for c in m.group(0) if 0xE0020 <= ord(c) <= 0xE007E)
            if len(decoded) >= 3:
                hidden.append(("unicode_tags", decoded))
                signals.append(Signal("concealment", "unicode_tags", 0.6, decoded[:60], m.start(), m.end(), "unicode_tags"))
        zw = _ZW_IN_WORD.findall(text)
        if len(zw) >= 2:
            signals.append(Signal("concealment", "zero_width_in_words", 0.2, f"{len(zw)} words split by zero-width characters", 0, 0, "zero_width"))
        if _BIDI_RX.search(text) is not None:
            signals.append(Signal("concealment", "bidi_controls", 0.15, "bidirectional control characters", 0, 0, "bidi"))
    if "<!--" in text:
        for m in _HTML_COMMENT.finditer(text):
            body = m.group(1).strip()
            if len(body) >= 12:
                hidden.append(("html_comment", body))
    if "<" in text and ("style" in text or "hidden" in text):
        for m in _HIDDEN_HTML.finditer(text):
            body = re.sub(r"<[^>]+>", " ", m.group(2)).strip()
            if len(body) >= 12:
                hidden.append(("hidden_html", body))
    if len(text) >= 20:
        for m in _B64.finditer(text):
            dec = _decode_b64(m.group(0))
            if dec is not None:
                hidden.append(("base64", dec))
    if "&" in text and _ENTITY.search(text) is not None:
        un = html.unescape(text)
        if un != text and len(_ENTITY.findall(text)) >= 4:
            hidden.append(("html_entities", un))
    return hidden, signals


# ---------------------------------------------------------------------------------------------
# Scoring
# ---------------------------------------------------------------------------------------------


def _quotations(norm: str) -> list[tuple[int, int]]:
    """Spans of quotations in prose: an article citing a phrase. A quoted string that is a value
    (after ``:``, ``=``, ``,`` or ``[``, as in JSON or code) or a long one is not a citation:
    that is where injected text sits in tool results."""
    if not any(c in norm for c in "\"“«`<"):
        return []
    out = []
    for q in _QUOTED.finditer(norm):
        qs, qe = q.span()
        if qe - qs > 200:
            continue
        before = norm[max(0, qs - 3):qs].rstrip()
        if before.endswith((":", "=", ",", "[", "{")):
            continue
        out.append((qs, qe))
    return out


def _match_signals(norm: str, channel: str) -> list[Signal]:
    out: list[Signal] = []
    quoted: Optional[list[tuple[int, int]]] = None
    for p in _COMPILED:
        for needle in p.needles:
            if needle in norm:
                break
        else:
            continue
        for m in p.rx.finditer(norm):
            s, e = m.span()
            w = p.weight
            if channel == "text":
                if quoted is None:
                    quoted = _quotations(norm)
                inside = any(qs <= s and e <= qe for qs, qe in quoted)
                if p.name in _NEVER_DAMPEN:
                    pass
                elif inside or _EXAMPLE_INTRO.search(norm, max(0, s - 40), s) is not None:
                    w *= _DAMPEN
            out.append(Signal(p.family, p.name, w, m.group(0)[:80], s, e, channel))
            break  # one match per pattern is enough evidence
    return out


def _combine(signals: list[Signal]) -> float:
    by_family: dict[str, list[float]] = {}
    kept: list[Signal] = []
    for s in sorted(signals, key=lambda x: -x.weight):
        # two patterns matching the same words are one piece of evidence, not two
        if any(k.family == s.family and k.channel == s.channel and k.end > s.start and s.end > k.start and k.end > 0
               for k in kept):
            continue
        kept.append(s)
        by_family.setdefault(s.family, []).append(s.weight)
    p_clean = 1.0
    for ws in by_family.values():
        ws.sort(reverse=True)
        fam = ws[0]
        if len(ws) > 1:
            fam = 1 - (1 - fam) * (1 - ws[1] * 0.5)
        p_clean *= 1 - fam
    return round(1 - p_clean, 4)


def score_text(text: str, *, _depth: int = 0) -> InjectionScore:
    """Score ``text`` for injected instructions: 0 (none found) .. 1 (certain)."""
    if not text:
        return InjectionScore(0.0)
    signals: list[Signal] = []
    hidden, hidden_signals = _hidden_channels(text) if _depth == 0 else ([], [])
    signals.extend(hidden_signals)
    for channel, body in hidden:
        sub = score_text(body, _depth=_depth + 1)
        if sub.score >= 0.3:
            signals.extend(Signal(s.family, s.name, s.weight, s.snippet, s.start, s.end, channel) for s in sub.signals)
            if channel != "html_entities":
                signals.append(Signal("concealment", f"instructions_in_{channel}", 0.5, shorten_text(body), 0, 0, channel))
    norm = normalise(text)
    signals.extend(_match_signals(norm, "text"))
    if not signals:
        return InjectionScore(0.0)
    return InjectionScore(_combine(signals), signals)


def shorten_text(text: str, limit: int = 60) -> str:
    t = " ".join(text.split())
    return t if len(t) <= limit else t[: limit - 1] + "…"
