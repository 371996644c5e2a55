"""Train the learned part of the prompt-injection scorer; write its model file.

    pip install -e ".[train]"      # scikit-learn, for training only (the scorer needs nothing)
    python benchmarks/train_injection_model.py [--out PATH] [--no-cv]

Data: the *tuning* part of the benchmark only (``bench_detection.py``'s split: a block is held out
when ``crc32(block id) % 4 == 0``; held-out blocks and the external set are never read here).
Positives are the tuning payload blocks of every payload file; negatives are the tuning look-alike
blocks, the tuning carrier documents without their payload, every window of those (the scorer
takes the best window of a text, so a benign window must score low on its own), and paragraphs
of the standard library's docstrings (technical prose full of imperatives to a developer). Every
text is read as ``injection_score.normalise`` leaves it, so evasions need no examples of their own.

Model: scikit-learn's ``TfidfVectorizer`` over ``injection_model.features`` (character 3- to
5-grams inside words, word unigrams and bigrams; sub-linear term frequency, the
:data:`MAX_FEATURES` most frequent features seen in two texts or more) and an L2-regularised
``LogisticRegression`` (lbfgs, ``C`` = :data:`C`, classes weighted to balance). Both are
deterministic. The file holds each feature's idf and weight; ``injection_model.NgramModel``
computes the same probability in pure Python.

Combination with the rules (``injection_score._combine_with_model``): the model flags a text on
its own when its probability reaches ``p_alone``. The threshold is chosen by cross-validation on
the tuning part with one writer left out at a time (each benchmark pass's payload and look-alike
files were written by other hands, so the model is judged on text by someone it has not read):
out-of-fold probabilities of every tuning benchmark item and of chunks of ordinary technical prose
(the standard library's docstrings, scored by a model trained without them), then the lowest
threshold of :data:`P_ALONE` that adds at most ``--max-added-fp`` percent (0.5) of the benign
items to what the rules flag and flags at most ``--max-doc-fp`` percent (0.5) of the documents. This file's constants (C, the features, benign windows as negatives) were chosen the same
way, one pass left out at a time.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import sys
import sysconfig
import time
import re
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
import bench_detection as bd  # noqa: E402

from lictor.protections import injection_score as isc  # noqa: E402
from lictor.protections.injection_model import WEIGHTS, WINDOW, NgramModel, features, segment_spans, window_ranges  # noqa: E402

C = 8.0
MAX_FEATURES = 30_000
P_ALONE = (0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.98, 0.99, 0.993, 0.995, 0.997, 0.998, 0.999)  # what cross-validation chooses from


# -- examples --------------------------------------------------------------------------------------

def window_texts(norm: str) -> list[str]:
    """The windows the scorer looks at besides the whole text (none for a short text)."""
    sp = segment_spans(norm)
    return [norm[sp[i][0]:sp[j - 1][1]] for i, j in window_ranges(len(sp))]


def tuning_examples() -> list[tuple[str, str, int]]:
    """``(block id, normalised text, label)`` of every training example, tuning part only."""
    out: list[tuple[str, str, int]] = []
    for name, _ in bd.PAYLOAD_FILES:
        for i, p in enumerate(bd.blocks(name)):
            bid = f"{name}:{i}"
            if not bd.held_out(bid):
                out.append((bid, isc.normalise(p), 1))
    benign = [(f"{name}:{i}", c.replace("{PAYLOAD}", "")) for name in bd.CARRIER_FILES for i, c in enumerate(bd.blocks(name))]
    benign += [(f"{name}:{i}", b) for name, _ in bd.LOOKALIKE_FILES for i, b in enumerate(bd.blocks(name))]
    for bid, text in benign:
        if bd.held_out(bid):
            continue
        norm = isc.normalise(text)
        out.append((bid, norm, 0))
        out.extend((bid, w, 0) for w in window_texts(norm))
    out.extend((f"stdlib:{i}", isc.normalise(t), 0) for i, t in enumerate(stdlib_paragraphs()))
    return out


def stdlib_paragraphs(limit: int = 2000) -> list[str]:
    """Paragraphs of the docstrings of Python's standard library (files sorted, tests apart; the first
    ``limit`` of 80 characters or more). Not part of the benchmark (the external set's README
    paragraphs come from installed packages)."""
    root = Path(sysconfig.get_paths()["stdlib"])
    out: list[str] = []
    for f in sorted(root.rglob("*.py")):
        rel = f.relative_to(root).parts
        if any(p in ("site-packages", "test", "tests", "idle_test") for p in rel):
            continue
        try:
            tree = ast.parse(f.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
        for node in ast.walk(tree):
            if not isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for para in (ast.get_docstring(node) or "").split("\n\n"):
                para = " ".join(para.split())
                if len(para) >= 80:
                    out.append(para)
                    if len(out) >= limit:
                        return out
    return out


def fingerprint(examples: list[tuple[str, str, int]]) -> str:
    """SHA-256 of everything the model is trained on."""
    h = hashlib.sha256()
    for bid, text, y in examples:
        h.update(f"{bid}\0{y}\0{text}\0".encode())
    return h.hexdigest()


# -- the model -------------------------------------------------------------------------------------

def train(examples: list[tuple[str, str, int]]) -> NgramModel:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vec = TfidfVectorizer(analyzer=features, min_df=2, sublinear_tf=True, max_features=MAX_FEATURES)
    x = vec.fit_transform([t for _, t, _ in examples])
    clf = LogisticRegression(C=C, max_iter=5000, class_weight="balanced")
    clf.fit(x, [y for _, _, y in examples])
    vocab = {f: (round(float(vec.idf_[i]), 6), round(float(clf.coef_[0][i]), 6)) for f, i in sorted(vec.vocabulary_.items())}
    return NgramModel(vocab, round(float(clf.intercept_[0]), 6))


def writer_of(bid: str) -> str:
    """Who wrote a block, as far as the file says: each pass of payloads and look-alikes was written by
    other hands, so ``close_payloads_12.txt`` and ``close_lookalikes_12.txt`` are one writer."""
    name = bid.split(":", 1)[0]
    return re.sub(r"payloads|lookalikes|\.txt$", "", name)


Scores = list[tuple[float, float]]


def oof_scores(examples: list[tuple[str, str, int]]) -> tuple[Scores, Scores, Scores]:
    """``(rule score, out-of-fold model probability)`` of every tuning benchmark item (attacks, benign),
    each probability from a model trained without any text of the item's writer, and of chunks of the
    standard library's docstrings (ordinary documents)."""
    attacks, benign = bd.injection_items()
    saved, isc._MODEL = isc._MODEL, False  # the rules alone
    try:
        rule = {id(x): isc.score_text(x[1]).score for x in attacks + benign if not x[2]}
    finally:
        isc._MODEL = saved
    a: list[tuple[float, float]] = []
    b: list[tuple[float, float]] = []
    for w in sorted({writer_of(x[4]) for x in attacks + benign}):
        model = train([e for e in examples if writer_of(e[0]) != w])
        for items, out in ((attacks, a), (benign, b)):
            for x in items:
                if not x[2] and writer_of(x[4]) == w:
                    out.append((rule[id(x)], best_prob(model, x[1])))
        print(f"  without {w!r}: trained on {len(model.vocab)} features", file=sys.stderr)
    # ordinary documents too: the standard library's docstrings, joined into chunks of about 1.5 KB (what a
    # tool returns), scored by a model trained without any of them; the benchmark's benign side is hard
    # look-alikes, and a threshold chosen on those alone let the model flag 2 % of README chunks
    model = train([e for e in examples if not e[0].startswith("stdlib:")])
    saved, isc._MODEL = isc._MODEL, False
    try:
        docs = [(isc.score_text(c).score, best_prob(model, c)) for c in document_chunks(stdlib_paragraphs())]
    finally:
        isc._MODEL = saved
    return a, b, docs


def document_chunks(paragraphs: list[str], size: int = 1500) -> list[str]:
    """Consecutive paragraphs joined (blank line between) into chunks of about ``size`` characters."""
    out: list[str] = []
    cur: list[str] = []
    for p in paragraphs:
        cur.append(p)
        if sum(map(len, cur)) >= size:
            out.append("\n\n".join(cur))
            cur = []
    return out


def best_prob(model: NgramModel, text: str) -> float:
    """The model's probability for ``text`` the way the scorer reads it (also its hidden channels)."""
    bodies = [isc.normalise(text)] + [isc.normalise(body) for _, body in isc._hidden_channels(text)[0]]
    return max((h.prob for h in map(model.best, bodies) if h is not None), default=0.0)


def choose(a: Scores, b: Scores, docs: Scores, max_added_fp: float, max_doc_fp: float) -> tuple[dict[str, Any], dict[str, Any]]:
    """The lowest ``p_alone`` whose flags (the model's or the rules', at the usual threshold 0.6) add at
    most ``max_added_fp`` percent of the benign items to what the rules alone flag, and flag at most
    ``max_doc_fp`` percent of the ordinary documents."""
    base_tp = sum(r >= 0.6 for r, _ in a)
    base_fp = sum(r >= 0.6 for r, _ in b)
    budget = base_fp + int(max_added_fp * len(b) / 100)
    doc_budget = max(sum(r >= 0.6 for r, _ in docs), int(max_doc_fp * len(docs) / 100))
    cfg: dict[str, Any] = {"p_alone": 2.0, "level": 0.65}  # the rules alone, when no threshold fits the budget
    tp, fp, dfp = base_tp, base_fp, sum(r >= 0.6 for r, _ in docs)
    for pa in P_ALONE:
        t = sum(r >= 0.6 or p >= pa for r, p in a)
        f = sum(r >= 0.6 or p >= pa for r, p in b)
        d = sum(r >= 0.6 or p >= pa for r, p in docs)
        if f <= budget and d <= doc_budget:
            cfg, tp, fp, dfp = {"p_alone": pa, "level": 0.65}, t, f, d
            break
    stats = {"items": [len(a), len(b), len(docs)],
             "rules_alone": {"recall": round(100 * base_tp / len(a), 1), "benign_flagged": round(100 * base_fp / len(b), 2),
                             "documents_flagged": round(100 * sum(r >= 0.6 for r, _ in docs) / len(docs), 2)},
             "with_model": {"recall": round(100 * tp / len(a), 1), "benign_flagged": round(100 * fp / len(b), 2),
                            "documents_flagged": round(100 * dfp / len(docs), 2)}}
    return cfg, stats


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=WEIGHTS)
    ap.add_argument("--max-added-fp", type=float, default=0.5,
                    help="percent of the benign tuning items the combination may flag beyond what the rules flag")
    ap.add_argument("--max-doc-fp", type=float, default=0.5,
                    help="percent of the ordinary document chunks the combination may flag")
    ap.add_argument("--no-cv", action="store_true", help="skip cross-validation (keeps the combination of the existing file)")
    args = ap.parse_args()
    t0 = time.perf_counter()
    examples = tuning_examples()
    print(f"tuning examples: {sum(y for *_, y in examples)} payloads, {sum(1 - y for *_, y in examples)} benign", file=sys.stderr)
    if args.no_cv:
        old = json.loads(args.out.read_text(encoding="utf-8"))
        cfg, stats = old["combine"], old.get("cross_validation", {})
    else:
        a, b, docs = oof_scores(examples)
        cfg, stats = choose(a, b, docs, args.max_added_fp, args.max_doc_fp)
        print(f"cross-validated (one writer left out at a time) on the tuning part: {json.dumps(stats)}; combination {cfg}", file=sys.stderr)
    model = train(examples)
    doc = {
        "about": "Learned part of lictor's prompt-injection scorer: logistic regression over TF-IDF weighted character "
                 "and word n-grams of the normalised text, read per window of sentences. Written by "
                 "benchmarks/train_injection_model.py; do not edit by hand.",
        "features": {"text": "injection_score.normalise", "function": "injection_model.features", "char_ngrams": [3, 5],
                     "word_ngrams": [1, 2], "tf": "1 + ln(count)", "norm": "l2", "window_segments": WINDOW,
                     "vocab": "feature: [idf, weight]"},
        "training": {"data": "tuning part of benchmarks/data (crc32(block id) % 4 != 0): payload blocks (positives); "
                             "look-alike blocks, carriers, their windows and stdlib docstring paragraphs (negatives); "
                             "held-out and external sets never read",
                     "sha256": fingerprint(examples), "examples": len(examples), "C": C, "max_features": MAX_FEATURES,
                     "min_df": 2, "solver": "scikit-learn LogisticRegression (lbfgs), class_weight=balanced"},
        "combine": cfg,
        "cross_validation": stats,
        "bias": model.bias,
        "vocab": model.vocab,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"wrote {args.out} ({args.out.stat().st_size / 1024:.0f} KB, {len(model.vocab)} features) in {time.perf_counter() - t0:.0f} s",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
