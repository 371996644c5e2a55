"""Flows that run crews, the task guardrail, and the audit trail of a governed run."""

from __future__ import annotations

from typing import Any

import pytest
from crewai import Agent, Crew, Task
from crewai.flow.flow import Flow, start
from crewai.tools import tool

import lictor
from lictor_crewai import lictor_guardrail, LictorStop, govern, ungovern
from scripted_llm import ScriptedLLM, act, final

NO_MAIL = {"rules": [{"id": "no-mail", "match": {"name": "send_email"}, "effect": "deny", "reason": "no mail"}]}


def build_crew(ran: list[Any], script: list[str], guardrail: Any = None) -> tuple[Crew, ScriptedLLM]:
    @tool("send_email")
    def send_email(to: str, body: str) -> str:
        """Send an email to someone."""
        ran.append(to)
        return f"sent to {to}"

    llm = ScriptedLLM(model="scripted", script=script)
    agent = Agent(role="mailer", goal="g", backstory="b", llm=llm, tools=[send_email])
    kwargs = {"guardrail": guardrail} if guardrail is not None else {}
    task = Task(description="send the mail", expected_output="ok", agent=agent, **kwargs)
    return Crew(agents=[agent], tasks=[task]), llm


class MailFlow(Flow):
    """A flow whose step builds a fresh crew each run, as CrewAI flows usually do."""

    ran: list[Any] = []
    llms: list[ScriptedLLM] = []

    @start()
    def mail(self) -> str:
        crew, llm = build_crew(MailFlow.ran, [act("send_email", to="a@example.com", body="hi"), final("flow done")])
        MailFlow.llms.append(llm)
        return crew.kickoff().raw


def test_governing_a_flow_governs_the_crews_it_builds(make_gov, log):
    MailFlow.ran, MailFlow.llms = [], []
    flow = MailFlow()
    govern(flow, make_gov(NO_MAIL))
    assert flow.kickoff() == "flow done"
    assert MailFlow.ran == []
    assert "Lictor policy refused this tool_call 'send_email'" in MailFlow.llms[0].last_prompt_text()
    (action, decision), = log.actions("tool_call")
    assert decision.verdict == "deny" and action.session == f"flow-{flow.flow_id}"


def test_an_ungoverned_flow_is_left_alone(make_gov, log):
    MailFlow.ran, MailFlow.llms = [], []
    governed = MailFlow()
    govern(governed, make_gov(NO_MAIL))
    assert ungovern(governed) is True
    MailFlow().kickoff()
    assert MailFlow.ran == ["a@example.com"] and log.decisions == []


def test_kill_switch_stops_a_flow(make_gov, log):
    MailFlow.ran, MailFlow.llms = [], []
    flow = MailFlow()
    gov = make_gov({})
    gov.kill_switch.engage("stop everything")
    with pytest.raises(LictorStop, match="stop everything"):
        govern(flow, gov).kickoff()
    assert MailFlow.ran == []


# -- task guardrail ---------------------------------------------------------------------------
def test_task_guardrail_redacts_the_final_answer(make_gov, log):
    gov = make_gov({"rules": [{"id": "no-cards-out", "phase": "output", "match": {"kind": "model_output"},
                               "effect": "redact", "redact": {"patterns": ["\\d{16}"], "replacement": "[CARD]"}}]})
    crew, _ = build_crew([], [final("card 4111111111111111")], guardrail=lictor_guardrail(gov))
    out = crew.kickoff()
    assert out.raw == "card [CARD]"
    assert ("send the mail", "redact") in log.verdicts("model_output", phase="output")


def test_task_guardrail_refusal_makes_the_agent_try_again(make_gov, log):
    gov = make_gov({"rules": [{"id": "no-secrets-out", "phase": "output", "match": {"kind": "model_output"},
                               "when": "output.contains('SECRET')", "effect": "deny", "reason": "secrets stay in"}]})
    crew, llm = build_crew([], [final("the SECRET is 42"), final("I cannot share that")],
                           guardrail=lictor_guardrail(gov))
    out = crew.kickoff()
    assert out.raw == "I cannot share that"
    assert "Lictor policy refused this answer: secrets stay in" in llm.last_prompt_text()


# -- audit trail ------------------------------------------------------------------------------
def test_a_governed_run_leaves_a_verifiable_audit_trail(make_gov, log, tmp_path):
    gov = make_gov({**NO_MAIL, "audit": {"sink": "sqlite", "path": str(tmp_path / "audit.db")}})
    ran: list[Any] = []
    crew, _ = build_crew(ran, [act("send_email", to="a@example.com", body="hi"), final()])
    govern(crew, gov).kickoff()
    records = gov.audit.records()
    assert len(records) == len(log.decisions) >= 3
    assert gov.audit.verify().ok


class HaltOnce:
    """Halts the first mail attempt only (an incident that is over by the next run)."""

    name = "halt_once"

    def __init__(self) -> None:
        self.fired = False

    @lictor.hookimpl
    def lictor_check_action(self, action: lictor.Action, ctx: Any) -> Any:
        if action.name == "send_email" and not self.fired:
            self.fired = True
            return lictor.Decision.deny("incident", rule_id="incident", halt=True)
        return None


def test_a_halt_stops_one_flow_run_and_not_the_next(make_gov, log):
    MailFlow.ran, MailFlow.llms = [], []
    flow = MailFlow()
    govern(flow, make_gov({}, HaltOnce()))
    with pytest.raises(LictorStop, match="incident"):
        flow.kickoff()
    assert MailFlow.ran == []
    assert flow.kickoff() == "flow done"
    assert MailFlow.ran == ["a@example.com"]


async def test_async_kickoff_is_governed(make_gov, log):
    ran: list[Any] = []
    crew, llm = build_crew(ran, [act("send_email", to="a@example.com", body="hi"), final()])
    govern(crew, make_gov(NO_MAIL))
    await crew.kickoff_async()
    assert ran == []
    assert "Lictor policy refused this tool_call 'send_email'" in llm.last_prompt_text()


def test_a_standalone_agent_kickoff_inside_a_governed_flow_is_governed(make_gov, log):
    ran: list[Any] = []

    @tool("send_email")
    def send_email(to: str) -> str:
        """Send an email."""
        ran.append(to)
        return "sent"

    class SoloFlow(Flow):
        @start()
        def go(self) -> str:
            agent = Agent(role="solo", goal="g", backstory="b", tools=[send_email],
                          llm=ScriptedLLM(model="m", script=[act("send_email", to="x"), final("ok")]))
            return agent.kickoff("send a mail").raw

    flow = SoloFlow()
    govern(flow, make_gov(NO_MAIL))
    flow.kickoff()
    assert ran == []
    assert log.verdicts("tool_call") == [("send_email", "deny")]
