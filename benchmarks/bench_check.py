"""Decision latency of ``Governor.check`` on a 100-rule policy, with the audit trail off and on.

    python benchmarks/bench_check.py [--checks 100000] [--rules 100] [--protections]

The policy has rules on 50 tools: plain denies, CEL conditions on arguments and roles,
redactions, approvals and rate limits. The checks are a fixed, seeded mix of actions on those
tools and on tools no rule names. Actions are built before timing (adapters build them from the
framework's event either way); each check is timed alone with ``perf_counter_ns``.
Targets (DESIGN.md §5): p50 <= 20 µs and p99 <= 100 µs with the audit on.
``--protections`` turns every built-in protection on (``protections_config``) for every policy
measured, and gives the actions the tool definitions and roles adapters attach.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import lictor
from lictor.audit import verify_file


def build_policy(n_rules: int, audit_path: str | None, protections: dict[str, Any] | None = None) -> dict[str, Any]:
    rules: list[dict[str, Any]] = []
    for i in range(n_rules):
        tool = f"tool_{i % 50}"
        shape = i % 5
        if shape == 0:
            rules.append({"id": f"r{i}", "match": {"kind": "tool_call", "name": tool},
                          "when": "args.amount > 900 && !('treasurer' in agent_roles)", "effect": "approve", "risks": ["ASI02"]})
        elif shape == 1:
            rules.append({"id": f"r{i}", "match": {"kind": "tool_call", "name": tool, "agent": "bot-*"},
                          "when": "args.target.startsWith('prod-')", "effect": "deny", "risks": ["ASI02"]})
        elif shape == 2:
            rules.append({"id": f"r{i}", "match": {"kind": "tool_call", "name": tool},
                          "limit": {"count": 1_000_000, "per": "60s", "key": "agent"}, "risks": ["ASI08"]})
        elif shape == 3:
            rules.append({"id": f"r{i}", "match": {"kind": "tool_call", "name": tool}, "effect": "redact",
                          "redact": {"args": ["card"]}, "risks": ["ASI03"]})
        else:
            rules.append({"id": f"r{i}", "match": {"kind": ["tool_call", "code_exec"], "name": f"shell_{i}*"},
                          "effect": "deny", "risks": ["ASI05"]})
    policy: dict[str, Any] = {"agents": {"treasurer-*": {"roles": ["treasurer"]}}, "rules": rules}
    if audit_path:
        policy["audit"] = {"sink": "sqlite", "path": audit_path}
    if protections:
        policy["protections"] = protections
    return policy


def build_actions(n: int, seed: int = 7) -> list[lictor.Action]:
    rnd = random.Random(seed)
    agents = [f"support-{i}" for i in range(20)] + [f"bot-{i}" for i in range(5)] + ["treasurer-1"]
    out = []
    for i in range(n):
        t = rnd.randrange(70)
        name = f"tool_{t}" if t < 50 else f"unlisted_{t}"
        args: dict[str, Any] = {"amount": rnd.randrange(1000), "target": rnd.choice(["prod-db", "staging", "prod-api", "dev"]),
                                "note": "customer asked for a refund of the last order"}
        if rnd.random() < 0.3:
            args["card"] = "4111 1111 1111 1111"
        out.append(lictor.Action(kind="tool_call", agent=rnd.choice(agents), name=name, args=args,
                                 session=f"s{i % 100}"))
    return out


def protections_config(tmp: str) -> dict[str, Any]:
    """Every built-in protection on, configured for the benchmark's agents and tools.

    Sections of protections this file does not know get ``{}`` (their defaults)."""
    import os

    from lictor.protections import PROTECTIONS

    os.environ.setdefault("LICTOR_BENCH_MESSAGE_KEY", "bench-key-0123456789abcdef")
    baseline_path = str(Path(tmp) / "baseline.json")
    known: dict[str, Any] = {
        "tool_access": {"agents": {"support-*": {"allow": ["tool_*", "unlisted_*"], "deny": ["tool_49"]},
                                   "bot-*": {"allow": ["tool_*", "unlisted_*"]}},
                        "roles": {"treasurer": {"allow": ["*"]}},
                        "args": {"tool_*": {"properties": {"amount": {"type": "number", "minimum": 0, "maximum": 100_000},
                                                           "target": {"type": "string", "maxLength": 64}}}}},
        "egress": {"allow_domains": ["*.example.com"]},
        "budgets": {"spend": [{"tools": ["tool_1*"], "amount_arg": "amount", "per_session": 10_000_000}],
                    "calls": {"per_session": 10_000_000}, "tokens": {"per_session": 10_000_000}},
        "delegation": {},
        "tool_pinning": {},
        "code_exec": {},
        "message_signing": {"key_env": "LICTOR_BENCH_MESSAGE_KEY"},
        "loops": {"max_repeats": 50},
        "circuit_breaker": {"failures": 5},
        "baseline": {"path": baseline_path, "thresholds": {"deny": 0.95}, "unknown_agent": "allow"},
    }
    return {name: known.get(name, {}) for name in PROTECTIONS}


def learn_baseline(protections: dict[str, Any], actions: list[lictor.Action]) -> None:
    """Run the actions once with the baseline learning, so the measured run scores them."""
    learn = {"baseline": dict(protections["baseline"], learn=True)}
    with lictor.Governor({"protections": learn}, load_entrypoints=False) as gov:
        for a in actions[:20_000]:
            gov.check(a)


def with_tool_specs(actions: list[lictor.Action]) -> list[lictor.Action]:
    """The actions as an adapter sends them: with the tool's definition (for tool_pinning)."""
    specs: dict[str, dict[str, Any]] = {}
    out = []
    for a in actions:
        spec = specs.setdefault(a.name, {"description": f"Does {a.name} for a customer order.",
                                         "schema": {"type": "object", "properties": {"amount": {"type": "number"}}}})
        out.append(a.model_copy(update={"metadata": {"framework": "bench", "tool": spec}}))
    return out


def measure(gov: lictor.Governor, actions: list[lictor.Action]) -> tuple[list[float], dict[str, int], float]:
    for a in actions[:2000]:  # warm caches
        gov.check(a)
    timer = time.perf_counter_ns
    lat = [0.0] * len(actions)
    verdicts: dict[str, int] = {}
    gc.disable()
    start = time.perf_counter()
    try:
        for i, a in enumerate(actions):
            t0 = timer()
            d = gov.check(a)
            lat[i] = (timer() - t0) / 1000.0
            verdicts[d.verdict] = verdicts.get(d.verdict, 0) + 1
    finally:
        gc.enable()
    wall = time.perf_counter() - start
    return lat, verdicts, wall


def report(label: str, lat: list[float], verdicts: dict[str, int], wall: float) -> None:
    q = statistics.quantiles(lat, n=100)
    print(f"{label:<28} p50 {q[49]:6.1f} µs   p99 {q[98]:6.1f} µs   max {max(lat):8.1f} µs   "
          f"{len(lat) / wall:9,.0f} checks/s   verdicts {dict(sorted(verdicts.items()))}")


def scaling(n_checks: int) -> None:
    """A 1,000-rule policy where only 10 rules can match costs what the 10-rule one costs."""
    actions = [lictor.Action(kind="tool_call", agent=f"a{i % 7}", name=f"hot_{i % 10}", args={"amount": i % 300})
               for i in range(n_checks)]
    hot = [{"id": f"hot{i}", "match": {"name": f"hot_{i}"}, "when": "args.amount > 250", "effect": "deny"} for i in range(10)]
    cold = [{"id": f"cold{i}", "match": {"name": f"cold_{i}"}, "when": "args.amount > 1", "effect": "deny"} for i in range(990)]
    for label, rules in (("10 rules", hot), ("1,000 rules (10 can match)", hot + cold)):
        with lictor.Governor({"rules": rules}, load_entrypoints=False) as gov:
            report(label, *measure(gov, actions))


_PAGE = (
    "Order A-1001 shipped on 3 March to Jane Doe, 12 Example Street. The customer asked about the "
    "delivery window and the return policy; our agent explained the 30-day rule and offered a label. "
    "Payment was made by card; the invoice total was 59.90 EUR including VAT. Notes from the warehouse: "
    "two items packed, one back-ordered, expected next week. Contact: support@example.com. "
)


def text_scans(gov: lictor.Governor) -> None:
    """Cost of the text protections per KB: a benign tool result and a model prompt of ~1, 4
    and 16 KB through ``check_output`` / ``check`` with every protection on."""
    print("\ntext scans (every protection on):")
    for kb in (1, 4, 16):
        text = (_PAGE * (kb * 1024 // len(_PAGE) + 1))[: kb * 1024]
        out_action = lictor.Action(kind="tool_call", agent="support-1", name="lookup_order", session="s-text")
        prompt = lictor.Action(kind="model_call", agent="support-1", name="gpt", content=text, session="s-text",
                               metadata={"source": "tool"})
        for label, fn in (("tool output", lambda: gov.check_output(out_action, text)),
                          ("model prompt", lambda: gov.check(prompt))):
            for _ in range(20):
                fn()
            n = 200
            t0 = time.perf_counter()
            for _ in range(n):
                fn()
            per = (time.perf_counter() - t0) / n * 1e6
            print(f"  {label:<13} {kb:>2} KB   {per:8.0f} µs per check   {per / kb:6.0f} µs per KB")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checks", type=int, default=100_000)
    ap.add_argument("--rules", type=int, default=100)
    ap.add_argument("--protections", action="store_true", help="turn every built-in protection on")
    args = ap.parse_args()
    actions = build_actions(args.checks)
    print(f"{args.rules}-rule policy, {args.checks:,} checks of mixed actions (lictor {lictor.__version__})")
    prot_tmp = tempfile.TemporaryDirectory()
    protections: dict[str, Any] = {}
    if args.protections:
        protections = protections_config(prot_tmp.name)
        actions = with_tool_specs(actions)
        learn_baseline(protections, actions)
        print(f"protections on: {', '.join(protections)}")
    with lictor.Governor(build_policy(args.rules, None, protections), load_entrypoints=False) as gov:
        report("audit off", *measure(gov, actions))
    if protections:
        with lictor.Governor(build_policy(args.rules, None, protections), load_entrypoints=False) as gov:
            text_scans(gov)
    print("\nrule indexing:")
    scaling(min(args.checks, 50_000))
    print("\naudit trail:")
    with tempfile.TemporaryDirectory() as tmp:
        for durability in ("journal", "batch"):
            path = str(Path(tmp) / f"audit-{durability}.db")
            pol = build_policy(args.rules, path, protections)
            pol["audit"]["durability"] = durability
            gov = lictor.Governor(pol, load_entrypoints=False)
            lat, verdicts, wall = measure(gov, actions)
            gov.close()
            report(f"audit on ({durability})", lat, verdicts, wall)
            rep = verify_file(path)
            print(f"{'':<28} audit: {rep.records:,} records, chain {'intact' if rep.ok else 'BROKEN'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
