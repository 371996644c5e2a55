"""The learned part of the prompt-injection scorer, used by ``injection_score``.

Pure Python, no dependency, no model call, no network: the model is shipped in
``data/injection_weights.json`` (written by ``benchmarks/train_injection_model.py`` from the tuning
part of the benchmark data only). It is a logistic regression over TF-IDF weighted character
n-grams (3 to 5 letters, inside words) and word unigrams and bigrams of the *normalised* text
(evasions already folded by :func:`lictor.protections.injection_score.normalise`).

Why this form: the rules recognise the wordings they were written for; a model over character
n-grams also recognises the words around them (inflections, compounds, other languages'
cognates, typos), which is what carries over to text written by someone else. Trained without
any text of one benchmark pass and scored on that pass, it flags about as many injected texts as
the rules tuned on that pass, with a quarter of their false positives (``docs/protections.md``).

A planted payload is a sentence or two in a long benign document, so the text is cut into
segments (sentences and lines) and scored per *window* of :data:`WINDOW` consecutive segments, and
as a whole when it is short; the result is the best window and where it is. Each segment's
n-grams are found once; a window counts its segments' n-grams together.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from itertools import chain
from operator import mul
from typing import Any, Optional

__all__ = ["NgramModel", "ModelHit", "load_model", "features", "segment_spans", "window_ranges", "WINDOW"]

WEIGHTS = Path(__file__).parent / "data" / "injection_weights.json"
WINDOW = 3  # segments per window
WHOLE_MAX = 2000  # characters up to which the whole text is a window too (a payload block is rarely longer;
# a long record read whole, a WHOIS entry say, is many repeated field names that no window holds)
CHAR_MIN, CHAR_MAX = 3, 5  # character n-gram lengths (inside a word padded with one space each side)
_LONG_WORD = 40  # characters of a word that give n-grams (a base64 blob or a URL is one long "word")
_BREAK = re.compile(r"[.!?;](?= )|\n|[。！？]")  # a segment ends after one of these
_WORD = re.compile(r"\w\w+")


class _Table(dict):  # type: ignore[type-arg]
    """count -> f(count), filled on first use (a dict lookup from ``map`` runs in C)."""

    def __init__(self, fn: Any) -> None:
        super().__init__()
        self.fn = fn

    def __missing__(self, n: int) -> float:
        v = self[n] = self.fn(n)
        return v


_TF = _Table(lambda n: 1.0 + math.log(n))  # sub-linear term frequency
_TF2 = _Table(lambda n: (1.0 + math.log(n)) ** 2)
_WORD_CACHE = 50_000


def features(text: str) -> list[str]:
    """The n-grams of ``text``, with repeats: ``c`` + a character n-gram of a word padded with
    spaces (``" ign"``, ``"ignor"``, ``"ore "``), ``w`` + a word (two letters or more), ``w`` + two
    consecutive words. The trainer uses this function; the scorer gets the same list, filtered to
    the features it knows, from :meth:`NgramModel.known_features`."""
    out: list[str] = []
    for w in text.split():
        out.extend(_char_ngrams(w))
    words = _WORD.findall(text)
    out.extend("w" + x for x in words)
    out.extend("w" + a + " " + b for a, b in zip(words, words[1:]))
    return out


def _char_ngrams(word: str) -> list[str]:
    p = " " + word[:_LONG_WORD] + " "
    n_p = len(p)
    return ["c" + p[i:i + n] for n in range(CHAR_MIN, min(CHAR_MAX, n_p) + 1) for i in range(n_p - n + 1)]


def segment_spans(norm: str) -> list[tuple[int, int]]:
    """Where the segments of ``norm`` are: sentences and lines, without the empty ones."""
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _BREAK.finditer(norm):
        if norm[start:m.end()].strip():
            spans.append((start, m.end()))
        start = m.end()
    if norm[start:].strip():
        spans.append((start, len(norm)))
    return spans


def window_ranges(n: int) -> list[tuple[int, int]]:
    """``(first, end)`` segment ranges of the sliding windows over ``n`` segments; none when the
    whole text is no longer than one window (it is then read whole)."""
    return [(i, i + WINDOW) for i in range(n - WINDOW + 1)] if n > WINDOW else []


@dataclass(frozen=True)
class ModelHit:
    """The best window: its probability and where it is in the normalised text."""

    prob: float
    start: int
    end: int


class NgramModel:
    """Logistic regression over TF-IDF weighted n-grams; ``vocab`` maps a feature to its
    ``(idf, weight)``. A window's value of a feature is ``(1 + ln count) * idf``, the vector is
    scaled to length one, and its logit is ``bias`` plus the weighted sum."""

    def __init__(self, vocab: dict[str, tuple[float, float]], bias: float, meta: Optional[dict[str, Any]] = None) -> None:
        self.vocab = vocab
        self.bias = bias
        self.meta = meta or {}
        # per feature, what one occurrence adds to the dot product and to the squared length
        self._wx = {f: idf * w for f, (idf, w) in vocab.items()}
        self._xx = {f: idf * idf for f, (idf, w) in vocab.items()}
        self._words: dict[str, tuple[str, ...]] = {}  # word -> its known character n-grams (words repeat)

    def known_features(self, text: str) -> list[str]:
        """``[f for f in features(text) if f in self.vocab]``, faster: a word's known character
        n-grams are looked up once and remembered."""
        known, cache, out = self.vocab, self._words, []
        for w in text.split():
            grams = cache.get(w)
            if grams is None:
                if len(cache) >= _WORD_CACHE:
                    cache.clear()
                grams = cache[w] = tuple(f for f in _char_ngrams(w) if f in known)  # (tuples of str leave the GC's lists)
            out.extend(grams)
        words = _WORD.findall(text)
        out.extend(f for f in ("w" + x for x in words) if f in known)
        out.extend(f for f in ("w" + a + " " + b for a, b in zip(words, words[1:])) if f in known)
        return out

    def counts(self, text: str) -> Counter[str]:
        """How often each known feature occurs in ``text`` (unknown ones cannot change the score)."""
        return Counter(self.known_features(text))

    def logit(self, counts: "Counter[str] | dict[str, int]") -> float:
        """The logit of a window from its feature counts."""
        if not counts:
            return self.bias
        dot = sum(map(mul, map(self._wx.__getitem__, counts), map(_TF.__getitem__, counts.values())))
        sq = sum(map(mul, map(self._xx.__getitem__, counts), map(_TF2.__getitem__, counts.values())))
        return self.bias + dot / math.sqrt(sq)

    def prob(self, text: str) -> float:
        """The probability that ``text``, read as one window, is an injection."""
        return _sigmoid(self.logit(self.counts(text)))

    def best(self, norm: str) -> Optional[ModelHit]:
        """The window of ``norm`` the model rates highest (a short text counts as one window too)."""
        spans = segment_spans(norm)
        if not spans:
            return None
        segs = [self.known_features(norm[s:e]) for s, e in spans]
        cands = window_ranges(len(segs))
        if not cands or len(norm) <= WHOLE_MAX:
            cands.insert(0, (0, len(segs)))
        best_z, best_ij = -math.inf, cands[0]
        for i, j in cands:
            z = self.logit(Counter(chain.from_iterable(segs[i:j])))
            if z > best_z:
                best_z, best_ij = z, (i, j)
        i, j = best_ij
        return ModelHit(_sigmoid(best_z), spans[i][0], spans[j - 1][1])


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    ez = math.exp(z)
    return ez / (1.0 + ez)


def load_model(path: Optional[Path] = None) -> Optional[NgramModel]:
    """The shipped model, or ``None`` when its file is missing or unreadable (the rules then work alone)."""
    try:
        data = json.loads((path or WEIGHTS).read_text(encoding="utf-8"))
        vocab = {k: (float(v[0]), float(v[1])) for k, v in data.pop("vocab").items()}
        return NgramModel(vocab, float(data["bias"]), data)
    except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError):
        return None
