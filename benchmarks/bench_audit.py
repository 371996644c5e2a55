"""What the audit trail costs per decision: journal vs batch vs no audit.

Three measurements:

1. ``hook``: the audit plugin's ``lictor_on_decision`` alone, called with a realistic decision
   (the exact work the hot path does for the audit: encode, hash the content, append).
2. ``check``: a whole ``Governor.check()`` with a small rule set, audit journal / batch / none;
   the difference to ``none`` is the audit's share of a real decision.
3. ``append``: the journal append alone (``Writer.append`` of a 470-byte record: copy into the
   mapped segment), each call timed alone, one call per ~20 µs of other work - the pace of real
   decisions, at which the background writer prepares segments ahead as it does in real use.

Run: ``python benchmarks/bench_audit.py [N]``. Prints p50 / p99 in microseconds.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import lictor
from lictor import Action

RULES = [
    {"id": "no-shell", "match": {"kind": "tool_call", "name": "shell*"}, "effect": "deny", "risks": ["ASI05"]},
    {"id": "big-refund", "match": {"name": "issue_refund"}, "when": "args.amount > 100", "effect": "approve"},
]

ACTION = Action(
    kind="tool_call",
    agent="support-7",
    name="issue_refund",
    args={"amount": 50, "iban": "DE89370400440532013000", "note": "customer asked twice"},
    content="Please refund order 12345, the parcel never arrived.",
    session="thread-42",
    call_id="call-1",
)


def percentiles(samples: list[float]) -> tuple[float, float, float]:
    samples.sort()
    n = len(samples)
    return samples[n // 2], samples[int(n * 0.99)], statistics.fmean(samples)


def governor(tmp: Path, mode: str) -> lictor.Governor:
    policy: dict = {"rules": RULES}
    if mode != "none":
        policy["audit"] = {"path": str(tmp / f"{mode}.db"), "durability": mode}
    return lictor.Governor.from_dict(policy, load_entrypoints=False)


def bench_hook(gov: lictor.Governor, n: int) -> list[float]:
    plugin = gov.pm.get_plugin("audit")
    decision = gov.check(ACTION)
    ctx = gov.ctx
    hook = plugin.lictor_on_decision
    clock = time.perf_counter_ns
    out = []
    for _ in range(n):
        t0 = clock()
        hook(ACTION, decision, ctx)
        out.append((clock() - t0) / 1000)
    return out


def bench_check(gov: lictor.Governor, n: int) -> list[float]:
    check = gov.check
    clock = time.perf_counter_ns
    out = []
    for _ in range(n):
        t0 = clock()
        check(ACTION)
        out.append((clock() - t0) / 1000)
    return out


def bench_append(tmp: Path, n: int) -> list[float]:
    from lictor.audit.writer import Writer

    writer = Writer(str(tmp / "append.db"), "journal", 0.2)
    body = b'{"x":"' + b"a" * 440 + b'"}'
    clock = time.perf_counter_ns
    out = []
    try:
        for i in range(n):
            rid = writer.rid_prefix + str(i)
            t0 = clock()
            writer.append(rid, body)
            out.append((clock() - t0) / 1000)
            busy = clock() + 20_000  # the rest of a decision
            while clock() < busy:
                pass
    finally:
        writer.close()
    return out


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    print(f"{n} calls each; microseconds (p50 / p99 / mean)")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        print(f"journal  append alone (paced): {'%.2f / %.2f / %.2f' % percentiles(bench_append(tmp, n))}")
        for mode in ("journal", "batch", "none"):
            gov = governor(tmp, mode)
            try:
                bench_check(gov, 2000)  # warm up
                hook = bench_hook(gov, n) if mode != "none" else None
                check = bench_check(gov, n)
                if mode != "none":
                    t0 = time.perf_counter()
                    gov.audit.flush()
                    flush = time.perf_counter() - t0
                    report = gov.audit.verify()
                    assert report.ok, report
            finally:
                gov.close()
            line = f"{mode:8s} check(): {'%.2f / %.2f / %.2f' % percentiles(check)}"
            if hook is not None:
                line += f"   audit hook alone: {'%.2f / %.2f / %.2f' % percentiles(hook)}"
                line += f"   ({report.records} records verified; last flush {flush * 1000:.1f} ms)"
            print(line)


if __name__ == "__main__":
    main()
