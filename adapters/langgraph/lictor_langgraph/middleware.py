"""``LictorMiddleware``: every tool call, model call, tool result and hand-off of a LangChain
``create_agent`` agent goes through a Lictor Governor.

    agent = create_agent(model, tools, middleware=[LictorMiddleware(gov)], checkpointer=saver)

Why middleware: it is langchain 1.x's own extension point (``wrap_tool_call`` around each tool
execution, ``wrap_model_call`` around each model call), so nothing of LangGraph is patched. The
same ``wrap_tool_call`` / ``awrap_tool_call`` methods have the ``(request, execute)`` contract of
``ToolNode(wrap_tool_call=...)``, so a hand-built graph uses them too (see ``toolnode.py``).

Verdicts become LangGraph behaviour:

- ``allow``: run unchanged. ``redact``: run with the rewritten arguments (``request.override``).
- ``deny``: answer with a ``ToolMessage(status="error")`` the model can act on, or raise
  :class:`lictor.PolicyViolation` when ``strict=True``.
- ``approve``: pause with ``langgraph.types.interrupt()`` (needs a checkpointer); the human's
  ``Command(resume=...)`` answer is recorded with ``gov.resolve_approval``.
- ``halt`` (kill switch): refuse, and end the run at the next model step with the reason.

LangGraph re-runs a tool wrapper when it resumes after an interrupt, so decisions are cached by
(thread id, tool-call id): one decision and one recorded human answer per call. LangGraph's
control-flow exceptions (``GraphBubbleUp``: interrupts, parent commands) are never caught here.
"""

from __future__ import annotations

import threading
from typing import Any, Awaitable, Callable, Literal, Optional, Union

from langchain.agents.middleware import AgentMiddleware, ModelRequest, ModelResponse
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langgraph.prebuilt.tool_node import ToolCallRequest
from langgraph.types import Command, interrupt

from lictor import Action, Decision, Governor, PolicyViolation

from ._cache import CallRecord, DecisionCache, args_fingerprint
from ._context import Resolver, RunIdentity, current_config, identity_from_config
from .approval import approval_request, parse_answer
from .signing import SIGNATURES_KEY, MessageSigner, resolve_signer, sign
from .translate import (
    DEFAULT_HANDOFF_PATTERNS,
    FRAMEWORK,
    PROMPT_SEPARATOR,
    HandoffMatcher,
    deny_tool_message,
    handoff_recipient,
    least_trusted,
    message_text,
    prompt_parts,
    refusal_text,
    tool_action,
)

__all__ = ["LictorMiddleware", "RunHalted"]

ToolResult = Union[ToolMessage, Command]


class RunHalted(PolicyViolation):
    """The kill switch (or a plugin's ``halt`` vote) stopped the run. Raised where the run cannot
    be ended cleanly (a hand-built graph's ToolNode) and in strict mode."""


class _ToolPlan:
    """What to do with one tool call: a reply instead of running, or the request to run."""

    __slots__ = ("request", "reply", "decision")

    def __init__(self, request: Optional[ToolCallRequest], reply: Optional[ToolMessage], decision: Decision) -> None:
        self.request, self.reply, self.decision = request, reply, decision


class _ModelPlan:
    __slots__ = ("request", "reply", "ident", "model")

    def __init__(self, request: Optional[ModelRequest], reply: Optional[AIMessage], ident: RunIdentity, model: str) -> None:
        self.request, self.reply, self.ident, self.model = request, reply, ident, model


class LictorMiddleware(AgentMiddleware):
    """Put a Lictor :class:`~lictor.Governor` in front of an agent's tools and model.

    :param gov: the Governor that decides and records.
    :param agent: the agent name in Actions (a string or ``f(config) -> str``); default: the
        ``name`` given to ``create_agent``, else ``"langgraph-agent"``.
    :param session: the session id (string or ``f(config)``); default: the ``thread_id``.
    :param strict: raise :class:`lictor.PolicyViolation` on a refusal instead of answering
        the model with an error ToolMessage / refusal message.
    :param check_models: check each prompt (``model_call``) and model reply (``model_output``).
    :param check_outputs: check each tool result (``gov.check_output``).
    :param strip_denied_tool_calls: decide proposed tool calls as soon as the model proposes them
        and remove the refused ones from its reply (the tool node never sees them). Off by
        default: a refused call then gets an error ToolMessage, which tells the model why.
    :param handoff_tools: glob patterns (or a predicate) naming hand-off tools; their calls are
        ``kind="handoff"`` actions named after the recipient.
    :param approver: the approver recorded when a resume answer names nobody.
    :param on_halt: ``"stop"`` ends the run at the next model step with the reason (needs the
        model wrapper, i.e. ``create_agent``); ``"raise"`` raises :class:`RunHalted`.
    :param cache_size: how many tool-call decisions to remember for replays.
    :param signer: an ASI07 :class:`lictor.protections.message_signing.MessageSigner` for
        hand-offs; default: one keyed from the policy's ``message_signing.key_env`` when the
        policy has that section, else hand-offs are not signed.
    :param sign_handoffs: ``"model"`` (default): sign each hand-off when the model proposes it
        and verify that signature when the call runs (needs the model wrapper, i.e.
        ``create_agent``); ``"tool"``: sign in the tool wrapper (a hand-built graph).
    """

    def __init__(
        self,
        gov: Governor,
        *,
        agent: Resolver = None,
        session: Resolver = None,
        strict: bool = False,
        check_models: bool = True,
        check_outputs: bool = True,
        strip_denied_tool_calls: bool = False,
        handoff_tools: HandoffMatcher = DEFAULT_HANDOFF_PATTERNS,
        approver: str = "human",
        on_halt: Literal["stop", "raise"] = "stop",
        cache_size: int = 4096,
        signer: Optional[MessageSigner] = None,
        sign_handoffs: Literal["model", "tool"] = "model",
    ) -> None:
        super().__init__()
        if not isinstance(gov, Governor):
            raise TypeError(f"LictorMiddleware needs a lictor.Governor, got {type(gov).__name__}")
        if on_halt not in ("stop", "raise"):
            raise ValueError(f"on_halt must be 'stop' or 'raise', got {on_halt!r}")
        if sign_handoffs not in ("model", "tool"):
            raise ValueError(f"sign_handoffs must be 'model' or 'tool', got {sign_handoffs!r}")
        self.gov = gov
        self.signer = resolve_signer(gov, signer)
        self.sign_handoffs = sign_handoffs
        self.agent = agent
        self.session = session
        self.strict = strict
        self.check_models = check_models
        self.check_outputs = check_outputs
        self.strip_denied_tool_calls = strip_denied_tool_calls
        self.handoff_tools = handoff_tools
        self.approver = approver
        self.on_halt = on_halt
        self._cache = DecisionCache(cache_size)
        self._resolve_lock = threading.Lock()
        # Sessions whose run a halt decision stopped; the next model step ends the run.
        self._halted: dict[str, Decision] = {}
        self._model_names: dict[int, tuple[Any, str]] = {}

    @property
    def name(self) -> str:
        return "LictorMiddleware"

    # -- tool calls -------------------------------------------------------------------------
    def wrap_tool_call(self, request: ToolCallRequest, handler: Callable[[ToolCallRequest], ToolResult]) -> ToolResult:
        """Decide a tool call (or hand-off), run it as decided, then check its result."""
        plan = self._before_tool(request)
        if plan.reply is not None:
            return plan.reply
        assert plan.request is not None
        return self._after_tool(plan, handler(plan.request))

    async def awrap_tool_call(
        self, request: ToolCallRequest, handler: Callable[[ToolCallRequest], Awaitable[ToolResult]]
    ) -> ToolResult:
        """Async :meth:`wrap_tool_call` (``ainvoke`` / ``astream``). Checks run inline: they
        take microseconds and never do I/O on the hot path."""
        plan = self._before_tool(request)
        if plan.reply is not None:
            return plan.reply
        assert plan.request is not None
        return self._after_tool(plan, await handler(plan.request))

    def _identity(self, config: Any) -> RunIdentity:
        return identity_from_config(config, self.agent, self.session)

    def _decide_call(self, tool_call: dict[str, Any], ident: RunIdentity, state: Any = None,
                     signature: Optional[dict[str, Any]] = None) -> CallRecord:
        """The (cached) decision about one tool call; decided once per (session, call id)."""
        call_id = tool_call.get("id")
        # The arguments are part of the key: a call whose arguments changed after it was decided
        # (by another middleware, between the model step and the tool node) is decided afresh.
        key = (ident.session, call_id, tool_call.get("name"), args_fingerprint(tool_call.get("args"))) \
            if ident.session is not None and call_id else None
        rec = self._cache.get(key)
        if rec is None:
            if signature is None:
                signature = self._handoff_signature(tool_call, ident, state)
            action = tool_action(tool_call, ident.agent, ident.session, self.handoff_tools, signature)
            rec = self._cache.put(key, self.gov.check(action))
        return rec

    # -- ASI07: hand-off signatures (see signing.py) -----------------------------------------
    def _sign_call(self, tool_call: Any, ident: RunIdentity) -> Optional[dict[str, Any]]:
        recipient = handoff_recipient(tool_call.get("name") or "", self.handoff_tools)
        if recipient is None or self.signer is None:
            return None
        return sign(self.signer, ident.agent, recipient, tool_call.get("args") or {})

    def _handoff_signature(self, tool_call: dict[str, Any], ident: RunIdentity, state: Any) -> Optional[dict[str, Any]]:
        """At the tool node: the signature the model step put on the reply proposing this
        call, or (``sign_handoffs="tool"``) a signature made now."""
        if self.signer is None or handoff_recipient(tool_call.get("name") or "", self.handoff_tools) is None:
            return None
        if self.sign_handoffs == "tool":
            return self._sign_call(tool_call, ident)
        messages = state.get("messages") if isinstance(state, dict) else getattr(state, "messages", None)
        call_id = tool_call.get("id")
        for m in reversed(messages or []):
            if isinstance(m, AIMessage) and any(c.get("id") == call_id for c in m.tool_calls):
                sigs = m.additional_kwargs.get(SIGNATURES_KEY)
                sig = sigs.get(call_id) if isinstance(sigs, dict) else None
                return dict(sig) if isinstance(sig, dict) else None
        return None  # no model step of this middleware proposed it: unsigned

    def _before_tool(self, request: ToolCallRequest) -> _ToolPlan:
        call = request.tool_call
        runtime = request.runtime
        config = getattr(runtime, "config", None) or current_config()
        ident = self._identity(config)
        rec = self._decide_call(call, ident, getattr(request, "state", None))
        d = rec.decision
        action = d.action
        assert action is not None
        what = (f"the hand-off to {action.name}" if action.kind == "handoff" else f"the call to {call.get('name')}")
        if not d.enforced:  # monitor mode / outside the rollout: recorded, never blocks
            return _ToolPlan(request, None, d)
        if d.halt:
            return _ToolPlan(None, self._halt_reply(call, d, ident, what), d)
        if d.pending:
            d = self._ask_human(rec, d)
        if d.verdict in ("deny", "approve"):
            if self.strict:
                raise PolicyViolation(d)
            return _ToolPlan(None, deny_tool_message(call, d, what), d)
        if d.verdict == "redact" and d.action is not None and d.action.args != call.get("args"):
            request = request.override(tool_call={**call, "args": dict(d.action.args)})
        return _ToolPlan(request, None, d)

    def _halt_reply(self, call: dict[str, Any], d: Decision, ident: RunIdentity, what: str) -> ToolMessage:
        if self.strict or self.on_halt == "raise":
            raise RunHalted(d)
        if ident.session is not None:
            self._halted[ident.session] = d
        return deny_tool_message(call, d, what)

    def _ask_human(self, rec: CallRecord, pending: Decision) -> Decision:
        """Pause for a human with ``interrupt()``; on resume, record their answer once.

        The first run raises GraphInterrupt out of ``interrupt()`` (never caught here). On
        resume LangGraph replays the task: ``interrupt()`` returns the answer, and the cached
        record makes sure the answer is resolved and recorded exactly once.
        """
        answer = interrupt(approval_request(pending))
        with self._resolve_lock:
            if rec.resolved is None:
                rec.answer = answer
                rec.resolved = self.gov.resolve_approval(pending, parse_answer(answer, self.approver))
            return rec.resolved

    def _after_tool(self, plan: _ToolPlan, result: ToolResult) -> ToolResult:
        """Check what the tool returned before the model reads it (redact or withhold)."""
        if not self.check_outputs or not isinstance(result, ToolMessage):
            # A Command (hand-offs, state updates) carries no tool text of its own to check.
            return result
        d = plan.decision
        action = d.action
        assert action is not None
        out = self.gov.check_output(action, result.content)
        if not out.enforced or out.verdict == "allow":
            return result
        if out.blocked:
            if self.strict:
                raise PolicyViolation(out)
            return ToolMessage(
                content=refusal_text(out, f"the result of {action.name}").replace("It was not run", "It was withheld"),
                name=result.name, tool_call_id=result.tool_call_id, status="error",
                additional_kwargs={"lictor": {"verdict": out.verdict, "decision_id": out.decision_id,
                                              "rule_ids": list(out.rule_ids), "phase": "output"}},
            )
        if out.verdict == "redact" and out.output is not None and out.output != result.content:
            return result.model_copy(update={"content": out.output})
        return result

    # -- model calls ------------------------------------------------------------------------
    def wrap_model_call(self, request: ModelRequest, handler: Callable[[ModelRequest], ModelResponse]) -> Any:
        """Check the prompt before the model sees it and the reply (and its proposed tool
        calls) after."""
        plan = self._before_model(request)
        if plan.reply is not None:
            return ModelResponse(result=[plan.reply])
        assert plan.request is not None
        return self._after_model(plan, handler(plan.request))

    async def awrap_model_call(
        self, request: ModelRequest, handler: Callable[[ModelRequest], Awaitable[ModelResponse]]
    ) -> Any:
        """Async :meth:`wrap_model_call`."""
        plan = self._before_model(request)
        if plan.reply is not None:
            return ModelResponse(result=[plan.reply])
        assert plan.request is not None
        return self._after_model(plan, await handler(plan.request))

    def _before_model(self, request: ModelRequest) -> _ModelPlan:
        ident = self._identity(current_config())
        model = _model_name(request.model, self._model_names)
        if ident.session is not None:
            halted = self._halted.pop(ident.session, None)
            if halted is not None:
                return _ModelPlan(None, self._stop_message(halted), ident, model)
        if not self.check_models:
            return _ModelPlan(request, None, ident, model)
        msgs, texts, sources = prompt_parts(request.system_message, request.messages, ident.agent)
        action = Action(
            kind="model_call", agent=ident.agent, name=model, content=PROMPT_SEPARATOR.join(texts),
            session=ident.session, call_id=_task_id(request),
            metadata={"framework": FRAMEWORK, "source": least_trusted(sources), "message_sources": sources},
        )
        # Cached by task id: LangGraph replays the model node when it resumes an interrupt.
        key = (ident.session, "model", action.call_id) if ident.session is not None and action.call_id else None
        rec = self._cache.get(key) or self._cache.put(key, self.gov.check(action))
        d = rec.decision
        if not d.enforced:
            return _ModelPlan(request, None, ident, model)
        if d.halt:
            if self.strict or self.on_halt == "raise":
                raise RunHalted(d)
            return _ModelPlan(None, self._stop_message(d), ident, model)
        if d.pending:
            d = self._ask_human(rec, d)
        if d.verdict in ("deny", "approve"):
            if self.strict:
                raise PolicyViolation(d)
            return _ModelPlan(None, AIMessage(content=refusal_text(d, "this model call")), ident, model)
        if d.verdict == "redact" and d.action is not None and d.action.content != action.content:
            redacted = _apply_prompt_redaction(request, msgs, texts, d.action.content or "")
            if redacted is None:  # the rewrite cannot be mapped back to the messages: fail closed
                failed = d.model_copy(update={"reasons": d.reasons + ("the redaction could not be applied to the prompt",)})
                if self.strict:
                    raise PolicyViolation(failed)
                return _ModelPlan(None, AIMessage(content=refusal_text(failed, "this model call")), ident, model)
            request = redacted
        return _ModelPlan(request, None, ident, model)

    def _stop_message(self, d: Decision) -> AIMessage:
        # An AIMessage without tool calls: create_agent's loop ends here, cleanly.
        return AIMessage(content=refusal_text(d, "the next step"),
                         additional_kwargs={"lictor": {"halt": True, "decision_id": d.decision_id}})

    def _after_model(self, plan: _ModelPlan, response: Any) -> Any:
        if not isinstance(response, ModelResponse):
            return response
        signing = self.signer is not None and self.sign_handoffs == "model"
        if not self.check_models and not self.strip_denied_tool_calls and not signing:
            return response
        changed = False
        result: list[BaseMessage] = []
        for msg in response.result:
            new = self._check_reply(msg, plan) if isinstance(msg, AIMessage) else msg
            changed = changed or new is not msg
            result.append(new)
        if not changed:
            return response
        return ModelResponse(result=result, structured_response=response.structured_response)

    def _check_reply(self, msg: AIMessage, plan: _ModelPlan) -> AIMessage:
        ident = plan.ident
        if self.check_models:
            text = message_text(msg)
            if text:
                d = self.gov.check(Action(
                    kind="model_output", agent=ident.agent, name=plan.model, content=text,
                    session=ident.session, call_id=msg.id,
                    metadata={"framework": FRAMEWORK, "source": "agent"},
                ))
                if d.enforced and d.halt:
                    if self.strict or self.on_halt == "raise":
                        raise RunHalted(d)
                    return self._stop_message(d)
                if d.enforced and d.verdict in ("deny", "approve"):
                    if self.strict:
                        raise PolicyViolation(d)
                    # The reply and its proposed tool calls are withheld together.
                    return AIMessage(content=refusal_text(d, "the model's reply"), id=msg.id)
                if d.enforced and d.verdict == "redact" and d.action is not None and d.action.content != text:
                    msg = msg.model_copy(update={"content": d.action.content or ""})
        if self.signer is not None and self.sign_handoffs == "model" and msg.tool_calls:
            sigs = {c.get("id"): s for c in msg.tool_calls if c.get("id") and (s := self._sign_call(c, ident))}
            if sigs:  # signed where the hand-off is produced; verified where it runs
                msg = msg.model_copy(update={"additional_kwargs": {**msg.additional_kwargs, SIGNATURES_KEY: sigs}})
        if self.strip_denied_tool_calls and msg.tool_calls:
            msg = self._strip_calls(msg, ident)
        return msg

    def _strip_calls(self, msg: AIMessage, ident: RunIdentity) -> AIMessage:
        """Decide each proposed tool call now (the tool wrapper reuses the decision) and drop
        the refused ones, noting why in the reply's text."""
        kept, notes = [], []
        sigs = msg.additional_kwargs.get(SIGNATURES_KEY) or {}
        for call in msg.tool_calls:
            if ident.session is None and call.get("id") in sigs:
                # Not cached without a thread id: deciding now would spend the signature's nonce
                # and the tool wrapper's check would be a replay. The tool wrapper decides it.
                kept.append(call)
                continue
            d = self._decide_call(dict(call), ident, signature=sigs.get(call.get("id"))).decision
            if d.enforced and d.halt:
                if self.strict or self.on_halt == "raise":
                    raise RunHalted(d)
                return self._stop_message(d)
            if d.enforced and d.verdict == "deny":
                if self.strict:
                    raise PolicyViolation(d)
                notes.append(refusal_text(d, f"the proposed call to {call.get('name')}"))
            else:  # approve stays: the tool wrapper pauses for the human
                kept.append(call)
        if not notes:
            return msg
        keep_ids = {c.get("id") for c in kept}
        extra = dict(msg.additional_kwargs)
        if isinstance(extra.get("tool_calls"), list):
            extra["tool_calls"] = [c for c in extra["tool_calls"] if c.get("id") in keep_ids]
        text = message_text(msg)
        content = "\n".join(([text] if text else []) + notes)
        return msg.model_copy(update={"content": content, "tool_calls": kept, "additional_kwargs": extra})


def _model_name(model: Any, cache: "dict[int, tuple[Any, str]]") -> str:
    """The model's name for ``Action.name`` (cached per model object: pydantic chat models make
    a missing-attribute lookup cost microseconds)."""
    hit = cache.get(id(model))
    if hit is not None and hit[0] is model:
        return hit[1]
    name = type(model).__name__
    for attr in ("model_name", "model", "model_id"):
        v = getattr(model, attr, None)
        if isinstance(v, str) and v:
            name = v
            break
    if len(cache) > 64:
        cache.clear()
    cache[id(model)] = (model, name)
    return name


def _task_id(request: ModelRequest) -> Optional[str]:
    info = getattr(request.runtime, "execution_info", None)
    return getattr(info, "task_id", None)


def _apply_prompt_redaction(
    request: ModelRequest, msgs: list[BaseMessage], texts: list[str], content: str
) -> Optional[ModelRequest]:
    """Rewrite the prompt's messages with a redacted ``model_call`` content, or None when the
    redacted text no longer splits into the same messages."""
    parts = content.split(PROMPT_SEPARATOR)
    if len(parts) != len(msgs):
        return None
    new_msgs = [m if new == old else m.model_copy(update={"content": new}) for m, old, new in zip(msgs, texts, parts)]
    if request.system_message is not None:
        return request.override(system_message=new_msgs[0], messages=new_msgs[1:])  # type: ignore[arg-type]
    return request.override(messages=new_msgs)
