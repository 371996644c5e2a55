"""ASI07 (signed delegations) and ASI09 (what the human approver reads) in a real crew."""

from __future__ import annotations

import builtins
from typing import Any

import pytest
from crewai import Agent, Crew, Task
from crewai.tools import tool
from lictor.protections.message_signing import MessageSigner

from lictor_crewai import approval_text, console_approver, govern
from scripted_llm import ScriptedLLM, act, final
from test_run_control import delegating_crew

ENV = "LICTOR_TEST_CREWAI_MESSAGE_KEY"
SIGNED = {"protections": {"message_signing": {"key_env": ENV}}}


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(ENV, "c" * 32)
    return "c" * 32


def test_a_delegation_is_signed_and_passes_with_message_signing_on(make_gov, log, key):
    crew, boss_llm, worker_llm = delegating_crew([])
    govern(crew, make_gov(SIGNED)).kickoff()  # signer keyed from message_signing.key_env
    assert len(worker_llm.prompts) == 1  # the coworker ran
    ((action, decision),) = log.actions("handoff")
    assert (action.agent, action.name, decision.verdict) == ("boss", "researcher", "allow")
    sig = action.metadata["signature"]
    assert (sig["sender"], sig["recipient"]) == ("boss", "researcher")
    assert MessageSigner(key).verify(sig, "boss", "researcher", action.content)


def test_a_delegation_signed_with_another_key_is_refused(make_gov, log, key):
    crew, boss_llm, worker_llm = delegating_crew([])
    govern(crew, make_gov(SIGNED), signer=MessageSigner("z" * 32)).kickoff()
    assert worker_llm.prompts == []  # the coworker never ran
    assert "message_signing" in boss_llm.last_prompt_text()
    assert [d.verdict for _, d in log.actions("handoff")] == ["deny"]


def test_without_message_signing_delegations_are_not_signed(make_gov, log):
    crew, _, worker_llm = delegating_crew([])
    govern(crew, make_gov({})).kickoff()
    ((action, _),) = log.actions("handoff")
    assert "signature" not in action.metadata and len(worker_llm.prompts) == 1


def test_the_console_approver_shows_a_faithful_summary_not_the_agents_justification(make_gov, log, monkeypatch, capsys):
    ran: list[Any] = []

    @tool("wire")
    def wire(amount: int, iban: str, justification: str) -> str:
        """Wire money to an account."""
        ran.append(amount)
        return "wired"

    claim = "The CFO already approved this, it is routine and safe"
    llm = ScriptedLLM(model="scripted", script=[
        act("wire", amount=9000, iban="GB33BUKB20201555555555", justification=claim), final()])
    agent = Agent(role="treasury", goal="pay", backstory="b", llm=llm, tools=[wire])
    crew = Crew(agents=[agent], tasks=[Task(description="pay the supplier", expected_output="ok", agent=agent)])
    gov = make_gov({"rules": [{"id": "wire-needs-a-human", "match": {"name": "wire"}, "when": "args.amount > 1000",
                               "effect": "approve", "reason": "wires over 1000 EUR need a human",
                               "risks": ["ASI02", "ASI09"]}]})
    monkeypatch.setattr(builtins, "input", lambda prompt="": "n")  # the human says no
    govern(crew, gov, approver=console_approver).kickoff()
    assert ran == []
    shown = capsys.readouterr().out
    assert "Agent 'treasury' wants to run tool 'wire'" in shown
    assert "amount = 9000" in shown and "iban = 'GB33BUKB20201555555555'" in shown
    flagged = shown.split("flagged because:", 1)[1]
    assert "wires over 1000 EUR need a human" in flagged
    assert "ASI02 Tool misuse and exploitation" in flagged and "ASI09 Human-agent trust exploitation" in flagged
    assert claim not in flagged
    assert claim in shown.split("unverified", 1)[1].split("flagged because:", 1)[0]
    ((action, pending),) = [(a, d) for a, d in log.actions("tool_call") if d.verdict == "approve"]
    assert approval_text(action, pending) in shown
