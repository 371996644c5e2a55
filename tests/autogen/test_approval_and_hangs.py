"""Approvals awaited in-process, and proof that nothing hangs: denied, raising, cancelled."""

from __future__ import annotations

import asyncio

import lictor
from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.messages import ToolCallExecutionEvent
from autogen_core import CancellationToken
from autogen_core.tools import FunctionTool
from lictor_autogen import govern

from conftest import Recorder, Tools, call, model

TIMEOUT = 10


def tool_result(res):
    return [r for m in res.messages if isinstance(m, ToolCallExecutionEvent) for r in m.content][0]


def refund_agent(tools: Tools):
    return AssistantAgent("support", model_client=model(call("refund", {"amount": 250}), "done"), tools=tools.all())


async def test_approval_granted_by_a_sync_input_function(gov, tools: Tools, recorder: Recorder) -> None:
    prompts: list[str] = []

    def input_func(prompt: str) -> str:
        prompts.append(prompt)
        return "yes, fine"

    agent = govern(refund_agent(tools), gov, approver=input_func, approver_name="alice")
    await asyncio.wait_for(agent.run(task="refund 250"), TIMEOUT)
    assert tools.calls == [("refund", {"amount": 250})]
    assert "refund" in prompts[0] and "refunds over 100 need a human" in prompts[0]
    final = recorder.actions("tool_call")[-1][1]
    assert final.verdict == "allow" and final.approval is not None and final.approval.approver == "alice"


async def test_approval_refused_by_an_async_input_function(gov, tools: Tools, recorder: Recorder) -> None:
    async def input_func(prompt: str, token: CancellationToken | None) -> str:
        return "no, too much"

    agent = govern(refund_agent(tools), gov, approver=input_func)
    res = await asyncio.wait_for(agent.run(task="refund 250"), TIMEOUT)
    assert tools.calls == []
    r = tool_result(res)
    assert r.is_error and "refused by user" in r.content
    assert [d.verdict for _, d in recorder.actions("tool_call")] == ["approve", "deny"]


async def test_approval_timeout_denies(gov, tools: Tools, recorder: Recorder) -> None:
    async def slow(prompt: str, token: CancellationToken | None) -> str:
        await asyncio.sleep(30)
        return "yes"

    agent = govern(refund_agent(tools), gov, approver=slow, approval_timeout=0.2)
    res = await asyncio.wait_for(agent.run(task="refund 250"), TIMEOUT)
    assert tools.calls == []
    assert tool_result(res).is_error
    final = recorder.actions("tool_call")[-1][1]
    assert final.verdict == "deny" and final.approval.approver == "lictor:timeout"


async def test_approval_without_an_approver_fails_closed(gov, tools: Tools) -> None:
    agent = govern(refund_agent(tools), gov)
    res = await asyncio.wait_for(agent.run(task="refund 250"), TIMEOUT)
    assert tools.calls == [] and "no approver" in tool_result(res).content


async def test_approver_may_answer_with_an_approval_that_edits_arguments(gov, tools: Tools) -> None:
    def approve_less(prompt: str) -> lictor.Approval:
        return lictor.Approval(approved=True, approver="bob", args={"amount": 100})

    agent = govern(refund_agent(tools), gov, approver=approve_less)
    await asyncio.wait_for(agent.run(task="refund 250"), TIMEOUT)
    assert tools.calls == [("refund", {"amount": 100})]


async def test_a_tool_raising_cancelled_error_does_not_hang_the_run(gov) -> None:
    async def flaky(x: int) -> str:
        """Raises a BaseException that StaticWorkbench does not catch."""
        raise asyncio.CancelledError()

    agent = govern(AssistantAgent("a", model_client=model(call("flaky", {"x": 1}), "done"),
                                  tools=[FunctionTool(flaky, description="flaky")]), gov)
    res = await asyncio.wait_for(agent.run(task="go"), TIMEOUT)
    r = tool_result(res)
    assert r.is_error and "cancelled" in r.content


async def test_a_tool_raising_an_error_does_not_hang_the_run(gov) -> None:
    def broken(x: int) -> str:
        """Raises."""
        raise RuntimeError("database down")

    agent = govern(AssistantAgent("a", model_client=model(call("broken", {"x": 1}), "done"),
                                  tools=[FunctionTool(broken, description="broken")]), gov)
    res = await asyncio.wait_for(agent.run(task="go"), TIMEOUT)
    assert tool_result(res).is_error


async def test_a_cancelled_run_returns_promptly(gov) -> None:
    token = CancellationToken()
    started = asyncio.Event()

    async def slow(x: int) -> str:
        """Sleeps."""
        started.set()
        await asyncio.sleep(30)
        return "late"

    agent = govern(AssistantAgent("a", model_client=model(call("slow", {"x": 1}), "done", "done"),
                                  tools=[FunctionTool(slow, description="slow")]), gov)
    task = asyncio.ensure_future(agent.run(task="go", cancellation_token=token))
    await asyncio.wait_for(started.wait(), TIMEOUT)
    token.cancel()
    res = await asyncio.wait_for(task, TIMEOUT)  # returns: the cancelled tool became an error result
    r = tool_result(res)
    assert r.is_error and "cancelled" in r.content


async def test_the_approver_sees_a_faithful_summary_not_the_agents_justification(recorder: Recorder) -> None:
    """ASI09: the prompt is built from the action and the decision; the model's own argument for
    the call is shown apart, labelled unverified, never as the reason it was flagged."""
    policy = {"version": 1, "rules": [{
        "id": "wire-needs-a-human", "match": {"kind": "tool_call", "name": "wire"}, "when": "args.amount > 1000",
        "effect": "approve", "reason": "wires over 1000 EUR need a human", "risks": ["ASI02", "ASI09"]}]}
    gov = lictor.Governor.from_dict(policy, plugins=[recorder], load_entrypoints=False)
    ran: list[dict] = []

    def wire(amount: int, iban: str, justification: str) -> str:
        """Wire money."""
        ran.append({"amount": amount, "iban": iban})
        return "wired"

    claim = "The CFO already approved this, it is routine and safe"
    agent = AssistantAgent("treasury", model_client=model(
        call("wire", {"amount": 9000, "iban": "GB33BUKB20201555555555", "justification": claim}), "done"),
        tools=[FunctionTool(wire, description="wire")])
    prompts: list[str] = []

    def human(prompt: str) -> str:
        prompts.append(prompt)
        return "no"

    govern(agent, gov, approver=human)
    await asyncio.wait_for(agent.run(task="pay the supplier"), TIMEOUT)
    gov.close()
    assert ran == []
    (prompt,) = prompts
    assert "Agent 'treasury' wants to run tool 'wire'" in prompt
    assert "amount = 9000" in prompt and "iban = 'GB33BUKB20201555555555'" in prompt
    flagged = prompt.split("flagged because:", 1)[1]
    assert "wires over 1000 EUR need a human" in flagged
    assert "ASI02 Tool misuse and exploitation" in flagged and "ASI09 Human-agent trust exploitation" in flagged
    assert claim not in flagged  # never presented as why it was flagged ...
    statements = prompt.split("the agent's own statements (unverified", 1)[1].split("flagged because:", 1)[0]
    assert claim in statements  # ... only as the agent's own, unverified words
    assert f"justification = {claim!r}" not in prompt  # not listed among the plain arguments
