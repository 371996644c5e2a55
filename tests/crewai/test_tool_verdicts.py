"""Tool-call verdicts become CrewAI behaviour: allow, redact, deny, and fail-closed errors."""

from __future__ import annotations

from typing import Any

import pytest
from crewai import Agent, Crew, Task
from crewai.tools import tool

import lictor
from lictor_crewai import govern, governance_of, ungovern
from scripted_llm import ScriptedLLM, act, final


def make_crew(script: list[str], ran: list[Any], role: str = "mailer") -> tuple[Crew, ScriptedLLM]:
    @tool("send_email")
    def send_email(to: str, body: str) -> str:
        """Send an email to someone."""
        ran.append({"to": to, "body": body})
        return f"sent to {to}: {body}"

    llm = ScriptedLLM(model="scripted", script=script)
    agent = Agent(role=role, goal="send mail", backstory="a careful mailer", llm=llm, tools=[send_email])
    task = Task(description="send the mail", expected_output="a confirmation", agent=agent)
    return Crew(agents=[agent], tasks=[task]), llm


def test_allowed_tool_runs_unchanged_and_is_recorded(make_gov, log):
    ran: list[Any] = []
    crew, _ = make_crew([act("send_email", to="a@example.com", body="hi"), final("sent")], ran)
    gov = make_gov({})
    out = govern(crew, gov).kickoff()
    assert out.raw == "sent"
    assert ran == [{"to": "a@example.com", "body": "hi"}]
    tool_decisions = log.actions("tool_call")
    assert [(a.name, d.verdict) for a, d in tool_decisions] == [("send_email", "allow")]
    action = tool_decisions[0][0]
    assert action.agent == "mailer"
    assert action.session == governance_of(crew).session
    assert action.session.startswith("crew-run-")
    assert action.metadata["framework"] == "crewai"
    assert log.verdicts("model_call") == [("scripted", "allow"), ("scripted", "allow")]


def test_denied_tool_does_not_run_and_the_agent_reads_lictors_refusal(make_gov, log):
    ran: list[Any] = []
    crew, llm = make_crew([act("send_email", to="a@example.com", body="hi"), final("gave up")], ran)
    gov = make_gov({"rules": [{"id": "no-mail", "match": {"kind": "tool_call", "name": "send_email"},
                               "effect": "deny", "reason": "mail is switched off"}]})
    out = govern(crew, gov).kickoff()
    assert ran == []
    assert out.raw == "gave up"
    seen = llm.last_prompt_text()
    assert "Lictor policy refused this tool_call 'send_email': mail is switched off (rules: no-mail)" in seen
    assert "blocked by hook" not in seen
    assert log.verdicts("tool_call") == [("send_email", "deny")]


def test_redacted_arguments_are_rewritten_in_place_before_the_tool_runs(make_gov, log):
    ran: list[Any] = []
    crew, _ = make_crew([act("send_email", to="a@example.com", body="card 4111111111111111"), final()], ran)
    gov = make_gov({"rules": [{"id": "no-cards", "match": {"name": "send_email"}, "effect": "redact",
                               "redact": {"patterns": ["\\d{16}"], "replacement": "[CARD]"}}]})
    govern(crew, gov).kickoff()
    assert ran == [{"to": "a@example.com", "body": "card [CARD]"}]
    assert log.verdicts("tool_call") == [("send_email", "redact")]


def test_tool_result_is_redacted_before_the_agent_reads_it(make_gov, log):
    ran: list[Any] = []
    crew, llm = make_crew([act("send_email", to="bob@example.com", body="hi"), final()], ran)
    gov = make_gov({"rules": [{"id": "hide-addresses", "phase": "output", "match": {"name": "send_email"},
                               "effect": "redact",
                               "redact": {"patterns": ["[a-z]+@example\\.com"], "replacement": "[EMAIL]"}}]})
    govern(crew, gov).kickoff()
    assert ran == [{"to": "bob@example.com", "body": "hi"}]
    seen = llm.last_prompt_text()
    assert "sent to [EMAIL]: hi" in seen
    assert "bob@example.com: hi" not in seen.split("Observation:")[-1]


def test_denied_tool_result_is_withheld(make_gov, log):
    ran: list[Any] = []
    crew, llm = make_crew([act("send_email", to="bob@example.com", body="secret"), final()], ran)
    gov = make_gov({"rules": [{"id": "no-echo", "phase": "output", "match": {"name": "send_email"},
                               "effect": "deny", "reason": "results of mail are private"}]})
    govern(crew, gov).kickoff()
    assert len(ran) == 1
    observation = llm.last_prompt_text().split("Observation:")[-1]
    assert "Lictor policy withheld the result of this tool_call 'send_email'" in observation
    assert "secret" not in observation


class Exploding:
    """A plugin that raises on every check: Lictor must refuse, CrewAI must not run the tool."""

    name = "exploding"

    @lictor.hookimpl
    def lictor_check_action(self, action: lictor.Action, ctx: Any) -> None:
        if action.kind == "tool_call":
            raise RuntimeError("plugin bug")


def test_a_raising_plugin_still_blocks_the_tool(make_gov, log):
    ran: list[Any] = []
    crew, llm = make_crew([act("send_email", to="a@example.com", body="hi"), final()], ran)
    gov = make_gov({}, Exploding())
    govern(crew, gov).kickoff()
    assert ran == []
    assert "plugin 'exploding' failed (RuntimeError: plugin bug)" in llm.last_prompt_text()
    assert log.verdicts("tool_call") == [("send_email", "deny")]


class BrokenGovernor(lictor.Governor):
    """A Governor whose check itself raises: the adapter's own fail-closed path."""

    def check(self, action: lictor.Action) -> lictor.Decision:
        if action.kind == "tool_call":
            raise RuntimeError("governor down")
        return super().check(action)


def test_an_error_inside_lictor_becomes_a_refusal_not_a_pass():
    ran: list[Any] = []
    crew, llm = make_crew([act("send_email", to="a@example.com", body="hi"), final()], ran)
    gov = BrokenGovernor.from_dict({"version": 1}, load_entrypoints=False)
    govern(crew, gov).kickoff()
    assert ran == []
    assert "Lictor could not check this tool call 'send_email' (RuntimeError: governor down), so it was refused" \
        in llm.last_prompt_text()


def test_monitor_mode_records_but_never_blocks(make_gov, log):
    ran: list[Any] = []
    crew, _ = make_crew([act("send_email", to="a@example.com", body="hi"), final()], ran)
    gov = make_gov({"mode": "monitor", "rules": [{"id": "no-mail", "match": {"name": "send_email"}, "effect": "deny"}]})
    govern(crew, gov).kickoff()
    assert len(ran) == 1
    assert log.verdicts("tool_call") == [("send_email", "deny")]
    assert log.actions("tool_call")[0][1].enforced is False


def test_ungovern_removes_every_hook_and_is_idempotent(make_gov, log):
    from crewai.hooks import InterceptionPoint, get_hooks

    ran: list[Any] = []
    crew, _ = make_crew([act("send_email", to="a@example.com", body="hi"), final()], ran)
    gov = make_gov({"rules": [{"id": "no-mail", "match": {"name": "send_email"}, "effect": "deny"}]})
    assert govern(govern(crew, gov), gov) is crew  # twice is harmless
    assert len(get_hooks(InterceptionPoint.PRE_TOOL_CALL)) == 1
    with pytest.raises(ValueError, match="already governed by another Governor"):
        govern(crew, make_gov({}))
    assert ungovern(crew) is True
    assert ungovern(crew) is False
    assert all(get_hooks(p) == [] for p in InterceptionPoint)
    crew.kickoff()
    assert len(ran) == 1 and log.decisions == []


def test_a_dropped_crew_takes_its_hooks_with_it(make_gov, log):
    import gc

    from crewai.hooks import InterceptionPoint, get_hooks

    crew, _ = make_crew([final()], [])
    govern(crew, make_gov({}))
    assert get_hooks(InterceptionPoint.PRE_TOOL_CALL) != []
    del crew
    gc.collect()
    assert all(get_hooks(p) == [] for p in InterceptionPoint)
