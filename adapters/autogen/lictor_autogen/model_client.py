"""Model calls and hand-offs: a delegating ChatCompletionClient.

The proxy sees what goes to the model (checked as ``model_call``: refused without calling the
model, or sent with the newest message redacted) and what comes back. It is also the only place
where a hand-off can be refused: ``AssistantAgent`` runs hand-off tools itself (not through a
workbench) and builds the ``HandoffMessage`` from the model's ``FunctionCall`` whatever the tool
returned, so a refused hand-off is stripped from the ``CreateResult`` here.
"""

from __future__ import annotations

import json
from typing import Any, AsyncGenerator, Dict, List, Literal, Mapping, Optional, Sequence, Union

import lictor
from autogen_core import CancellationToken, FunctionCall
from autogen_core.models import (
    AssistantMessage,
    ChatCompletionClient,
    CreateResult,
    FunctionExecutionResultMessage,
    LLMMessage,
    ModelCapabilities,  # type: ignore[attr-defined]
    ModelInfo,
    RequestUsage,
    SystemMessage,
    UserMessage,
)
from autogen_core.tools import BaseTool, Tool, ToolSchema
from pydantic import BaseModel

from .approval import Approver
from .context import GovernedRun, refusal_text
from .signing import MessageSigner, sign

__all__ = ["LictorModelClient"]

_NO_USAGE = RequestUsage(prompt_tokens=0, completion_tokens=0)


def _text_and_source(msg: LLMMessage) -> tuple[Optional[str], str]:
    if isinstance(msg, SystemMessage):
        return msg.content, "system"
    if isinstance(msg, UserMessage):
        text = msg.content if isinstance(msg.content, str) else " ".join(c for c in msg.content if isinstance(c, str))
        return text, "user" if msg.source == "user" else "agent"
    if isinstance(msg, FunctionExecutionResultMessage):
        return "\n".join(r.content for r in msg.content), "tool"
    if isinstance(msg, AssistantMessage):
        return (msg.content if isinstance(msg.content, str) else None), "agent"
    return None, "agent"


def _with_text(msg: LLMMessage, text: str) -> LLMMessage:
    if isinstance(msg, (SystemMessage, UserMessage, AssistantMessage)):
        return msg.model_copy(update={"content": text})
    if isinstance(msg, FunctionExecutionResultMessage) and len(msg.content) == 1:
        return msg.model_copy(update={"content": [msg.content[0].model_copy(update={"content": text})]})
    return msg


def _result(text: str) -> CreateResult:
    return CreateResult(finish_reason="stop", content=text, usage=_NO_USAGE, cached=False)


class LictorModelClient(ChatCompletionClient):
    """A model client whose every call (and every hand-off it proposes) goes through Lictor.

    ::

        agent = AssistantAgent("triage", model_client=LictorModelClient(client, gov, agent="triage"),
                               handoffs=["billing"])

    :param inner: the real model client.
    :param gov: the Governor.
    :param agent: the agent name recorded on every action.
    :param handoffs: hand-off tool name -> target agent; by default a tool passed to the model
        as a tool *object* (AutoGen passes workbench tools as schemas and hand-off tools as
        objects) named ``transfer_to_<target>`` is taken as a hand-off to ``<target>``.
    :param run: shared state (``govern()`` passes it); else ``session``, ``approver``,
        ``approval_timeout``, ``on_halt``, ``signer`` build one.

    With a signer (ASI07), each hand-off is signed here, where the model proposes it: sender =
    ``agent``, recipient = the target agent, content = the call's arguments.
    """

    component_type = "model"

    def __init__(
        self,
        inner: ChatCompletionClient,
        gov: lictor.Governor,
        *,
        agent: str = "assistant",
        handoffs: Optional[Mapping[str, str]] = None,
        run: Optional[GovernedRun] = None,
        session: Optional[str] = None,
        approver: Optional[Approver] = None,
        approval_timeout: float = 60.0,
        on_halt: Any = "terminate",
        signer: Optional[MessageSigner] = None,
    ) -> None:
        self.inner = inner
        self.gov = gov
        self.agent = agent
        self.handoffs: Dict[str, str] = dict(handoffs or {})
        self.run = run or GovernedRun(gov, name=agent, session=session, approver=approver,
                                      approval_timeout=approval_timeout, on_halt=on_halt, signer=signer)
        info = getattr(inner, "model_info", None) or {}
        family = info.get("family", "unknown") if isinstance(info, Mapping) else "unknown"
        self.model_name = family if family and family != "unknown" else type(inner).__name__

    # -- before the call -------------------------------------------------------------------------
    async def _before(self, messages: Sequence[LLMMessage], token: Optional[CancellationToken]
                      ) -> tuple[Optional[lictor.Action], Sequence[LLMMessage], Optional[CreateResult]]:
        text, source = _text_and_source(messages[-1]) if messages else (None, "agent")
        action = self.run.action("model_call", self.agent, self.model_name, content=text, source=source,
                                 messages=len(messages))
        d = await self.run.decide(action, token)
        if d.blocked:
            return action, messages, _result(refusal_text(d, f"the call to model '{self.model_name}'"))
        if d.enforced and d.verdict == "redact" and d.action is not None and d.action.content != text \
                and d.action.content is not None:
            messages = list(messages[:-1]) + [_with_text(messages[-1], d.action.content)]
        return action, messages, None

    # -- after the call --------------------------------------------------------------------------
    def _handoff_names(self, tools: Sequence[Union[Tool, ToolSchema]]) -> Dict[str, str]:
        found = dict(self.handoffs)
        for t in tools:
            if isinstance(t, BaseTool) and t.name.startswith("transfer_to_") and t.name not in found:
                found[t.name] = t.name[len("transfer_to_"):]
        return found

    async def _after(self, action: lictor.Action, result: CreateResult, tools: Sequence[Union[Tool, ToolSchema]],
                     token: Optional[CancellationToken]) -> CreateResult:
        content = result.content
        if isinstance(content, str):
            out = self.gov.check_output(action, content)
            if out.blocked:
                return result.model_copy(update={"content": refusal_text(out, "the model's answer").replace(
                    "was refused", "was withheld")})
            if out.enforced and out.verdict == "redact" and isinstance(out.output, str) and out.output != content:
                return result.model_copy(update={"content": out.output})
            return result
        handoffs = self._handoff_names(tools)
        if not handoffs:
            return result
        kept: List[FunctionCall] = []
        refusals: List[str] = []
        for call in content:
            target = handoffs.get(call.name)
            if target is None:
                kept.append(call)
                continue
            try:
                args = json.loads(call.arguments) if call.arguments else {}
            except ValueError:
                args = {}
            args = args if isinstance(args, dict) else {}
            signed: Dict[str, Any] = {}
            if self.run.signer is not None:  # signed where it is produced (ASI07)
                signed["signature"] = sign(self.run.signer, self.agent, target, args)
            h = self.run.action("handoff", self.agent, target, args=args, call_id=call.id, source="agent",
                                tool=call.name, **signed)
            d = await self.run.decide(h, token)
            if d.blocked:
                refusals.append(refusal_text(d, f"the hand-off to '{target}'"))
                continue
            if d.enforced and d.verdict == "redact" and d.action is not None and d.action.args != args:
                call = call.model_copy(update={"arguments": json.dumps(d.action.args)})
            kept.append(call)
        if not refusals:
            return result if len(kept) == len(content) else result.model_copy(update={"content": kept})
        if kept:
            return result.model_copy(update={"content": kept})
        # Every call was a refused hand-off: the agent answers in text and keeps the turn.
        return result.model_copy(update={"content": " ".join(refusals), "finish_reason": "stop"})

    # -- ChatCompletionClient --------------------------------------------------------------------
    async def create(
        self,
        messages: Sequence[LLMMessage],
        *,
        tools: Sequence[Tool | ToolSchema] = [],
        tool_choice: Tool | Literal["auto", "required", "none"] = "auto",
        json_output: Optional[bool | type[BaseModel]] = None,
        extra_create_args: Mapping[str, Any] = {},
        cancellation_token: Optional[CancellationToken] = None,
    ) -> CreateResult:
        action, messages, refused = await self._before(messages, cancellation_token)
        if refused is not None:
            return refused
        result = await self.inner.create(messages, tools=tools, tool_choice=tool_choice, json_output=json_output,
                                         extra_create_args=extra_create_args, cancellation_token=cancellation_token)
        assert action is not None
        return await self._after(action, result, tools, cancellation_token)

    async def create_stream(
        self,
        messages: Sequence[LLMMessage],
        *,
        tools: Sequence[Tool | ToolSchema] = [],
        tool_choice: Tool | Literal["auto", "required", "none"] = "auto",
        json_output: Optional[bool | type[BaseModel]] = None,
        extra_create_args: Mapping[str, Any] = {},
        cancellation_token: Optional[CancellationToken] = None,
    ) -> AsyncGenerator[Union[str, CreateResult], None]:
        """Streams the inner client's chunks; the final ``CreateResult`` is governed.

        Chunks already streamed are not redacted (the final message is): with output rules on
        model answers, prefer ``model_client_stream=False``.
        """
        action, messages, refused = await self._before(messages, cancellation_token)
        if refused is not None:
            yield refused
            return
        assert action is not None
        async for chunk in self.inner.create_stream(messages, tools=tools, tool_choice=tool_choice,
                                                    json_output=json_output, extra_create_args=extra_create_args,
                                                    cancellation_token=cancellation_token):
            if isinstance(chunk, CreateResult):
                yield await self._after(action, chunk, tools, cancellation_token)
            else:
                yield chunk

    async def close(self) -> None:
        await self.inner.close()

    def actual_usage(self) -> RequestUsage:
        return self.inner.actual_usage()

    def total_usage(self) -> RequestUsage:
        return self.inner.total_usage()

    def count_tokens(self, messages: Sequence[LLMMessage], *, tools: Sequence[Tool | ToolSchema] = []) -> int:
        return self.inner.count_tokens(messages, tools=tools)

    def remaining_tokens(self, messages: Sequence[LLMMessage], *, tools: Sequence[Tool | ToolSchema] = []) -> int:
        return self.inner.remaining_tokens(messages, tools=tools)

    @property
    def capabilities(self) -> ModelCapabilities:  # type: ignore[override]
        return self.inner.capabilities  # type: ignore[no-any-return]

    @property
    def model_info(self) -> ModelInfo:
        return self.inner.model_info

    def _to_config(self) -> Any:  # pragma: no cover - governed clients are not serialised
        raise TypeError("a LictorModelClient is not serialisable; dump the inner client (ungovern first)")
