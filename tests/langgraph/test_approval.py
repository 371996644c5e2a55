"""approve -> interrupt() -> Command(resume=...) approve / edit / reject, one record per decision."""

from __future__ import annotations

from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.messages import ToolMessage
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

import lictor
from lictor_langgraph import APPROVAL_TYPE, LictorMiddleware, parse_answer

from conftest import MODES, POLICY, RAN, TOOLS, ask, call, drive, model, says


@pytest.fixture
def audited(tmp_path, recorder):
    g = lictor.Governor.from_dict({**POLICY, "audit": {"sink": "sqlite", "path": str(tmp_path / "audit.db")}},
                                  plugins=[recorder], load_entrypoints=False)
    yield g
    g.close()


def paused_refund(gov: lictor.Governor, thread: str, mode: str, amount: int = 250):
    c = call("issue_refund", amount=amount, iban="DE89")
    agent = create_agent(model(says(c), says(text="done")), TOOLS, middleware=[LictorMiddleware(gov)],
                         checkpointer=InMemorySaver(), name="support-7")
    state = drive(agent, ask(f"refund {amount}"), thread, mode)
    return agent, c, state


def records_for(gov: lictor.Governor, call_id: str) -> list[dict[str, Any]]:
    return [r for r in gov.audit.records() if r["action"]["call_id"] == call_id]


@pytest.mark.parametrize("mode", MODES)
def test_approve_pauses_with_a_faithful_summary(audited, mode):
    agent, c, state = paused_refund(audited, f"pause-{mode}", mode)
    assert RAN == []
    (intr,) = state["interrupts"]
    v = intr.value
    assert v["type"] == APPROVAL_TYPE
    assert v["action"] == {"kind": "tool_call", "name": "issue_refund", "agent": "support-7",
                           "session": f"pause-{mode}", "call_id": c["id"],
                           "args": {"amount": 250, "iban": "DE89"}, "content": None}
    assert v["reasons"] == ["refunds over 100 EUR need a human"]
    assert v["rule_ids"] == ["big-refunds-need-a-human"] and v["risks"] == ["ASI02"]
    assert v["answers"] == ["approve", "edit", "reject"]


@pytest.mark.parametrize("mode", MODES)
def test_resume_approve_runs_the_call_and_records_the_approver_once(audited, mode):
    thread = f"yes-{mode}"
    agent, c, _ = paused_refund(audited, thread, mode)
    state = drive(agent, Command(resume={"type": "approve", "approver": "alice", "comment": "ok"}), thread, mode)
    assert RAN == [("issue_refund", {"amount": 250, "iban": "DE89"})]
    assert state["messages"][-1].content == "done"
    recs = records_for(audited, c["id"])
    assert [r["verdict"] for r in recs if r["phase"] == "action"] == ["approve", "allow"]
    assert recs[0]["approval"] is None
    assert recs[1]["approval"]["approver"] == "alice" and recs[1]["approval"]["approved"] is True
    assert audited.audit.verify().ok


@pytest.mark.parametrize("mode", MODES)
def test_resume_edit_runs_the_edited_arguments(audited, recorder, mode):
    thread = f"edit-{mode}"
    agent, c, _ = paused_refund(audited, thread, mode)
    drive(agent, Command(resume={"type": "edit", "args": {"amount": 90, "iban": "DE89"}, "approver": "bob"}), thread, mode)
    assert RAN == [("issue_refund", {"amount": 90, "iban": "DE89"})]
    verdicts = [d.verdict for d in recorder.about(c["id"]) if d.output is None]
    assert verdicts == ["approve", "redact"]
    recs = records_for(audited, c["id"])
    assert recs[1]["redacted_args"] == {"amount": 90, "iban": "DE89"} and recs[1]["approval"]["approver"] == "bob"
    assert audited.audit.verify().ok


@pytest.mark.parametrize("mode", MODES)
def test_resume_reject_refuses_with_the_approvers_words(audited, recorder, mode):
    thread = f"no-{mode}"
    agent, c, _ = paused_refund(audited, thread, mode)
    state = drive(agent, Command(resume={"type": "reject", "approver": "carol", "comment": "too much"}), thread, mode)
    assert RAN == []
    msg = [m for m in state["messages"] if isinstance(m, ToolMessage)][0]
    assert msg.status == "error" and "refused by carol: too much" in msg.content
    assert [d.verdict for d in recorder.about(c["id"])] == ["approve", "deny"]
    assert [r["verdict"] for r in records_for(audited, c["id"])] == ["approve", "deny"]
    assert audited.audit.verify().ok


def test_the_resume_rerun_does_not_check_or_count_again(gov, recorder):
    agent, c, _ = paused_refund(gov, "count", "invoke")
    before = len(recorder.decisions)
    drive(agent, Command(resume=True), "count", "invoke")
    new = [d for a, d in recorder.decisions[before:] if a.call_id == c["id"]]
    assert [d.verdict for d in new] == ["allow", "allow"]  # the resolution, then the output check
    assert new[0].approval is not None and new[0].approval.approver == "human"


def test_an_approver_plugin_answers_without_pausing(recorder):
    class Treasurer:
        name = "treasurer"

        @lictor.hookimpl
        def lictor_request_approval(self, action, decision, ctx):
            return lictor.Approval(approved=True, approver="treasurer-bot")

    gov = lictor.Governor.from_dict(POLICY, plugins=[recorder, Treasurer()], load_entrypoints=False)
    agent, c, state = paused_refund(gov, "plugin", "invoke")
    assert state["interrupts"] == [] and RAN == [("issue_refund", {"amount": 250, "iban": "DE89"})]
    assert recorder.about(c["id"])[0].approval.approver == "treasurer-bot"


def test_small_refund_needs_no_human(gov):
    _, _, state = paused_refund(gov, "small", "invoke", amount=20)
    assert state["interrupts"] == [] and RAN == [("issue_refund", {"amount": 20, "iban": "DE89"})]


@pytest.mark.parametrize("answer, approved, args", [
    (True, True, None), (False, False, None), ("approve", True, None), ("reject", False, None),
    ({"type": "approve"}, True, None), ({"type": "edit", "args": {"a": 1}}, True, {"a": 1}),
    ({"type": "edit", "edited_action": {"name": "t", "args": {"a": 2}}}, True, {"a": 2}),
    ({"type": "edit"}, False, None), ({"type": "reject", "message": "no"}, False, None),
    ("maybe", False, None), (42, False, None), (None, False, None),
])
def test_parse_answer_fails_closed_on_anything_unclear(answer, approved, args):
    a = parse_answer(answer, "default-human")
    assert (a.approved, a.args) == (approved, args)
    assert a.approver == "default-human"


def test_parse_answer_keeps_the_approver_and_comment():
    a = parse_answer({"type": "reject", "approver": "dana", "comment": "why?"}, "x")
    assert (a.approver, a.comment, a.approved) == ("dana", "why?", False)
    given = lictor.Approval(approved=True, approver="eve")
    assert parse_answer(given, "x") is given


@pytest.mark.parametrize("mode", MODES)
def test_two_paused_calls_in_one_step_are_answered_by_interrupt_id(audited, recorder, mode):
    a, b = call("issue_refund", amount=300), call("issue_refund", amount=400)
    agent = create_agent(model(says(a, b), says(text="done")), TOOLS, middleware=[LictorMiddleware(audited)],
                         checkpointer=InMemorySaver(), name="support-7")
    thread = f"two-{mode}"
    state = drive(agent, ask("two refunds"), thread, mode)
    by_call = {i.value["action"]["call_id"]: i.id for i in state["interrupts"]}
    assert set(by_call) == {a["id"], b["id"]} and len(set(by_call.values())) == 2
    answers = {by_call[a["id"]]: {"type": "approve", "approver": "alice"},
               by_call[b["id"]]: {"type": "reject", "approver": "alice"}}
    drive(agent, Command(resume=answers), thread, mode)
    assert RAN == [("issue_refund", {"amount": 300, "iban": "DE00"})]
    assert [d.verdict for d in recorder.about(a["id"]) if d.output is None] == ["approve", "allow"]
    assert [d.verdict for d in recorder.about(b["id"])] == ["approve", "deny"]
    assert audited.audit.verify().ok


def test_the_interrupt_shows_a_faithful_summary_not_the_models_justification(recorder):
    """ASI09: what the human is shown comes from the action and the decision; the model's own
    argument for its call is kept apart and labelled unverified, never given as the reason."""

    @tool
    def wire(amount: int, iban: str, justification: str) -> str:
        """Wire money."""
        RAN.append(("wire", {"amount": amount, "iban": iban}))
        return "wired"

    policy = {"version": 1, "rules": [{
        "id": "wire-needs-a-human", "match": {"name": "wire"}, "when": "args.amount > 1000", "effect": "approve",
        "reason": "wires over 1000 EUR need a human", "risks": ["ASI02", "ASI09"]}]}
    gov = lictor.Governor.from_dict(policy, plugins=[recorder], load_entrypoints=False)
    claim = "The CFO already approved this, it is routine and safe"
    c = call("wire", amount=9000, iban="GB33BUKB20201555555555", justification=claim)
    agent = create_agent(model(says(c), says(text="done")), [wire], middleware=[LictorMiddleware(gov)],
                         checkpointer=InMemorySaver(), name="treasury")
    state = drive(agent, ask("pay the supplier"), "asi09", "invoke")
    gov.close()
    v = state["interrupts"][0].value
    details, text = v["details"], v["summary"]
    assert details["title"] == "Agent 'treasury' wants to run tool 'wire'"
    assert details["arguments"] == {"amount": 9000, "iban": "GB33BUKB20201555555555"}
    assert details["agent_statements"] == {"justification": claim}
    assert details["why"] == ["wires over 1000 EUR need a human"] and details["rules"] == ["wire-needs-a-human"]
    assert [r["id"] for r in details["risks"]] == ["ASI02", "ASI09"]
    assert "amount = 9000" in text and "ASI09 Human-agent trust exploitation" in text
    flagged = text.split("flagged because:", 1)[1]
    assert "wires over 1000 EUR need a human" in flagged and claim not in flagged
    assert claim in text.split("unverified", 1)[1].split("flagged because:", 1)[0]
