"""Pins the parts of CrewAI's hook API the adapter relies on (crewai 1.15.x).

CrewAI's hook engine is new in 1.15 and moves fast. When one of these fails after an upgrade,
the adapter's assumptions need review before the end-to-end tests are trusted again.
"""

from __future__ import annotations

import inspect

import crewai
import pytest
from crewai.hooks import (
    HookAborted,
    InterceptionPoint,
    LLMCallHookContext,
    ToolCallHookContext,
    clear_all_hooks,
    get_hooks,
    register_hook,
    unregister_hook,
)
from crewai.hooks.dispatch import dispatch
from crewai.hooks.llm_hooks import after_llm_call_reducer
from crewai.hooks.tool_hooks import after_tool_call_reducer, run_before_tool_call_hooks


def test_crewai_is_the_pinned_minor_version():
    assert crewai.__version__.startswith("1.15."), crewai.__version__


def test_interception_points_the_adapter_registers_exist():
    for name in ("PRE_TOOL_CALL", "POST_TOOL_CALL", "PRE_MODEL_CALL", "POST_MODEL_CALL", "EXECUTION_START"):
        assert isinstance(getattr(InterceptionPoint, name), InterceptionPoint)


def test_register_and_unregister_work_by_identity():
    def hook(ctx: object) -> None:
        return None

    register_hook(InterceptionPoint.PRE_TOOL_CALL, hook)
    assert get_hooks(InterceptionPoint.PRE_TOOL_CALL) == [hook]
    assert unregister_hook(InterceptionPoint.PRE_TOOL_CALL, hook) is True
    assert unregister_hook(InterceptionPoint.PRE_TOOL_CALL, hook) is False
    clear_all_hooks()


def test_hook_engine_is_fail_open_on_any_exception_but_hook_aborted():
    # The reason every Lictor hook converts its own errors into HookAborted.
    def buggy(ctx: object) -> None:
        raise RuntimeError("bug")

    register_hook(InterceptionPoint.PRE_TOOL_CALL, buggy)
    ctx = ToolCallHookContext(tool_name="t", tool_input={}, tool=None)  # type: ignore[arg-type]
    try:
        assert run_before_tool_call_hooks(ctx) is False  # swallowed: the tool would run
    finally:
        clear_all_hooks()

    def aborting(ctx: object) -> None:
        raise HookAborted("no", source="lictor")

    register_hook(InterceptionPoint.PRE_TOOL_CALL, aborting)
    try:
        assert run_before_tool_call_hooks(ctx) is True  # blocked
    finally:
        clear_all_hooks()


def test_hook_aborted_propagates_from_dispatch_with_reason_and_source():
    def aborting(ctx: object) -> None:
        raise HookAborted("stop", source="lictor")

    register_hook(InterceptionPoint.PRE_MODEL_CALL, aborting)
    try:
        with pytest.raises(HookAborted) as err:
            dispatch(InterceptionPoint.PRE_MODEL_CALL, object())
        assert err.value.reason == "stop" and err.value.source == "lictor"
    finally:
        clear_all_hooks()


def test_context_attributes_the_adapter_reads():
    tool_params = inspect.signature(ToolCallHookContext.__init__).parameters
    for name in ("tool_name", "tool_input", "tool", "agent", "task", "crew", "tool_result"):
        assert name in tool_params
    llm_ctx = LLMCallHookContext(messages=[{"role": "user", "content": "x"}], llm=None, agent=None)
    for name in ("messages", "llm", "agent", "task", "crew", "iterations", "response"):
        assert hasattr(llm_ctx, name)


def test_returned_strings_replace_tool_results_and_model_responses():
    tctx = ToolCallHookContext(tool_name="t", tool_input={}, tool=None, tool_result="raw")  # type: ignore[arg-type]
    assert after_tool_call_reducer(tctx, "lictor text") is True and tctx.tool_result == "lictor text"
    lctx = LLMCallHookContext(messages=[], llm=None, response="raw")
    after_llm_call_reducer(lctx, "redacted")
    assert lctx.response == "redacted"


def test_blocked_tool_calls_still_reach_post_tool_call_with_the_fixed_text():
    # Lictor replaces this text with its own refusal from POST_TOOL_CALL.
    from crewai.utilities import tool_utils

    src = inspect.getsource(tool_utils)
    assert "Tool execution blocked by hook" in src
    assert "run_after_tool_call_hooks(blocked_hook_context)" in src


def test_executors_snapshot_model_hooks_in_public_lists():
    from crewai.agents.agent_executor import AgentExecutor

    fields = AgentExecutor.model_fields
    assert "before_llm_call_hooks" in fields and "after_llm_call_hooks" in fields
    assert "get_before_llm_call_hooks()" in inspect.getsource(AgentExecutor._setup_executor)


def test_hook_aborted_is_not_retried_by_agents():
    from crewai.agent import core

    assert HookAborted in core._passthrough_exceptions


def test_flows_publish_their_id_in_a_context_variable():
    from crewai.flow.flow import Flow
    from crewai.flow.flow_context import current_flow_id

    assert current_flow_id.get() is None
    assert isinstance(Flow().flow_id, str)


def test_delegation_tool_names_as_hooks_see_them():
    from crewai.tools.agent_tools.ask_question_tool import AskQuestionTool
    from crewai.tools.agent_tools.delegate_work_tool import DelegateWorkTool
    from crewai.utilities.string_utils import sanitize_tool_name

    from lictor_crewai import DELEGATION_TOOLS

    names = {sanitize_tool_name(t.model_fields["name"].default) for t in (DelegateWorkTool, AskQuestionTool)}
    assert names == set(DELEGATION_TOOLS)
