"""Shared state on a real Redis server: limits and the kill switch across processes."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import lictor

from core_helpers import act


def policy(url: str, prefix: str) -> dict:
    return {
        "state": {"backend": "redis", "url": url, "prefix": prefix, "flag_refresh": "50ms"},
        "rules": [{"id": "refund-rate", "match": {"name": "refund"}, "limit": {"count": 5, "per": "60s", "key": "agent"}}],
    }


def test_two_governors_share_one_rate_limit(redis_url: str) -> None:
    a = lictor.Governor.from_dict(policy(redis_url, "t1:"), load_entrypoints=False)
    b = lictor.Governor.from_dict(policy(redis_url, "t1:"), load_entrypoints=False)
    verdicts = [(a if i % 2 else b).check(act("refund", agent="x")).verdict for i in range(7)]
    assert verdicts == ["allow"] * 5 + ["deny"] * 2
    assert a.check(act("refund", agent="y")).verdict == "allow"
    other = lictor.Governor.from_dict(policy(redis_url, "other:"), load_entrypoints=False)  # own prefix, own counts
    assert other.check(act("refund", agent="x")).verdict == "allow"
    for g in (a, b, other):
        g.close()


def test_limit_shared_by_many_processes_is_exact(redis_url: str, tmp_path: Path) -> None:
    code = textwrap.dedent(f"""
        import json, lictor
        gov = lictor.Governor.from_dict({policy(redis_url, "t2:")!r}, load_entrypoints=False)
        out = [gov.check(lictor.Action(kind="tool_call", agent="shared", name="refund")).verdict for _ in range(4)]
        print(json.dumps(out))
    """)
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True) for _ in range(4)]
    results = [json.loads(p.communicate(timeout=60)[0]) for p in procs]
    flat = [v for r in results for v in r]
    assert flat.count("allow") == 5 and flat.count("deny") == 11


def test_kill_switch_engaged_in_one_process_stops_another(redis_url: str) -> None:
    code = textwrap.dedent(f"""
        import sys, time, lictor
        gov = lictor.Governor.from_dict({policy(redis_url, "t3:")!r}, load_entrypoints=False)
        print("ready", flush=True)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            d = gov.check(lictor.Action(kind="tool_call", agent="worker", name="lookup"))
            if d.halt:
                print("halted:", d.reasons[0], flush=True)
                break
            time.sleep(0.01)
    """)
    worker = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
    ops = lictor.Governor.from_dict(policy(redis_url, "t3:"), load_entrypoints=False)
    ops.kill_switch.engage("incident 42", agent="worker")
    out, _ = worker.communicate(timeout=30)
    assert "halted: kill switch engaged for agent 'worker': incident 42" in out
    assert ops.check(act("lookup", agent="worker")).halt
    ops.kill_switch.release(agent="worker")
    assert not ops.check(act("lookup", agent="worker")).halt
    ops.close()


def test_unreachable_redis_is_a_clear_policy_error() -> None:
    with pytest.raises(lictor.PolicyError, match="state.url: cannot reach Redis at redis://127.0.0.1:1/0"):
        lictor.Governor.from_dict({"state": {"backend": "redis", "url": "redis://127.0.0.1:1/0"}}, load_entrypoints=False)
    with pytest.raises(lictor.PolicyError, match="backend 'redis' needs a 'url'"):
        lictor.Governor.from_dict({"state": {"backend": "redis"}}, load_entrypoints=False)


@pytest.mark.parametrize("backend", ["memory", "redis"])
def test_spend_is_all_or_nothing_over_sliding_windows(backend: str, redis_url: str) -> None:
    from lictor.redis_state import RedisState
    from lictor.state import MemoryState

    state = MemoryState() if backend == "memory" else RedisState(redis_url, prefix=f"spend-{time.time()}:")
    t = 1000.0
    both = lambda amount: [("session:s1", amount, 100.0, 60.0), ("agent:a", amount, 150.0, 60.0)]  # noqa: E731
    assert state.spend(both(60), t) is None
    assert state.spend(both(50), t + 1) == (0, 60.0)  # session would reach 110 > 100: nothing added
    assert state.spend([("agent:a", 90, 150.0, 60.0)], t + 2) is None  # so the agent still had 90 left
    assert state.spend(both(1), t + 3) == (1, 150.0)  # agent at 150: over on the second key
    assert state.spend(both(70), t + 61) == (1, 90.0)  # t's 60 expired; the agent still holds 90 from t+2
    assert state.spend(both(70), t + 63) is None      # t+2's 90 expired too
    state.close()


def test_spend_is_shared_between_processes(redis_url: str) -> None:
    code = textwrap.dedent(f"""
        import json, time
        from lictor.redis_state import RedisState
        s = RedisState({redis_url!r}, prefix="spend-shared:")
        print(json.dumps([s.spend([("k", 10.0, 100.0, 60.0)], time.time()) is None for _ in range(5)]))
    """)
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True) for _ in range(4)]
    results = [v for p in procs for v in json.loads(p.communicate(timeout=60)[0])]
    assert results.count(True) == 10 and results.count(False) == 10


def test_spend_budget_holds_across_processes(redis_url: str) -> None:
    policy = {
        "state": {"backend": "redis", "url": redis_url, "prefix": f"budget-{time.time()}:"},
        "protections": {"budgets": {"spend": [{"tools": ["issue_refund"], "amount_arg": "amount", "per_agent": 1000}]}},
    }
    code = textwrap.dedent(f"""
        import json, lictor
        gov = lictor.Governor.from_dict({policy!r}, load_entrypoints=False)
        a = lictor.Action(kind="tool_call", agent="payer", name="issue_refund", args={{"amount": 100}}, session="s")
        print(json.dumps([gov.check(a).verdict for _ in range(5)]))
    """)
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True) for _ in range(4)]
    verdicts = [v for p in procs for v in json.loads(p.communicate(timeout=60)[0])]
    assert verdicts.count("allow") == 10 and verdicts.count("deny") == 10  # 10 x 100 = the agent's 1000
