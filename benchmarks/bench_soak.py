"""Soak: 500 concurrent agents (asyncio tasks) deciding for 60 s; no audit record lost or doubled.

    python benchmarks/bench_soak.py [--agents 500] [--seconds 60]

Each agent loops: build an action, ``await gov.acheck``, sometimes ``check_output``, yield to
the loop. At the end the trail must hold exactly one record per decision made, with unique
decision ids, and the chain must verify (DESIGN.md §5).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

import lictor
from lictor.audit import read_records, verify_file

POLICY = {
    "rules": [
        {"id": "no-shell", "match": {"name": "shell"}, "effect": "deny", "risks": ["ASI05"]},
        {"id": "big", "match": {"name": "refund"}, "when": "args.amount > 900", "effect": "approve"},
        {"id": "rate", "match": {"name": "search"}, "limit": {"count": 50, "per": "1s", "key": "agent"}},
        {"id": "mask", "match": {"name": "mail"}, "effect": "redact", "redact": {"args": ["card"]}},
    ],
}


async def agent(gov: lictor.Governor, i: int, until: float, made: list[str], lat: list[float]) -> None:
    names = ["lookup", "refund", "mail", "search", "shell"]
    n = 0
    while time.monotonic() < until:
        a = lictor.Action(kind="tool_call", agent=f"agent-{i}", name=names[n % 5], session=f"s-{i}",
                          args={"amount": (n * 37) % 1000, "card": "4111"})
        t0 = time.perf_counter()
        d = await gov.acheck(a)
        lat.append(time.perf_counter() - t0)
        made.append(d.decision_id)
        if n % 4 == 0:
            made.append((await gov.acheck_output(a, "result text")).decision_id)
        n += 1
        await asyncio.sleep(0)


async def main_async(agents: int, seconds: float, path: str) -> tuple[list[str], list[float]]:
    made: list[str] = []
    lat: list[float] = []
    with lictor.Governor({**POLICY, "audit": {"sink": "sqlite", "path": path}}, load_entrypoints=False) as gov:
        until = time.monotonic() + seconds
        await asyncio.gather(*[agent(gov, i, until, made, lat) for i in range(agents)])
    return made, lat


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--agents", type=int, default=500)
    ap.add_argument("--seconds", type=float, default=60.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "soak.db")
        t0 = time.perf_counter()
        made, lat = asyncio.run(main_async(args.agents, args.seconds, path))
        wall = time.perf_counter() - t0
        report = verify_file(path)
        ids = Counter(r["decision_id"] for r in read_records(path))
    lost = len(set(made) - set(ids))
    doubled = sum(1 for c in ids.values() if c > 1)
    q = statistics.quantiles([x * 1e6 for x in lat], n=100)
    print(f"{args.agents} agents for {args.seconds:g} s: {len(made):,} decisions ({len(made) / wall:,.0f}/s), "
          f"check p50 {q[49]:.1f} µs p99 {q[98]:.1f} µs")
    print(f"audit: {report.records:,} records, lost {lost}, duplicated {doubled}, "
          f"unique ids {len(set(made)) == len(made)}, chain {'intact' if report.ok else 'BROKEN: ' + report.problem}")
    return 0 if report.ok and lost == 0 and doubled == 0 and report.records == len(made) else 1


if __name__ == "__main__":
    raise SystemExit(main())
