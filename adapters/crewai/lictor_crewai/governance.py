"""The CrewAI hooks that put one crew (or flow) under a Governor.

One :class:`Governance` per governed object registers its own hooks in CrewAI's hook engine
(``crewai.hooks``) and removes exactly those again. Each hook first asks its scope whether the
event is its own (see ``scope.py``), so two crews with different Governors in one process never
see each other's decisions.

Everything a hook does is wrapped so that no exception but ``HookAborted`` leaves it: CrewAI
swallows any other exception from a hook and then runs the tool anyway (fail open). An error
inside Lictor therefore becomes a refusal (tool calls) or a stop (model calls), never a pass.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Callable, Optional

from crewai.hooks import HookAborted, InterceptionPoint, register_hook, unregister_hook
from lictor import Action, Decision, Governor

from . import messages as msg
from .actions import model_action, tool_action
from .approval import Approver, ask
from .errors import LictorStop
from .scope import Scope

__all__ = ["Governance"]

P = InterceptionPoint
_SEP = "\n\x1e\n"  # joins fresh messages into one content; survives redaction, split back after
_MAX_INFLIGHT = 4096  # bound on remembered in-flight calls (a call whose POST hook never fired)


class _Bounded(OrderedDict):
    """A small insertion-ordered dict that forgets its oldest entries past ``limit``."""

    def __init__(self, limit: int = _MAX_INFLIGHT) -> None:
        super().__init__()
        self.limit = limit
        self._lock = threading.Lock()

    def put(self, key: Any, value: Any) -> None:
        with self._lock:  # tasks may run in threads (async_execution, kickoff_async)
            self[key] = value
            while len(self) > self.limit:
                self.popitem(last=False)


class _ToolCall:
    __slots__ = ("action", "refusal", "halt", "decision")

    def __init__(self, action: Optional[Action], refusal: Optional[str] = None,
                 halt: bool = False, decision: Optional[Decision] = None) -> None:
        self.action, self.refusal, self.halt, self.decision = action, refusal, halt, decision


class Governance:
    """The installed hooks of one governed crew or flow (returned by ``governance_of``).

    ``decisions`` counts the decisions it asked for; ``session`` is the current run id.
    """

    def __init__(self, gov: Governor, scope: Scope, approver: Approver,
                 approval_timeout: Optional[float], signer: Any = None) -> None:
        self.gov = gov
        self.signer = signer  # ASI07: signs delegations (see actions.tool_action)
        self.scope = scope
        self.approver = approver
        self.approval_timeout = approval_timeout
        self.active = False
        self._lock = threading.RLock()  # remove() may run from a GC finalizer
        self._tool_calls = _Bounded()      # id(ctx.tool_input) -> _ToolCall, PRE -> POST
        self._model_calls = _Bounded()     # id(ctx.messages) -> (Action, messages seen)
        self._halted = _Bounded(256)       # session -> stop reason (a halt decision was made)
        self._hooks: list[tuple[InterceptionPoint, Callable[[Any], Any]]] = [
            (P.PRE_TOOL_CALL, self._pre_tool),
            (P.POST_TOOL_CALL, self._post_tool),
            (P.PRE_MODEL_CALL, self._pre_model),
            (P.POST_MODEL_CALL, self._post_model),
            (P.EXECUTION_START, self._execution_start),
        ]

    # -- install / remove ------------------------------------------------------------------------
    @property
    def session(self) -> Optional[str]:
        """The crew's current run id (the Lictor session), once a run has started."""
        return getattr(self.scope, "run_id", None)

    def install(self) -> None:
        """Register the hooks, and add the model hooks to executors that already exist."""
        with self._lock:
            if self.active:
                return
            for point, hook in self._hooks:
                register_hook(point, hook)
            self.active = True
            self._attach_executors()

    def remove(self) -> None:
        """Unregister every hook this Governance added (idempotent)."""
        with self._lock:
            self.active = False  # executors elsewhere may still hold a hook: it no-ops now
            for point, hook in self._hooks:
                while unregister_hook(point, hook):
                    pass
            self._detach_executors()

    def _executors(self) -> list[Any]:
        target = self.scope.target
        if target is None:
            return []
        agents = list(getattr(target, "agents", None) or [])
        manager = getattr(target, "manager_agent", None)
        if manager is not None:
            agents.append(manager)
        return [a.agent_executor for a in agents if getattr(a, "agent_executor", None) is not None]

    def _attach_executors(self) -> None:
        # CrewAI copies the global model hooks into an executor when it is built
        # (AgentExecutor._setup_executor) and reuses the executor across kickoffs: an agent that
        # ran before govern() would never call our model hooks. Its hook lists are public fields.
        for ex in self._executors():
            for attr, hook in (("before_llm_call_hooks", self._pre_model),
                               ("after_llm_call_hooks", self._post_model)):
                hooks = getattr(ex, attr, None)
                if isinstance(hooks, list) and hook not in hooks:
                    hooks.append(hook)

    def _detach_executors(self) -> None:
        for ex in self._executors():
            for attr, hook in (("before_llm_call_hooks", self._pre_model),
                               ("after_llm_call_hooks", self._post_model)):
                hooks = getattr(ex, attr, None)
                while isinstance(hooks, list) and hook in hooks:
                    hooks.remove(hook)

    # -- decisions ---------------------------------------------------------------------------------
    def _settle(self, decision: Decision) -> Decision:
        """Turn a pending approval into the approver's answer (or a timed-out refusal)."""
        if decision.pending and decision.enforced and decision.action is not None:
            approval = ask(self.approver, decision.action, decision, self.approval_timeout)
            return self.gov.resolve_approval(decision, approval)
        return decision

    def _check_halted(self, session: str) -> None:
        reason = self._halted.get(session)
        if reason is not None:
            raise LictorStop(reason)

    def _halt(self, session: str, decision: Decision, what: str) -> str:
        reason = msg.stop_reason(decision, what)
        self._halted.put(session, reason)
        return reason

    # -- hooks -------------------------------------------------------------------------------------
    def _execution_start(self, ctx: Any) -> None:
        if not self.active:
            return
        try:
            session = self.scope.start(ctx)
            if session is not None:
                self._halted.pop(session, None)  # a halt stops one run, not the next one
        except Exception:  # noqa: BLE001 - only bookkeeping; the checks themselves fail closed
            pass

    def _pre_tool(self, ctx: Any) -> None:
        if not self.active or not self.scope.owns(ctx):
            return None
        key = id(ctx.tool_input)
        try:
            session = self.scope.session(ctx)
            self._check_halted(session)
            action = tool_action(ctx, session, self.signer)
            what = f"{action.kind} {action.name!r}"
            d = self._settle(self.gov.check(action))
            if d.blocked:
                text = msg.refusal(d, what)
                if d.halt:
                    self._halt(session, d, what)
                self._tool_calls.put(key, _ToolCall(action, text, d.halt, d))
                raise LictorStop(text, d)
            run = d.action if d.action is not None else action
            if d.enforced and run.args != action.args:
                # CrewAI runs the tool with this very dict: rewrite it in place.
                ctx.tool_input.clear()
                ctx.tool_input.update(run.args)
            self._tool_calls.put(key, _ToolCall(run))
        except HookAborted as stop:
            if key not in self._tool_calls:
                self._tool_calls.put(key, _ToolCall(None, stop.reason, True))
            raise
        except Exception as exc:  # fail closed: CrewAI would swallow it and run the tool
            text = msg.failure(f"tool call {getattr(ctx, 'tool_name', '?')!r}", exc)
            self._tool_calls.put(key, _ToolCall(None, text))
            raise LictorStop(text) from exc
        return None

    def _post_tool(self, ctx: Any) -> Optional[str]:
        if not self.active or not self.scope.owns(ctx):
            return None
        try:
            call = self._tool_calls.pop(id(ctx.tool_input), None)
            if call is None:  # governed between PRE and POST, or PRE ran elsewhere: check anyway
                call = _ToolCall(tool_action(ctx, self.scope.session(ctx)))
            if call.refusal is not None:
                return call.refusal  # replaces CrewAI's fixed "blocked by hook" text
            assert call.action is not None
            what = f"{call.action.kind} {call.action.name!r}"
            out = self.gov.check_output(call.action, ctx.tool_result)
            if out.blocked:
                if out.halt:
                    self._halt(call.action.session or "", out, what)
                return msg.withheld(out, what)
            if out.enforced and out.verdict == "redact" and out.output is not None \
                    and out.output != ctx.tool_result:
                return out.output if isinstance(out.output, str) else str(out.output)
            return None
        except Exception as exc:  # fail closed: never hand on an unchecked result
            return msg.failure(f"result of tool {getattr(ctx, 'tool_name', '?')!r}", exc)

    def _pre_model(self, ctx: Any) -> None:
        if not self.active or not self.scope.owns(ctx):
            return None
        try:
            session = self.scope.session(ctx)
            self._check_halted(session)
            messages = ctx.messages if isinstance(ctx.messages, list) else []
            key = id(messages)
            seen = self._model_calls.get(key)
            new_from = seen[1] if seen is not None and seen[1] <= len(messages) else 0
            action = model_action(ctx, session, new_from, _SEP)
            what = f"model call {action.name!r}"
            d = self._settle(self.gov.check(action))
            if d.blocked:
                reason = self._halt(session, d, what) if d.halt else msg.stop_reason(d, what)
                raise LictorStop(reason, d)
            run = d.action if d.action is not None else action
            if d.enforced and run.content != action.content:
                self._rewrite_messages(messages, new_from, run.content or "")
            self._model_calls.put(key, (run, len(messages)))
        except HookAborted:
            raise
        except Exception as exc:  # fail closed: stop rather than call the model unchecked
            raise LictorStop(msg.failure("model call", exc)) from exc
        return None

    @staticmethod
    def _rewrite_messages(messages: list[Any], new_from: int, content: str) -> None:
        fresh = [m for m in messages[new_from:]
                 if isinstance(m, dict) and m.get("role") != "system" and m.get("content")]
        parts = content.split(_SEP)
        if len(parts) != len(fresh):
            raise ValueError("the redacted prompt no longer lines up with the conversation's messages")
        for m, part in zip(fresh, parts):
            if m["content"] != part:
                m["content"] = part  # CrewAI sends this very list: rewrite in place

    def _post_model(self, ctx: Any) -> Optional[str]:
        if not self.active or not self.scope.owns(ctx):
            return None
        try:
            messages = ctx.messages if isinstance(ctx.messages, list) else []
            seen = self._model_calls.get(id(messages))
            if seen is not None:
                action = seen[0]
            else:
                action = model_action(ctx, self.scope.session(ctx), len(messages), _SEP)
            what = f"output of model {action.name!r}"
            out = self.gov.check_output(action, ctx.response)
            if out.blocked:
                reason = self._halt(action.session or "", out, what) if out.halt \
                    else msg.stop_reason(out, what)
                raise LictorStop(reason, out)
            if out.enforced and out.verdict == "redact" and out.output is not None \
                    and out.output != ctx.response:
                return out.output if isinstance(out.output, str) else str(out.output)
            return None
        except HookAborted:
            raise
        except Exception as exc:  # fail closed: an unchecked answer must not reach the agent
            raise LictorStop(msg.failure("model output", exc)) from exc
