"""A small learned (linear) scorer for injected instructions, used by ``injection_score``.

Pure Python, no dependency, no model call, no network: the weights are shipped in
``data/injection_weights.json`` (written by ``benchmarks/train_injection_model.py`` from the tuning
part of the benchmark data only). The scorer reads the *normalised* text (evasions already folded
by :func:`lictor.protections.injection_score.normalise`), cuts it into segments (sentences and
lines; long ones in chunks of :data:`CHUNK` tokens) and scores every window of two consecutive
segments with a logistic regression over word unigrams and bigrams, a few word classes (``#you``,
``#ai``, ``#act``, ``#user``, ``#secret``) and class bigrams; ``^`` marks the start of a segment, so
the first word of a sentence (an imperative) is a feature of its own; e-mail addresses, URLs and
numbers are one token each. A planted payload is a sentence or two in a long benign document:
scoring windows rather than the whole text keeps it from being diluted. The result is the highest
window probability and where that window is.

Window scores are additive (no bigram ends at a segment start): each segment's sum of weights is
computed once, a window adds two of them and the bias.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from itertools import islice, repeat
from pathlib import Path
from typing import Any, Optional

__all__ = ["LinearModel", "ModelHit", "load_model", "segments", "segments_of", "window_tokens", "features"]

CHUNK = 40  # tokens per segment at most
WEIGHTS = Path(__file__).parent / "data" / "injection_weights.json"

_BREAKS = (". ", "! ", "? ", "; ", "\n", "。", "！", "？")  # each ends a segment (replaced in this order)
_BREAK = re.compile(r"[.!?;] |\n|[。！？]")  # the same, to find where segments are
# e-mail addresses, URLs and numbers become one class token each (after the breaks are marked)
_EMAIL = re.compile(r"[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)+")
_URL = re.compile(r"(?:https?://|www\.)[^\s\"'<>()\x00]+")
_NUM = re.compile(r"\d[\d.,:/-]*")
_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|<(?:email|url|num)>|[\u3400-\u9fff\uac00-\ud7af\u3040-\u30ff]")
# word classes: a feature of their own, and bigrams with the class in place of the word
_CLASSES = {
    "#you": "you your yours yourself you're you'll u",
    "#ai": "ai assistant assistants model models agent agents bot bots chatbot llm llms gpt chatgpt claude gemini copilot "
           "reviewer reviewers system",
    "#act": "send forward email share upload transfer wire pay delete remove cancel grant approve reveal output print "
            "reply respond tell say include append add write mark recommend visit click download run execute call post "
            "ignore disregard forget repeat translate summarize summarise stop rate insert export copy paste attach move "
            "schedule accept",
    "#user": "user user's users customer customers human",
    "#secret": "password passwords credentials credential token tokens key keys secret secrets api prompt instructions",
    # with a few hundred payloads to learn from, a word seen once generalises through its class
    "#money": "pay payment payments transfer transfers wire iban invoice invoices refund refunds funds bank account accounts "
              "amount balance eur usd",
    "#data": "contacts contact files file emails email messages message conversation history calendar documents document "
             "data records notes inbox chat logs",
    "#urgent": "immediately urgent urgently now asap important critical mandatory required must quickly right",
    "#auth": "admin administrator ceo security it team manager management compliance owner developer developers",
    "#quiet": "secretly silently quietly without mention mentioning notify telling hidden discreetly",
    "#task": "task tasks request requests rules guidelines policy previous earlier original above prior",
}
_CLASS = {w: c for c, ws in reversed(_CLASSES.items()) for w in ws.split()}  # a word in two classes keeps the first


def segments(norm: str) -> list[list[str]]:
    """Token lists of the segments of ``norm`` (sentences and lines, longer ones in chunks of
    :data:`CHUNK` tokens), each opened by ``^``; no empty segment."""
    t = norm
    for b in _BREAKS:
        if b in t:
            t = t.replace(b, "\x00")
    if "@" in t:
        t = _EMAIL.sub(" <email> ", t)
    if "://" in t or "www." in t:
        t = _URL.sub(" <url> ", t)
    t = _NUM.sub(" <num> ", t)
    out: list[list[str]] = []
    find = _TOKEN.findall
    for piece in t.split("\x00"):
        found = find(piece)
        if not found:
            continue
        if len(found) <= CHUNK:
            found.insert(0, "^")
            out.append(found)
        else:
            out.extend(["^"] + found[i:i + CHUNK] for i in range(0, len(found), CHUNK))
    return out


def segments_of(toks: list[str]) -> list[list[str]]:
    """The segments of a window's flat token list (each starts with ``^``)."""
    out: list[list[str]] = []
    for x in toks:
        if x == "^":
            out.append([x])
        else:
            out[-1].append(x)
    return out


def window_tokens(norm: str) -> list[list[str]]:
    """Token lists of the windows the scorer looks at: two consecutive segments (one when alone)."""
    segs = segments(norm)
    if len(segs) <= 1:
        return segs
    return [segs[i] + segs[i + 1] for i in range(len(segs) - 1)]


def features(toks: list[str]) -> list[str]:
    """Unigrams (the ``^`` marker apart), bigrams (none ending at ``^``), word classes and class
    bigrams of a window's tokens, with repeats: the weights the scorer sums for it."""
    out: list[str] = []
    prev = pc = None
    for t in toks:
        c = _CLASS.get(t)
        if t != "^":
            out.append(t)
            if c is not None:
                out.append(c)
            if prev is not None:
                out.append(prev + " " + t)
                if c is not None or pc is not None:
                    out.append((pc or prev) + " " + (c or t))
        prev, pc = t, c
    return out


@dataclass(frozen=True)
class ModelHit:
    """The best window: its probability and its index (first segment, segment count)."""

    prob: float
    first: int
    count: int


class LinearModel:
    """Logistic regression over window features; ``weights`` maps a feature to its weight.

    For speed the weights are folded into two tables at load: a word's weight plus its class's, and
    a word pair's bigram weight plus its class bigram's (class bigrams expanded over the words of
    their classes), so that a window's logit is one lookup per token and one per word pair."""

    def __init__(self, weights: dict[str, float], bias: float, meta: Optional[dict[str, Any]] = None) -> None:
        self.weights = weights
        self.bias = bias
        self.meta = meta or {}
        members: dict[str, list[str]] = {}
        for w, c in _CLASS.items():
            members.setdefault(c, []).append(w)
        uni: dict[str, float] = {}
        bi: dict[tuple[str, str], float] = {}
        for f, v in weights.items():
            a, sep, b = f.partition(" ")
            if not sep:
                for w in members.get(f, (f,)):
                    uni[w] = uni.get(w, 0.0) + v
                continue
            ca, cb = a.startswith("#"), b.startswith("#")
            if not (ca or cb):
                bi[a, b] = bi.get((a, b), 0.0) + v
                continue
            # a class bigram stands for every pair of words of its classes (a word without a class keeps its place)
            for x in (members[a] if ca else (a,)):
                if not ca and x in _CLASS:
                    continue
                for y in (members[b] if cb else (b,)):
                    if not cb and y in _CLASS:
                        continue
                    bi[x, y] = bi.get((x, y), 0.0) + v
        self._uni, self._bi = uni, bi

    def _seg_sums(self, segs: list[list[str]]) -> list[float]:
        """Sum of weights of each segment (token lists from :func:`segments`)."""
        uget, bget, r = self._uni.get, self._bi.get, repeat(0.0)
        return [sum(map(uget, seg, r)) + sum(map(bget, zip(seg, islice(seg, 1, None)), r))
                for seg in segs]

    def logit_of(self, toks: list[str]) -> float:
        """Logit of one window's tokens (what :func:`features` would sum)."""
        return self.bias + sum(self._seg_sums(segments_of(toks))) if toks else self.bias

    def best(self, norm: str) -> Optional[ModelHit]:
        segs = segments(norm)
        if not segs:
            return None
        sums = self._seg_sums(segs)
        if len(sums) == 1:
            return ModelHit(_sigmoid(self.bias + sums[0]), 0, 1)
        z, i = max((sums[j] + sums[j + 1], j) for j in range(len(sums) - 1))
        return ModelHit(_sigmoid(self.bias + z), i, 2)

    @staticmethod
    def span(norm: str, hit: ModelHit) -> tuple[int, int]:
        """Where the hit's window is in ``norm`` (for a chunk of a long sentence: the sentence)."""
        bounds = [0] + [m.end() for m in _BREAK.finditer(norm)] + [len(norm)]
        owner: list[int] = []
        for k in range(len(bounds) - 1):
            owner += [k] * len(segments(norm[bounds[k]:bounds[k + 1]]))
        if not owner:
            return 0, len(norm)
        a = owner[min(hit.first, len(owner) - 1)]
        b = owner[min(hit.first + hit.count - 1, len(owner) - 1)]
        return bounds[a], bounds[b + 1]


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    ez = math.exp(z)
    return ez / (1.0 + ez)


def load_model(path: Optional[Path] = None) -> Optional[LinearModel]:
    """The shipped model, or ``None`` when its file is missing or unreadable (the rules then work alone)."""
    try:
        data = json.loads((path or WEIGHTS).read_text(encoding="utf-8"))
        return LinearModel({k: float(v) for k, v in data["weights"].items()}, float(data["bias"]), data)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
