"""Where the prompt-injection scorer spends its time, and a check that a faster scorer gives the
same results.

    python benchmarks/profile_injection.py --save-ref /tmp/inj_ref.pickle   # before a change
    python benchmarks/profile_injection.py --check-ref /tmp/inj_ref.pickle  # after it: any difference is a bug
    python benchmarks/profile_injection.py --stages                         # per-stage timers over the corpus
    python benchmarks/profile_injection.py --profile                        # cProfile, top functions
    python benchmarks/profile_injection.py --write-fixture PATH             # tests/core/fixtures/injection_expected.json

The corpus is every text ``bench_detection.py`` scores for injection (tuning, held-out, external,
the large document), every block of the data files, the string literals of the injection tests,
and deterministic variants of them (slices at odd offsets, upper case, look-alike letters, zero
width characters, leetspeak, HTML comments): a speed-up must not change the score or any signal
(family, name, weight, snippet, offsets, channel) of any of them.
"""

from __future__ import annotations

import argparse
import ast
import cProfile
import hashlib
import json
import pickle
import pstats
import random
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_detection as bd  # noqa: E402
from lictor.protections import injection_score as isc  # noqa: E402


def bench_texts() -> list[str]:
    """The texts of bench_detection's injection sets (what its "cost:" lines measure)."""
    attacks, benign = bd.injection_items()
    return [x[1] for x in attacks + benign]


def big_document() -> str:
    return " ".join(bd.blocks("carriers.txt")).replace("{PAYLOAD}", "") * 4


def test_strings() -> list[str]:
    out = []
    for name in ("test_protection_prompt_injection.py", "test_protection_memory_guard.py", "test_fuzz_inputs.py"):
        p = ROOT / "tests" / "core" / name
        if p.exists():
            for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value:
                    out.append(node.value)
    return out


_VARIANTS = [
    lambda s, r: s.upper(),
    lambda s, r: bd.homoglyph_wide(s),
    lambda s, r: bd.zero_width(s),
    lambda s, r: bd.leet(s),
    lambda s, r: bd.leet_symbols(s),
    lambda s, r: bd.spaced_flat(s),
    lambda s, r: bd.html_comment(s),
    lambda s, r: bd.b64(s[:300]),
    lambda s, r: "&lt;b&gt;" + s.replace(" ", "&nbsp;", 6),
    lambda s, r: s.replace(" ", "  ").replace("e", "é"),
]


def corpus(variants: bool = True) -> list[str]:
    """Every text to check, without duplicates, in a stable order."""
    texts = bench_texts()
    ext_a, ext_b = bd.external_sets()
    texts += [t for _, t in ext_a + ext_b]
    texts.append(big_document())
    for f in sorted((ROOT / "benchmarks" / "data").glob("*.txt")):
        texts += bd.blocks(f.name)
    texts += test_strings()
    if variants:
        rnd = random.Random(7)
        base = list(dict.fromkeys(texts))
        extra = []
        for i, t in enumerate(base):
            if len(t) > 40:
                a = rnd.randrange(len(t))
                extra.append(t[a:a + rnd.randrange(1, 600)])
            if i % 3 == 0:
                extra.append(_VARIANTS[(i // 3) % len(_VARIANTS)](t, rnd))
        texts += extra
    return list(dict.fromkeys(t for t in texts if t))


def key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def result(text: str) -> tuple[Any, ...]:
    r = isc.score_text(text)
    return (r.score, tuple((s.family, s.name, s.weight, s.snippet, s.start, s.end, s.channel) for s in r.signals), tuple(r.evidence()))


def save_ref(path: str) -> None:
    texts = corpus()
    ref = {key(t): result(t) for t in texts}
    Path(path).write_bytes(pickle.dumps(ref))
    print(f"saved {len(ref)} results to {path}")


def check_ref(path: str) -> int:
    ref = pickle.loads(Path(path).read_bytes())
    texts = corpus()
    bad = 0
    seen = 0
    for t in texts:
        k = key(t)
        if k not in ref:
            continue
        seen += 1
        got = result(t)
        if got != ref[k]:
            bad += 1
            if bad <= 5:
                print(f"DIFFERENT: {' '.join(t.split())[:120]!r}\n  want {ref[k][:2]}\n  got  {got[:2]}")
    print(f"{seen - bad}/{seen} texts identical ({len(ref)} in the reference)")
    return 1 if bad or seen != len(ref) else 0


def write_fixture(path: str, n: int = 300) -> None:
    """About ``n`` diverse texts with their expected score (4 decimals) and first evidence line."""
    rnd = random.Random(3)
    attacks, benign = bd.injection_items()
    ext_a, ext_b = bd.external_sets()
    pools = {
        "attack": [x[1] for x in attacks],
        "benign": [x[1] for x in benign],
        "external": [t for _, t in ext_a + ext_b],
        "tests": [t for t in test_strings() if len(t) > 12],
    }
    chosen: list[str] = []
    for name, k in (("attack", 120), ("benign", 100), ("external", 50), ("tests", 25)):
        pool = list(dict.fromkeys(pools[name]))
        chosen += rnd.sample(pool, min(k, len(pool)))
    chosen.append(big_document())
    longest = sorted(set(pools["benign"] + pools["attack"]), key=len)[-4:]
    chosen += longest
    chosen = list(dict.fromkeys(chosen))
    items = []
    for t in chosen:
        r = isc.score_text(t)
        ev = r.evidence()
        items.append({"text": t, "score": round(r.score, 4), "first_evidence": ev[0] if ev else None})
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(items, ensure_ascii=False, indent=0), encoding="utf-8")
    print(f"wrote {len(items)} items to {path} ({sum(1 for i in items if i['score'] >= 0.6)} flagged)")


def cost(texts: list[str], fn: Any = None, reps: int = 3) -> float:
    """µs per KB of ``fn`` (score_text) over ``texts``."""
    fn = fn or isc.score_text
    kb = sum(len(t.encode()) for t in texts) / 1024
    t0 = time.perf_counter()
    for _ in range(reps):
        for t in texts:
            fn(t)
    return (time.perf_counter() - t0) / reps * 1e6 / kb


def short_cost(text: str = "The quarterly report is attached; revenue grew 4 % on last year.", reps: int = 20000) -> float:
    isc.score_text(text)
    t0 = time.perf_counter()
    for _ in range(reps):
        isc.score_text(text)
    return (time.perf_counter() - t0) / reps * 1e6


def timings() -> None:
    texts = bench_texts()
    isc.score_text("warm up")
    print(f"score_text: {cost(texts):.1f} µs per KB on bench_detection's corpus ({sum(len(t.encode()) for t in texts) / 1024:.0f} KB)")
    print(f"score_text: {short_cost():.1f} µs for a short clean text")
    big = big_document()
    t0 = time.perf_counter()
    for _ in range(5):
        isc.score_text(big)
    us = (time.perf_counter() - t0) / 5 * 1e6
    print(f"score_text: {us:,.0f} µs on one {len(big) / 1024:.0f} KB document")


def stages() -> None:
    """Time of each stage on its own, summed over bench_detection's corpus (µs per KB)."""
    texts = bench_texts()
    kb = sum(len(t.encode()) for t in texts) / 1024
    model = isc._learned()
    norms = [isc.normalise(t) for t in texts]

    def run(label: str, fn: Any, args: list[Any]) -> None:
        t0 = time.perf_counter()
        for a in args:
            fn(a)
        print(f"  {label:<28} {(time.perf_counter() - t0) * 1e6 / kb:8.1f} µs/KB")

    run("hidden channels", isc._hidden_channels, texts)
    run("normalise", isc.normalise, texts)
    run("needle scan", isc._needles_in, norms)
    run("match_signals (all)", lambda n: isc._match_signals(n, "text"), norms)
    run("structure signals", isc._structure_signals, norms)
    run("quotations", isc._quotations, norms)
    if model is not None:
        from lictor.protections import injection_model as im
        run("model segments", im.segments, norms)
        run("model best", model.best, norms)
        run("learned_hit (incl. span)", lambda n: isc._learned_hit(n, "text"), norms)
    # each pattern family alone, on the texts where its needles occur
    per: dict[str, float] = {}
    for n in norms:
        present = isc._needles_in(n)
        for p in isc._COMPILED:
            if p.needles.isdisjoint(present):
                continue
            t0 = time.perf_counter()
            for _ in p.rx.finditer(n):
                break
            per[p.name] = per.get(p.name, 0.0) + time.perf_counter() - t0
    print("  whole-text search per pattern (top 12, where its needles are present):")
    for name, t in sorted(per.items(), key=lambda x: -x[1])[:12]:
        print(f"    {name:<26} {t * 1e6 / kb:8.1f} µs/KB")


def profile() -> None:
    texts = bench_texts()
    isc.score_text("warm up")
    pr = cProfile.Profile()
    pr.enable()
    for t in texts:
        isc.score_text(t)
    pr.disable()
    pstats.Stats(pr).sort_stats("tottime").print_stats(25)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--save-ref")
    ap.add_argument("--check-ref")
    ap.add_argument("--write-fixture")
    ap.add_argument("--stages", action="store_true")
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()
    if args.save_ref:
        save_ref(args.save_ref)
    if args.write_fixture:
        write_fixture(args.write_fixture)
    if args.check_ref:
        return check_ref(args.check_ref)
    if args.stages:
        stages()
    if args.profile:
        profile()
    if not (args.save_ref or args.check_ref or args.write_fixture or args.stages or args.profile):
        timings()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
