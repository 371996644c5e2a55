"""Governed vs ungoverned wall time of the same offline agent run, per framework.

    python benchmarks/bench_overhead.py --framework langgraph [--runs 30]

Each framework's scenario lives in ``benchmarks/overhead_<framework>.py`` and provides
``run(governed: bool, runs: int) -> list[float]`` (seconds per agent run). This script runs
both variants interleaved, prints the medians and the overhead in percent (goal: <= 5 %).
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--framework", required=True, choices=["langgraph", "autogen", "crewai"])
    parser.add_argument("--runs", type=int, default=30, help="agent runs per variant (default 30)")
    parser.add_argument("--model-latency-ms", type=float, default=0.0,
                        help="make each scripted model call take this long, like a hosted model "
                             "(default 0: the worst case, where only framework and Lictor time counts)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).parent))
    scenario = importlib.import_module(f"overhead_{args.framework}")
    scenario.MODEL_LATENCY = args.model_latency_ms / 1000.0
    scenario.run(True, 3)  # warm up imports and caches
    scenario.run(False, 3)
    plain: list[float] = []
    governed: list[float] = []
    for _ in range(args.runs):
        plain += scenario.run(False, 1)
        governed += scenario.run(True, 1)
    p, g = statistics.median(plain), statistics.median(governed)
    print(f"framework: {args.framework}  runs per variant: {args.runs}  model latency: {args.model_latency_ms:g} ms per call")
    print(f"ungoverned median: {p * 1e3:.2f} ms per agent run")
    print(f"governed   median: {g * 1e3:.2f} ms per agent run")
    print(f"overhead: {(g - p) / p * 100:+.1f} %  ({(g - p) * 1e6:.0f} µs per run)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
