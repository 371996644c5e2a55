"""The Governor: effects, combination of plugin votes, fail-closed, modes, approvals, isolation."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from typing import Any, Optional

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lictor
from lictor import Action, Approval, Decision, PluginError, PolicyViolation

from core_helpers import act


class Vote:
    """A plugin that always casts the same vote (and records what it saw)."""

    def __init__(self, name: str, vote: Optional[Decision], *, tryfirst: bool = False) -> None:
        self.name = name
        self._vote = vote
        self.seen: list[Action] = []

    @lictor.hookimpl
    def lictor_check_action(self, action: Action) -> Optional[Decision]:
        self.seen.append(action)
        return self._vote


def test_each_effect_through_rules(make_gov) -> None:
    gov = make_gov({"rules": [
        {"id": "deny-shell", "match": {"name": "shell"}, "effect": "deny", "risks": ["ASI05"]},
        {"id": "approve-pay", "match": {"name": "pay"}, "effect": "approve"},
        {"id": "mask", "match": {"name": "mail"}, "effect": "redact", "redact": {"args": ["secret"]}},
        {"id": "ok", "match": {"name": "read"}, "effect": "allow"},
    ]})
    d = gov.check(act("shell"))
    assert (d.verdict, d.rule_ids, d.risks, d.blocked) == ("deny", ("deny-shell",), ("ASI05",), True)
    d = gov.check(act("pay"))
    assert (d.verdict, d.pending, d.blocked) == ("approve", True, True)
    d = gov.check(act("mail", args={"secret": "s3cr3t", "to": "x"}))
    assert d.verdict == "redact" and d.action.args == {"secret": "[REDACTED]", "to": "x"} and not d.blocked
    d = gov.check(act("read"))
    assert d.verdict == "allow" and d.reasons == () and d.allowed
    d = gov.check(act("unmatched"))
    assert d.verdict == "allow"


def test_default_deny_applies_only_when_no_rule_matched(make_gov) -> None:
    gov = make_gov({"default": "deny", "rules": [{"id": "read-ok", "match": {"name": "read"}, "effect": "allow"}]})
    assert gov.check(act("read")).verdict == "allow"
    d = gov.check(act("write"))
    assert d.verdict == "deny" and d.rule_ids == ("default",)


def test_deny_beats_approve_beats_redact_when_plugins_disagree(make_gov) -> None:
    redact = Vote("r", Decision.redact("mask", action=act("x", args={"a": "masked"})))
    approve = Vote("p", Decision.approve("needs human", rule_id="human", risks=("ASI09",)))
    deny = Vote("d", Decision.deny("no", rule_id="nope", risks=("ASI02",)))
    gov = make_gov({}, [redact, approve, deny])
    d = gov.check(act("x"))
    assert d.verdict == "deny"
    assert set(d.reasons) == {"mask", "needs human", "no"}
    assert set(d.rule_ids) == {"human", "nope"} and set(d.risks) == {"ASI09", "ASI02"}
    assert set(d.plugins) == {"r", "p", "d"}
    gov2 = make_gov({}, [Vote("r", Decision.redact("mask", action=act("x", args={"a": "m"}))),
                         Vote("p", Decision.approve("human"))])
    assert gov2.check(act("x")).verdict == "approve"
    gov3 = make_gov({}, [Vote("r", Decision.redact("mask", action=act("x", args={"a": "m"}))), Vote("a", Decision.allow())])
    d3 = gov3.check(act("x"))
    assert d3.verdict == "redact" and d3.action.args == {"a": "m"}


def test_redacted_action_feeds_later_plugins(make_gov) -> None:
    class Masker:
        name = "masker"

        @lictor.hookimpl(tryfirst=True)
        def lictor_check_action(self, action: Action) -> Decision:
            return Decision.redact("masked card", action=action.with_args({**action.args, "card": "****"}))

    watcher = Vote("watcher", None)
    gov = make_gov({}, [watcher, Masker()])
    d = gov.check(act("pay", args={"card": "4111", "n": 1}))
    assert watcher.seen[-1].args == {"card": "****", "n": 1}
    assert d.action.args == {"card": "****", "n": 1}


def test_raising_plugin_fails_closed_and_names_itself(make_gov) -> None:
    class Broken:
        name = "broken"

        @lictor.hookimpl
        def lictor_check_action(self, action: Action) -> None:
            raise KeyError("oops")

    gov = make_gov({}, [Broken()])
    d = gov.check(act("x"))
    assert d.verdict == "deny" and d.blocked
    assert "plugin 'broken' failed (KeyError: 'oops'); denied (fail closed)" in d.reasons
    gov_open = make_gov({"plugins": {"fail_open": ["broken"]}}, [Broken()])
    d = gov_open.check(act("x"))
    assert d.verdict == "allow" and "ignored (fail_open)" in d.reasons[0]


def test_a_failing_plugin_does_not_leak_the_secret_its_error_quotes(make_gov, tmp_path) -> None:
    """Reasons reach the agent and the audit trail; an exception that quotes a credential it
    choked on must not carry the credential there."""
    token = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"

    class Leaky:
        name = "leaky"

        @lictor.hookimpl
        def lictor_check_action(self, action: Action) -> None:
            raise ValueError(f"cannot parse header 'Authorization: token {token}' " + "x" * 1000)

    gov = make_gov({"audit": {"path": str(tmp_path / "a.db")}}, [Leaky()])
    d = gov.check(act("x"))
    assert d.verdict == "deny" and d.reasons[0].startswith("plugin 'leaky' failed (ValueError: cannot parse header")
    assert token not in d.reasons[0] and "[SECRET" in d.reasons[0]
    assert len(d.reasons[0]) < 400
    recs = gov.audit.records()
    assert [r["reasons"] for r in recs] == [list(d.reasons)]
    assert token not in str(recs)


def test_plugin_returning_garbage_fails_closed(make_gov) -> None:
    class Garbage:
        name = "garbage"

        @lictor.hookimpl
        def lictor_check_action(self, action: Action) -> Any:
            return "deny"

    d = make_gov({}, [Garbage()]).check(act("x"))
    assert d.verdict == "deny" and "expected lictor.Decision or None" in d.reasons[0]


def test_raising_observer_denies_because_nothing_runs_unrecorded(make_gov) -> None:
    class BadSink:
        name = "bad_sink"

        @lictor.hookimpl
        def lictor_on_decision(self, action, decision):
            raise OSError("disk full")

    d = make_gov({}, [BadSink()]).check(act("x"))
    assert d.verdict == "deny" and "observer 'bad_sink' failed (OSError: disk full)" in d.reasons[-1]


def test_monitor_mode_decides_and_records_but_never_blocks(make_gov) -> None:
    seen: list[Decision] = []

    class Recorder:
        name = "recorder"

        @lictor.hookimpl
        def lictor_on_decision(self, decision):
            seen.append(decision)

    gov = make_gov({"mode": "monitor", "rules": [{"id": "no", "match": {"name": "x"}, "effect": "deny"}]}, [Recorder()])
    d = gov.check(act("x"))
    assert d.verdict == "deny" and d.enforced is False and d.blocked is False
    assert seen == [d]
    gov.guard(act("x"))  # does not raise


def test_rollout_is_stable_per_agent_across_processes(make_gov) -> None:
    policy = {"rollout": {"enforce_percent": 30}, "rules": [{"id": "no", "match": {"name": "x"}, "effect": "deny"}]}
    gov = make_gov(policy)
    agents = [f"agent-{i}" for i in range(400)]
    here = [gov.check(act("x", agent=a)).enforced for a in agents]
    share = sum(here) / len(here)
    assert 0.22 < share < 0.38
    assert here == [gov.check(act("x", agent=a)).enforced for a in agents]  # same answer again
    code = (
        "import lictor, json;"
        f"g = lictor.Governor.from_dict({policy!r}, load_entrypoints=False);"
        f"print(json.dumps([g.check(lictor.Action(kind='tool_call', agent=f'agent-{{i}}', name='x')).enforced for i in range(400)]))"
    )
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert [bool(x) for x in __import__("json").loads(other.stdout)] == here
    assert all(make_gov({"rollout": {"enforce_percent": 100}}).check(act("x", agent=a)).enforced for a in agents[:50])
    assert not any(make_gov({"rollout": {"enforce_percent": 0}}).check(act("x", agent=a)).enforced for a in agents[:50])


def test_approver_hook_answers_approve_decisions(make_gov) -> None:
    class Approver:
        name = "approver"

        @lictor.hookimpl
        def lictor_request_approval(self, action: Action, decision: Decision) -> Optional[Approval]:
            if action.args.get("amount", 0) < 500:
                return Approval(approved=True, approver="alice", comment="fine")
            if action.args.get("amount") == 999:
                return Approval(approved=True, approver="alice", args={"amount": 100})
            return Approval(approved=False, approver="bob", comment="too much")

    gov = make_gov({"rules": [{"id": "refund", "match": {"name": "refund"}, "effect": "approve"}]}, [Approver()])
    d = gov.check(act("refund", args={"amount": 200}))
    assert d.verdict == "allow" and d.approval.approver == "alice" and "approved by alice: fine" in d.reasons[-1]
    d = gov.check(act("refund", args={"amount": 800}))
    assert d.verdict == "deny" and d.approval.approved is False and "refused by bob: too much" in d.reasons[-1]
    d = gov.check(act("refund", args={"amount": 999}))
    assert d.verdict == "redact" and d.action.args == {"amount": 100} and not d.blocked


def test_pending_approval_is_blocked_until_resolved(make_gov) -> None:
    gov = make_gov({"rules": [{"id": "refund", "match": {"name": "refund"}, "effect": "approve"}]})
    d = gov.check(act("refund", args={"amount": 200}))
    assert d.pending and d.blocked
    with pytest.raises(PolicyViolation) as info:
        gov.guard(act("refund", args={"amount": 200}))
    assert info.value.decision.verdict == "approve"
    ok = gov.resolve_approval(d, Approval(approved=True, approver="carol"))
    assert ok.verdict == "allow" and ok.approval.approver == "carol" and ok.decision_id != d.decision_id
    assert d.decision_id in ok.reasons[-1]
    no = gov.resolve_approval(d, Approval(approved=False, approver="carol", comment="no"))
    assert no.verdict == "deny" and no.blocked
    with pytest.raises(ValueError, match="only an 'approve' decision"):
        gov.resolve_approval(ok, Approval(approved=True, approver="x"))


def test_kill_switch_scopes_and_halt(make_gov) -> None:
    gov = make_gov()
    gov.kill_switch.engage("incident", agent="agent-1")
    d = gov.check(act("x"))
    assert d.verdict == "deny" and d.halt and d.risks == ("ASI08",) and "incident" in d.reasons[0]
    assert gov.check(act("x", agent="agent-2")).verdict == "allow"
    gov.kill_switch.release(agent="agent-1")
    assert gov.check(act("x")).verdict == "allow"
    gov.kill_switch.engage("session gone wrong", session="s1")
    assert gov.check(act("x", session="s1")).halt and not gov.check(act("x", session="s2")).halt
    gov.kill_switch.engage("stop everything")
    assert gov.check(act("x", agent="anyone")).halt
    with pytest.raises(ValueError):
        gov.kill_switch.engage("")


def test_two_governors_do_not_see_each_other(make_gov) -> None:
    a = make_gov({}, [Vote("denier", Decision.deny("no"))])
    b = make_gov({})
    assert a.check(act("x")).verdict == "deny" and b.check(act("x")).verdict == "allow"
    a.kill_switch.engage("a only")
    assert b.check(act("x")).verdict == "allow"


def test_plugin_can_be_disabled_by_name(make_gov) -> None:
    gov = make_gov({"plugins": {"disable": ["denier", "kill_switch"]}}, [Vote("denier", Decision.deny("no"))])
    assert gov.check(act("x")).verdict == "allow"
    assert "denier" not in [p.name for p in gov.plugins()]
    assert "kill_switch" not in [p.name for p in gov.plugins()]


def test_misspelt_hook_name_fails_at_load() -> None:
    class Typo:
        name = "typo"

        @lictor.hookimpl
        def lictor_check_actoin(self, action):  # noqa: D401 - the typo is the point
            return None

    with pytest.raises(PluginError, match="plugin 'typo' implements a hook Lictor does not have"):
        lictor.Governor({}, [Typo()], load_entrypoints=False)


def test_wrapper_on_check_hook_is_refused() -> None:
    class Wrapper:
        name = "wrapper"

        @lictor.hookimpl(wrapper=True)
        def lictor_check_action(self, action):
            return (yield)

    with pytest.raises(PluginError, match="does not support wrapper"):
        lictor.Governor({}, [Wrapper()], load_entrypoints=False)


def test_duplicate_plugin_name_is_refused() -> None:
    with pytest.raises(PluginError, match="already registered"):
        lictor.Governor({}, [Vote("rules", None)], load_entrypoints=False)


def test_register_and_unregister_at_runtime(make_gov) -> None:
    gov = make_gov()
    gov.register(Vote("late", Decision.deny("late deny")))
    assert gov.check(act("x")).verdict == "deny"
    gov.unregister("late")
    assert gov.check(act("x")).verdict == "allow"


def test_output_check_redacts_and_denies(make_gov) -> None:
    gov = make_gov({"rules": [
        {"id": "mask-token", "phase": "output", "match": {"name": "fetch"}, "effect": "redact",
         "redact": {"patterns": ["tok_[a-z0-9]+"]}},
        {"id": "no-secrets", "phase": "output", "match": {"name": "env"}, "when": "output.contains('PASSWORD')", "effect": "deny"},
    ]})
    d = gov.check_output(act("fetch"), "key tok_abc123 here")
    assert d.verdict == "redact" and d.output == "key [REDACTED] here"
    d = gov.check_output(act("env"), "PASSWORD=x")
    assert d.verdict == "deny" and d.blocked
    d = gov.check_output(act("env"), "HOME=/root")
    assert d.verdict == "allow" and d.output == "HOME=/root"


def test_check_rejects_non_actions(make_gov) -> None:
    with pytest.raises(TypeError, match="takes a lictor.Action"):
        make_gov().check({"kind": "tool_call"})  # type: ignore[arg-type]


async def test_acheck_from_many_tasks(make_gov) -> None:
    gov = make_gov({"rules": [{"id": "no", "match": {"name": "bad"}, "effect": "deny"}]})
    results = await asyncio.gather(*[gov.acheck(act("bad" if i % 2 else "good", agent=f"a{i}")) for i in range(200)])
    assert [r.verdict for r in results] == ["allow" if i % 2 == 0 else "deny" for i in range(200)]
    assert len({r.decision_id for r in results}) == 200


def test_decisions_say_which_phase_they_judged(make_gov) -> None:
    seen = []

    class Recorder:
        name = "recorder"

        @lictor.hookimpl
        def lictor_on_decision(self, decision):
            seen.append(decision.phase)

    gov = make_gov({}, [Recorder()])
    assert gov.check(act("x")).phase == "action"
    assert gov.check_output(act("x"), None).phase == "output"
    assert seen == ["action", "output"]


def test_kill_switch_stops_even_in_monitor_mode(make_gov) -> None:
    gov = make_gov({"mode": "monitor", "rules": [{"id": "no", "match": {"name": "x"}, "effect": "deny"}]})
    assert not gov.check(act("x")).blocked
    gov.kill_switch.engage("operator stop")
    d = gov.check(act("y"))
    assert d.halt and d.enforced and d.blocked


def test_a_failing_observer_s_deny_is_what_the_audit_trail_records(make_gov, tmp_path) -> None:
    class BadMetrics:
        name = "bad_metrics"

        @lictor.hookimpl
        def lictor_on_decision(self, decision):
            raise ConnectionError("metrics backend down")

    gov = make_gov({"audit": {"sink": "sqlite", "path": str(tmp_path / "a.db")}}, [BadMetrics()])
    d = gov.check(act("x"))
    assert d.verdict == "deny" and "observer 'bad_metrics' failed" in d.reasons[-1]
    (rec,) = gov.audit.records()
    assert rec["verdict"] == "deny" and rec["decision_id"] == d.decision_id


def test_vote_takes_a_configured_effect_and_refuses_anything_else() -> None:
    assert Decision.vote("deny", "no", rule_id="r", evidence=("e",)).verdict == "deny"
    d = Decision.vote("approve", "human", rule_id="r", risks=("ASI02",), evidence=("seen",))
    assert (d.verdict, d.rule_ids, d.risks, d.evidence) == ("approve", ("r",), ("ASI02",), ("seen",))
    with pytest.raises(ValueError, match="'deny' or 'approve'"):
        Decision.vote("redact", "x")


@settings(max_examples=100, deadline=None)
@given(args=st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=8), max_size=3),
       content=st.none() | st.text(max_size=10), metadata=st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
       new_args=st.dictionaries(st.text(max_size=5), st.integers(), max_size=3), new_content=st.none() | st.text(max_size=10))
def test_redaction_copies_are_what_pydantic_copies_make(args, content, metadata, new_args, new_content) -> None:
    """Action.with_args / with_content build the copy directly (the hot path redacts with them);
    the result is indistinguishable from pydantic's own model_copy(update=...)."""
    a = Action(kind="tool_call", agent="a", name="t", args=args, content=content, metadata=metadata, session="s")
    for field, value, made in (("args", new_args, a.with_args(new_args)), ("content", new_content, a.with_content(new_content))):
        want = a.model_copy(update={field: value})
        assert made == want and type(made) is Action
        assert list(made.__dict__.items()) == list(want.__dict__.items())
        assert made.__pydantic_fields_set__ == want.__pydantic_fields_set__
        assert made.__pydantic_extra__ == want.__pydantic_extra__ and made.__pydantic_private__ == want.__pydantic_private__
        assert made.model_dump() == want.model_dump() and repr(made) == repr(want) and made.model_fields_set == want.model_fields_set
    assert a.args == args and a.content == content  # the original is untouched
