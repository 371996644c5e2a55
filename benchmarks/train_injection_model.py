"""Train the learned (linear) part of the prompt-injection scorer; write its weights file.

    python benchmarks/train_injection_model.py [--out PATH] [--no-cv]

Data: the *tuning* part of the benchmark only (``bench_detection.py``'s split: a block is held out
when ``crc32(block id) % 4 == 0``; held-out blocks and the external set are never read here).
Positives are the tuning payload blocks (``injection_payloads.txt``, ``indirect_payloads.txt``,
``spikee_payloads.txt``), plain and with the benchmark's text evasions (base64 and Unicode tags
apart: those are hidden channels the scorer decodes first); negatives are the tuning look-alike
blocks (three files) and the tuning carrier documents without their payload.

Features: on the text as ``injection_score.normalise`` leaves it (evasions folded away), cut into
segments (sentences, long ones in chunks of 40 tokens) and windows of two consecutive segments
(``injection_model.segments``): word unigrams and bigrams, ``^`` marking a segment start. A
payload planted in a long document is a sentence or two, so the model is trained on windows: every
window of a benign block is a negative; a payload's windows start as positives, and after the first
round only each payload variant's best window (and any other window the model already scores
above 0.5) stays positive (multiple-instance learning: a payload's benign opening sentence is not
an attack).

Model: L2-regularised logistic regression, trained by plain SGD in pure Python (fixed seed, fixed
order: deterministic), classes weighted to balance; pruned to the ``--keep`` features of largest
|weight|. The combination with the rules (``injection_score._learned_level``) is chosen by 5-fold
cross-validation on the tuning part (folds by block): out-of-fold probabilities of every tuning
benchmark item, then the thresholds that flag the most injected items while adding at most
``--max-added-fp`` percent of the benign items (0.1 %: one in a thousand) to what the rules flag. The weights file records weights, bias,
feature spec, combination, cross-validated numbers and a fingerprint of the training data.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import math
import random
import sys
import sysconfig
import time
import zlib
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
import bench_detection as bd  # noqa: E402

from lictor.protections import injection_score as isc  # noqa: E402
from lictor.protections.injection_model import _CLASS, CHUNK, WEIGHTS, LinearModel, features, window_tokens  # noqa: E402

SEED = 7
SKIP_EVASIONS = ("base64", "unicode_tags")


# -- examples --------------------------------------------------------------------------------------

def windows_of(text: str) -> list[tuple[str, ...]]:
    """Token lists of the windows the scorer would look at (two consecutive segments)."""
    return [tuple(w) for w in window_tokens(isc.normalise(text))]


def tuning_blocks() -> tuple[list[tuple[str, list[list[tuple[str, ...]]]]], list[tuple[str, list[tuple[str, ...]]]]]:
    """Positive bags ``(block id, [windows of each variant])`` and negative ``(block id, windows)``,
    tuning part only."""
    pos = []
    for name, _ in bd.PAYLOAD_FILES:
        for i, p in enumerate(bd.blocks(name)):
            bid = f"{name}:{i}"
            if bd.held_out(bid):
                continue
            variants, seen = [], set()
            for text in [p] + [fn(p) for ev, fn in bd.EVASIONS.items() if ev not in SKIP_EVASIONS]:
                w = windows_of(text)
                key = tuple(w)
                if w and key not in seen:
                    seen.add(key)
                    variants.append(w)
            pos.append((bid, variants))
    neg = []
    for name in bd.CARRIER_FILES:
        for i, c in enumerate(bd.blocks(name)):
            bid = f"{name}:{i}"
            if not bd.held_out(bid):
                neg.append((bid, windows_of(c.replace("{PAYLOAD}", ""))))
    for name, _ in bd.LOOKALIKE_FILES:
        for i, b in enumerate(bd.blocks(name)):
            bid = f"{name}:{i}"
            if not bd.held_out(bid):
                neg.append((bid, windows_of(b)))
    neg.extend((f"stdlib:{i}", windows_of(t)) for i, t in enumerate(stdlib_paragraphs()))
    return pos, neg


def stdlib_paragraphs(limit: int = 2000) -> list[str]:
    """Paragraphs of the docstrings of Python's standard library (files sorted, tests apart; the first
    ``limit`` of 80 characters or more): technical prose full of imperatives to a developer ("call
    close() first", "set the flag to ..."), a kind of benign text the look-alike files hold little of.
    Not part of the benchmark (the external set's README paragraphs come from installed packages)."""
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


def fingerprint() -> str:
    """SHA-256 of everything the model is trained on: the tuning blocks and the stdlib paragraphs."""
    h = hashlib.sha256()
    for name in [f for f, _ in bd.PAYLOAD_FILES] + list(bd.CARRIER_FILES) + [f for f, _ in bd.LOOKALIKE_FILES]:
        for i, b in enumerate(bd.blocks(name)):
            if not bd.held_out(f"{name}:{i}"):
                h.update(f"{name}:{i}\0{b}\0".encode())
    for i, t in enumerate(stdlib_paragraphs()):
        h.update(f"stdlib:{i}\0{t}\0".encode())
    return h.hexdigest()


# -- logistic regression ---------------------------------------------------------------------------

def sgd(examples: list[tuple[list[str], int, float]], epochs: int, l2: float, lr0: float) -> tuple[dict[str, float], float]:
    """Weighted logistic regression by SGD; L2 applied to the features an example touches."""
    w: dict[str, float] = {}
    b = 0.0
    order = list(range(len(examples)))
    rnd = random.Random(SEED)
    t = 0
    for _ in range(epochs):
        rnd.shuffle(order)
        for k in order:
            feats, y, cw = examples[k]
            z = b + sum(w.get(f, 0.0) for f in feats)
            p = 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))
            g = (p - y) * cw
            lr = lr0 / (1.0 + 0.0005 * t)
            t += 1
            for f in feats:
                old = w.get(f, 0.0)
                w[f] = old - lr * (g + l2 * old)
            b -= lr * g
    return w, b


def train(pos: list[tuple[str, list[list[tuple[str, ...]]]]], neg: list[tuple[str, list[tuple[str, ...]]]],
          args: argparse.Namespace) -> LinearModel:
    negs = [f for _, ws in neg for f in dict.fromkeys(ws)]  # a block's distinct windows, in order (a set's order changes with PYTHONHASHSEED)
    model = LinearModel({}, 0.0)
    for rnd_i in range(args.rounds):
        poss: list[tuple[str, ...]] = []
        for _, variants in pos:
            chosen: set[tuple[str, ...]] = set()
            for ws in variants:
                if rnd_i == 0:
                    chosen.update(ws)
                else:
                    zs = [model.logit_of(list(x)) for x in ws]
                    best = max(range(len(ws)), key=lambda j: zs[j])
                    chosen.add(ws[best])
                    chosen.update(x for x, z in zip(ws, zs) if z > 0)
            poss.extend(sorted(chosen))
        wp, wn = 0.5 / len(poss), 0.5 / len(negs)
        scale = len(poss) + len(negs)
        ex = [(features(list(x)), 1, wp * scale) for x in poss] + [(features(list(x)), 0, wn * scale) for x in negs]
        w, b = sgd(ex, args.epochs, args.l2, args.lr)
        keep = sorted(w, key=lambda f: (-abs(w[f]), f))[:args.keep]
        model = LinearModel({f: round(w[f], 4) for f in sorted(keep)}, round(b, 4))
    return model


# -- combination, chosen by cross-validation -------------------------------------------------------

def fold_of(bid: str, k: int) -> int:
    return zlib.crc32(("cv:" + bid).encode()) % k


def oof_scores(pos: Any, neg: Any, args: argparse.Namespace) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
    """(rule score, out-of-fold model probability) of every tuning benchmark item."""
    attacks, benign = bd.injection_items()
    a_out: list[tuple[float, float]] = []
    b_out: list[tuple[float, float]] = []
    for f in range(args.folds):
        model = train([x for x in pos if fold_of(x[0], args.folds) != f], [x for x in neg if fold_of(x[0], args.folds) != f], args)
        isc._MODEL = model
        for items, out in ((attacks, a_out), (benign, b_out)):
            for _, text, h, _, bid in items:
                if not h and fold_of(bid, args.folds) == f:
                    _, rule, hit = isc._score_parts(text)
                    out.append((rule, hit[0] if hit else 0.0))
        print(f"  fold {f}: trained on {len(model.weights)} features", file=sys.stderr)
    isc._MODEL = None
    return a_out, b_out


def choose(a: list[tuple[float, float]], b: list[tuple[float, float]], max_added_fp: int) -> tuple[dict[str, Any], dict[str, Any]]:
    base_tp = sum(r >= 0.6 for r, _ in a)
    base_fp = sum(r >= 0.6 for r, _ in b)
    grid_alone = [0.9, 0.95, 0.97, 0.98, 0.99, 0.995, 0.998, 0.999, 2.0]
    grid_rules = [0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.97, 0.98, 0.99, 2.0]
    best: Any = None
    for pa in grid_alone:
        for pr in grid_rules:
            if pr > pa:
                continue
            for rm in (0.1, 0.2, 0.3, 0.4):
                cfg = {"p_alone": pa, "p_with_rules": pr, "rule_min": rm, "level": 0.65}
                tp = sum(max(r, isc._learned_level(p, r, cfg)) >= 0.6 for r, p in a)
                fp = sum(max(r, isc._learned_level(p, r, cfg)) >= 0.6 for r, p in b)
                if fp - base_fp > max_added_fp:
                    continue
                # The rules were written on these very items, so they flag nearly all of them and many
                # settings tie on recall; text the rules have not seen is where the model must help, so
                # among ties prefer the setting under which the model itself flags the most attacks,
                # then the lowest thresholds (where the rules see less, the model alone must decide).
                fired = sum(isc._learned_level(p, r, cfg) >= 0.6 for r, p in a)
                key = (tp, fired, -fp, -pa, -pr, -rm)
                if best is None or key > best[0]:
                    best = (key, cfg, tp, fp)
    _, cfg, tp, fp = best
    stats = {"items": [len(a), len(b)], "rules_alone": {"recall": round(100 * base_tp / len(a), 1), "benign_flagged": round(100 * base_fp / len(b), 2)},
             "with_model": {"recall": round(100 * tp / len(a), 1), "benign_flagged": round(100 * fp / len(b), 2)}}
    return cfg, stats


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=WEIGHTS)
    ap.add_argument("--keep", type=int, default=3000, help="features kept (largest |weight|)")
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--rounds", type=int, default=3, help="training rounds (round 2 on: each payload's best windows only)")
    ap.add_argument("--l2", type=float, default=1e-3)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--max-added-fp", type=float, default=0.1,
                    help="percent of the benign tuning items the model may add to what the rules flag (0.1: one in a thousand; "
                         "with none allowed, one odd item among 1,600 switches the model off)")
    ap.add_argument("--no-cv", action="store_true", help="skip cross-validation (keeps the combination of the existing file)")
    args = ap.parse_args()
    t0 = time.perf_counter()
    pos, neg = tuning_blocks()
    print(f"tuning blocks: {len(pos)} payloads, {len(neg)} benign", file=sys.stderr)
    if args.no_cv:
        old = json.loads(args.out.read_text(encoding="utf-8"))
        cfg, stats = old["combine"], old.get("cross_validation", {})
    else:
        a, b = oof_scores(pos, neg, args)
        cfg, stats = choose(a, b, int(args.max_added_fp * len(b) / 100))
        print(f"cross-validated ({args.folds} folds) on the tuning part: {json.dumps(stats)}; combination {cfg}", file=sys.stderr)
    model = train(pos, neg, args)
    doc = {
        "about": "Learned part of lictor's prompt-injection scorer: logistic regression over word n-grams of sentence windows "
                 "of the normalised text. Written by benchmarks/train_injection_model.py; do not edit by hand.",
        "features": {"text": "injection_score.normalise", "segments": "sentences; long ones in chunks", "chunk_tokens": CHUNK,
                     "window_segments": 2, "ngrams": [1, 2], "segment_start_marker": "^",
                     "class_tokens": ["<email>", "<url>", "<num>"], "word_classes": sorted(set(_CLASS.values()))},
        "training": {"data": "tuning part of benchmarks/data (crc32(block id) % 4 != 0): payload files plain and with evasions "
                             "(positives), look-alike files, carriers and stdlib docstring paragraphs (negatives); held-out and "
                             "external sets never read",
                     "sha256": fingerprint(), "payload_blocks": len(pos), "benign_blocks": len(neg), "seed": SEED,
                     "epochs": args.epochs, "rounds": args.rounds, "l2": args.l2, "lr": args.lr, "kept_features": len(model.weights)},
        "combine": cfg,
        "cross_validation": stats,
        "bias": model.bias,
        "weights": model.weights,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=0, sort_keys=False, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {args.out} ({args.out.stat().st_size / 1024:.0f} KB, {len(model.weights)} features) in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
