"""Tool calls: a delegating Workbench that asks the Governor before and after every call.

``AssistantAgent`` does not send tool calls through the agent runtime: it calls
``Workbench.call_tool(name, arguments, cancellation_token, call_id)`` on its workbenches
directly, so a workbench that wraps the real one sees every call and can refuse, rewrite or
redact it. It must NEVER raise: an exception (``CancelledError`` included) escaping a tool call
inside ``AssistantAgent`` leaves ``run()`` waiting forever (upstream deadlock on in-flight tool
calls), so every refusal and every failure becomes an error ``ToolResult``.
"""

from __future__ import annotations

import asyncio
from typing import Any, AsyncGenerator, List, Mapping, Optional, Sequence, Union

import lictor
from autogen_core import CancellationToken
from autogen_core.tools import BaseTool, StaticWorkbench, TextResultContent, ToolResult, ToolSchema, Workbench

from .approval import Approver
from .context import GovernedRun, refusal_text

__all__ = ["LictorWorkbench"]


def _error(name: str, text: str) -> ToolResult:
    return ToolResult(name=name, result=[TextResultContent(content=text)], is_error=True)


class LictorWorkbench(Workbench):
    """A workbench whose every tool call goes through a Lictor Governor.

    ::

        agent = AssistantAgent("support", model_client=client,
                               workbench=LictorWorkbench([lookup, refund], gov, agent="support"))

    :param inner: the workbench to govern, or a list of tools (put in a ``StaticWorkbench``).
    :param gov: the Governor.
    :param agent: the agent name recorded on every action (use the AutoGen agent's name).
    :param run: shared state when several wrappers govern one team (``govern()`` passes it);
        otherwise ``session``, ``approver``, ``approval_timeout`` and ``on_halt`` build one (see
        :class:`~lictor_autogen.context.GovernedRun`).

    Verdicts: allow runs the call; redact runs it with the rewritten arguments; deny and a
    refused approval return an error ``ToolResult`` with a refusal the model can act on; the
    output is checked too (redacted or withheld).
    """

    component_type = "workbench"

    def __init__(
        self,
        inner: Union[Workbench, Sequence[BaseTool[Any, Any]]],
        gov: lictor.Governor,
        *,
        agent: str = "assistant",
        run: Optional[GovernedRun] = None,
        session: Optional[str] = None,
        approver: Optional[Approver] = None,
        approval_timeout: float = 60.0,
        on_halt: Any = "terminate",
    ) -> None:
        self.inner: Workbench = inner if isinstance(inner, Workbench) else StaticWorkbench(list(inner))
        self.gov = gov
        self.agent = agent
        self.run = run or GovernedRun(gov, name=agent, session=session, approver=approver,
                                      approval_timeout=approval_timeout, on_halt=on_halt)

    # -- the governed call -----------------------------------------------------------------------
    async def call_tool(
        self,
        name: str,
        arguments: Mapping[str, Any] | None = None,
        cancellation_token: CancellationToken | None = None,
        call_id: str | None = None,
    ) -> ToolResult:
        try:
            return await self._call(name, arguments, cancellation_token, call_id)
        except (Exception, asyncio.CancelledError) as exc:  # never let anything escape (see module doc)
            if isinstance(exc, asyncio.CancelledError):
                return _error(name, f"[lictor] tool call '{name}' was cancelled.")
            return _error(name, f"[lictor] tool call '{name}' failed ({type(exc).__name__}); it was not completed.")

    async def _call(self, name: str, arguments: Mapping[str, Any] | None,
                    token: CancellationToken | None, call_id: str | None) -> ToolResult:
        run = self.run
        args = dict(arguments or {})
        action = run.action("tool_call", self.agent, name, args=args, call_id=call_id, source="agent")
        d = await run.decide(action, token)
        if d.blocked:
            return _error(name, refusal_text(d, f"tool call '{name}'"))
        todo = d.action if (d.enforced and d.action is not None) else action
        if token is not None and token.is_cancelled():
            return _error(name, f"[lictor] tool call '{name}' was not run: the run was cancelled.")
        result = await self.inner.call_tool(name, todo.args, token, call_id)
        if not isinstance(result, ToolResult):
            return _error(name, f"[lictor] tool '{name}' returned no result.")
        return self._check_output(todo, result)

    def _check_output(self, action: lictor.Action, result: ToolResult) -> ToolResult:
        text = result.to_text()
        out = self.gov.check_output(action, text)
        if out.blocked:
            return _error(result.name, refusal_text(out, f"the result of tool '{result.name}'").replace(
                "was refused", "was withheld"))
        if out.enforced and out.verdict == "redact" and out.output is not None and out.output != text:
            return ToolResult(name=result.name, result=[TextResultContent(content=str(out.output))],
                              is_error=result.is_error)
        return result

    async def call_tool_stream(
        self,
        name: str,
        arguments: Mapping[str, Any] | None = None,
        cancellation_token: CancellationToken | None = None,
        call_id: str | None = None,
    ) -> AsyncGenerator[Any | ToolResult, None]:
        """Governed like :meth:`call_tool`; yields the single (governed) result."""
        yield await self.call_tool(name, arguments, cancellation_token, call_id)

    # -- plain delegation ------------------------------------------------------------------------
    async def list_tools(self) -> List[ToolSchema]:
        return await self.inner.list_tools()

    async def start(self) -> None:
        await self.inner.start()

    async def stop(self) -> None:
        await self.inner.stop()

    async def reset(self) -> None:
        await self.inner.reset()

    async def save_state(self) -> Mapping[str, Any]:
        return await self.inner.save_state()

    async def load_state(self, state: Mapping[str, Any]) -> None:
        await self.inner.load_state(state)

    def _to_config(self) -> Any:  # pragma: no cover - governed workbenches are not serialised
        raise TypeError("a LictorWorkbench is not serialisable; dump the inner workbench (ungovern first)")
