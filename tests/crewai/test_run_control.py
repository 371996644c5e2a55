"""Kill switch, approvals, model-call verdicts, delegation and per-crew isolation."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from crewai import Agent, Crew, Process, Task
from crewai.hooks import HookAborted
from crewai.tools import tool

import lictor
from lictor_crewai import LictorStop, govern, governance_of
from scripted_llm import ScriptedLLM, act, final


def mail_crew(script: list[str], ran: list[Any], role: str = "mailer") -> tuple[Crew, ScriptedLLM]:
    @tool("send_email")
    def send_email(to: str, body: str) -> str:
        """Send an email to someone."""
        ran.append({"to": to, "body": body, "role": role})
        return f"sent to {to}"

    llm = ScriptedLLM(model="scripted", script=script)
    agent = Agent(role=role, goal="send mail", backstory="a careful mailer", llm=llm, tools=[send_email])
    task = Task(description="send the mail", expected_output="a confirmation", agent=agent)
    return Crew(agents=[agent], tasks=[task]), llm


NEEDS_OK = {"rules": [{"id": "mail-needs-ok", "match": {"name": "send_email"}, "effect": "approve",
                       "reason": "mail leaves the company"}]}


# -- kill switch --------------------------------------------------------------------------------
def test_kill_switch_stops_kickoff_at_the_next_model_call(make_gov, log):
    ran: list[Any] = []
    crew, llm = mail_crew([act("send_email", to="a@example.com", body="hi"), final()], ran)
    gov = make_gov({})
    gov.kill_switch.engage("incident 42")
    with pytest.raises(LictorStop) as err:
        govern(crew, gov).kickoff()
    assert "Lictor stopped the run (kill switch) at model call 'scripted'" in str(err.value)
    assert "incident 42" in str(err.value)
    assert isinstance(err.value, HookAborted) and isinstance(err.value, lictor.PolicyViolation)
    assert err.value.decision.halt is True
    assert ran == [] and llm.prompts == []


class KillOnMail:
    """Engages the kill switch the moment a mail is attempted (an incident detector)."""

    name = "kill_on_mail"

    def __init__(self) -> None:
        self.gov: Any = None

    @lictor.hookimpl
    def lictor_check_action(self, action: lictor.Action, ctx: Any) -> Any:
        if action.name == "send_email":
            return lictor.Decision.deny("mail storm detected", rule_id="storm", halt=True)
        return None


def test_a_halt_at_a_tool_call_refuses_it_and_stops_the_run_before_the_next_model_call(make_gov, log):
    ran: list[Any] = []
    crew, llm = mail_crew([act("send_email", to="a@example.com", body="hi"), final()], ran)
    gov = make_gov({}, KillOnMail())
    with pytest.raises(LictorStop, match="mail storm detected"):
        govern(crew, gov).kickoff()
    assert ran == []
    assert len(llm.prompts) == 1  # the model was not called again after the halt


# -- approvals ----------------------------------------------------------------------------------
def test_approval_granted_runs_the_tool_and_records_the_approver(make_gov, log):
    ran: list[Any] = []
    asked: list[lictor.Action] = []

    def alice(action: lictor.Action, decision: lictor.Decision) -> lictor.Approval:
        asked.append(action)
        return lictor.Approval(approved=True, approver="alice", comment="ok")

    crew, _ = mail_crew([act("send_email", to="a@example.com", body="hi"), final()], ran)
    govern(crew, make_gov(NEEDS_OK), approver=alice).kickoff()
    assert len(ran) == 1 and asked[0].name == "send_email"
    assert log.verdicts("tool_call") == [("send_email", "approve"), ("send_email", "allow")]
    resolved = log.actions("tool_call")[-1][1]
    assert resolved.approval is not None and resolved.approval.approver == "alice"


def test_approval_with_edited_arguments_runs_the_edited_call(make_gov, log):
    ran: list[Any] = []

    def editor(action: lictor.Action, decision: lictor.Decision) -> lictor.Approval:
        return lictor.Approval(approved=True, approver="ed", args={**action.args, "to": "safe@example.com"})

    crew, _ = mail_crew([act("send_email", to="ceo@example.com", body="hi"), final()], ran)
    govern(crew, make_gov(NEEDS_OK), approver=editor).kickoff()
    assert ran[0]["to"] == "safe@example.com"


def test_approval_refused_blocks_the_tool(make_gov, log):
    ran: list[Any] = []
    crew, llm = mail_crew([act("send_email", to="a@example.com", body="hi"), final()], ran)
    govern(crew, make_gov(NEEDS_OK), approver=lambda a, d: False).kickoff()
    assert ran == []
    assert "refused by <lambda>" in llm.last_prompt_text()
    assert log.verdicts("tool_call") == [("send_email", "approve"), ("send_email", "deny")]


def test_approval_timeout_denies(make_gov, log):
    ran: list[Any] = []
    release = threading.Event()

    def asleep(action: lictor.Action, decision: lictor.Decision) -> bool:
        release.wait(5)
        return True

    crew, llm = mail_crew([act("send_email", to="a@example.com", body="hi"), final()], ran)
    try:
        govern(crew, make_gov(NEEDS_OK), approver=asleep, approval_timeout=0.2).kickoff()
    finally:
        release.set()
    assert ran == []
    assert "refused by lictor-timeout: no answer within 0.2 s" in llm.last_prompt_text()
    final_decision = log.actions("tool_call")[-1][1]
    assert final_decision.verdict == "deny" and final_decision.approval.approver == "lictor-timeout"


def test_a_failing_approver_denies(make_gov, log):
    ran: list[Any] = []

    def broken(action: lictor.Action, decision: lictor.Decision) -> bool:
        raise OSError("no console")

    crew, _ = mail_crew([act("send_email", to="a@example.com", body="hi"), final()], ran)
    govern(crew, make_gov(NEEDS_OK), approver=broken).kickoff()
    assert ran == []
    assert log.actions("tool_call")[-1][1].verdict == "deny"


# -- model calls --------------------------------------------------------------------------------
def test_denied_model_call_stops_the_run_with_a_clear_reason(make_gov, log):
    crew, llm = mail_crew([final()], [])
    gov = make_gov({"rules": [{"id": "no-model", "match": {"kind": "model_call"}, "effect": "deny",
                               "reason": "models are off today"}]})
    with pytest.raises(LictorStop, match="policy refused.*models are off today"):
        govern(crew, gov).kickoff()
    assert llm.prompts == []


def test_model_prompt_is_redacted_in_place(make_gov, log):
    llm = ScriptedLLM(model="scripted", script=[final()])
    agent = Agent(role="clerk", goal="g", backstory="b", llm=llm)
    task = Task(description="Refund card 4111111111111111 today", expected_output="ok", agent=agent)
    crew = Crew(agents=[agent], tasks=[task])
    gov = make_gov({"rules": [{"id": "no-cards-to-models", "match": {"kind": "model_call"}, "effect": "redact",
                               "redact": {"patterns": ["\\d{16}"], "replacement": "[CARD]"}}]})
    govern(crew, gov).kickoff()
    sent = llm.last_prompt_text()
    assert "Refund card [CARD] today" in sent and "4111111111111111" not in sent
    assert log.actions("model_call")[0][0].metadata["source"] == "user"


def test_model_output_is_redacted(make_gov, log):
    llm = ScriptedLLM(model="scripted", script=[final("call me at 555-0100")])
    agent = Agent(role="clerk", goal="g", backstory="b", llm=llm)
    crew = Crew(agents=[agent], tasks=[Task(description="answer", expected_output="ok", agent=agent)])
    gov = make_gov({"rules": [{"id": "no-phones", "phase": "output", "match": {"kind": "model_call"},
                               "effect": "redact", "redact": {"patterns": ["\\d{3}-\\d{4}"], "replacement": "[PHONE]"}}]})
    out = govern(crew, gov).kickoff()
    assert out.raw == "call me at [PHONE]"


def test_agents_built_before_govern_still_get_the_model_hooks(make_gov, log):
    crew, llm = mail_crew([final("first"), final("second")], [])
    crew.kickoff()  # builds the agent's executor with no Lictor hooks in CrewAI's snapshot
    assert crew.agents[0].agent_executor is not None
    govern(crew, make_gov({"rules": [{"id": "no-model", "match": {"kind": "model_call"}, "effect": "deny"}]}))
    with pytest.raises(LictorStop):
        crew.kickoff()


# -- delegation -----------------------------------------------------------------------------------
def delegating_crew(ran: list[Any]) -> tuple[Crew, ScriptedLLM, ScriptedLLM]:
    @tool("lookup")
    def lookup(q: str) -> str:
        """Look something up."""
        ran.append(q)
        return "found"

    boss_llm = ScriptedLLM(model="boss-model", script=[
        act("Delegate work to coworker", task="look up the price", context="for a quote", coworker="researcher"),
        final("boss done")])
    worker_llm = ScriptedLLM(model="worker-model", script=[final("price is 3")])
    boss = Agent(role="boss", goal="g", backstory="b", llm=boss_llm, allow_delegation=True)
    worker = Agent(role="researcher", goal="g", backstory="b", llm=worker_llm, tools=[lookup])
    task = Task(description="get a quote", expected_output="a quote", agent=boss)
    return Crew(agents=[boss, worker], tasks=[task], process=Process.sequential), boss_llm, worker_llm


def test_delegation_is_a_handoff_and_can_be_refused(make_gov, log):
    ran: list[Any] = []
    crew, boss_llm, worker_llm = delegating_crew(ran)
    gov = make_gov({"rules": [{"id": "no-handoffs", "match": {"kind": "handoff"}, "effect": "deny",
                               "reason": "the boss works alone"}]})
    govern(crew, gov).kickoff()
    assert worker_llm.prompts == []  # the coworker never ran
    assert "Lictor policy refused this handoff 'researcher': the boss works alone" in boss_llm.last_prompt_text()
    handoffs = log.actions("handoff")
    assert [(a.agent, a.name, a.metadata["delegation"], d.verdict) for a, d in handoffs] == \
        [("boss", "researcher", "delegate_work", "deny")]


def test_allowed_delegation_runs_the_coworker_under_the_same_governor(make_gov, log):
    crew, _, worker_llm = delegating_crew([])
    govern(crew, make_gov({})).kickoff()
    assert len(worker_llm.prompts) == 1
    assert ("researcher", "allow") in log.verdicts("handoff")
    assert {a.agent for a, _ in log.actions("model_call")} == {"boss", "researcher"}


# -- isolation ------------------------------------------------------------------------------------
def test_two_crews_with_different_policies_do_not_see_each_others_hooks(make_gov, log):
    ran_a: list[Any] = []
    ran_b: list[Any] = []
    crew_a, _ = mail_crew([act("send_email", to="a@example.com", body="hi"), final()], ran_a, role="alpha")
    crew_b, _ = mail_crew([act("send_email", to="b@example.com", body="hi"), final()], ran_b, role="beta")
    strict = make_gov({"rules": [{"id": "no-mail", "match": {"name": "send_email"}, "effect": "deny"}]}, with_log=False)
    lenient = make_gov({})  # carries the decision log
    govern(crew_a, strict)
    govern(crew_b, lenient)
    crew_a.kickoff()
    crew_b.kickoff()
    assert ran_a == [] and len(ran_b) == 1
    assert {a.agent for a, _ in log.decisions} == {"beta"}  # the lenient Governor never saw alpha
    assert governance_of(crew_a).session != governance_of(crew_b).session


def test_an_ungoverned_crew_next_to_a_governed_one_is_left_alone(make_gov, log):
    ran_a: list[Any] = []
    ran_b: list[Any] = []
    crew_a, _ = mail_crew([act("send_email", to="a@example.com", body="hi"), final()], ran_a, role="alpha")
    crew_b, _ = mail_crew([act("send_email", to="b@example.com", body="hi"), final()], ran_b, role="beta")
    govern(crew_a, make_gov({"rules": [{"id": "no-mail", "match": {"name": "send_email"}, "effect": "deny"}]}))
    crew_b.kickoff()
    crew_a.kickoff()
    assert ran_a == [] and len(ran_b) == 1
    assert {a.agent for a, _ in log.decisions} == {"alpha"}


def test_hierarchical_manager_and_its_workers_are_governed(make_gov, log):
    ran: list[Any] = []

    @tool("send_email")
    def send_email(to: str) -> str:
        """Send an email."""
        ran.append(to)
        return "sent"

    manager = Agent(role="manager", goal="g", backstory="b", allow_delegation=True, llm=ScriptedLLM(
        model="manager-model", script=[act("Delegate work to coworker", task="mail x", context="c", coworker="mailer"),
                                       final("ok")]))
    worker = Agent(role="mailer", goal="g", backstory="b", tools=[send_email],
                   llm=ScriptedLLM(model="worker-model", script=[act("send_email", to="x"), final("ok")]))
    crew = Crew(agents=[worker], tasks=[Task(description="mail x", expected_output="ok")],
                process=Process.hierarchical, manager_agent=manager)
    govern(crew, make_gov({"rules": [{"id": "no-mail", "match": {"name": "send_email"}, "effect": "deny"}]}))
    crew.kickoff()
    assert ran == []
    assert ("mailer", "allow") in log.verdicts("handoff")
    assert ("send_email", "deny") in log.verdicts("tool_call")
    assert {a.agent for a, _ in log.actions("model_call")} == {"manager", "mailer"}
