"""Messages between the agents of a team: an intervention handler on the team's runtime.

A team's agents talk through its ``SingleThreadedAgentRuntime``: an agent's answer is published
twice, first to the output topic (``GroupChatMessage``, what ``run_stream`` yields) and then to
the group (``GroupChatAgentResponse``, what the manager and the other agents read). The handler
checks the message once, at the first sight, as ``kind="message"`` and applies the same verdict
to both copies. It edits content and never drops a message: the manager waits for the response,
and a dropped one stalls the chat. A refused message is replaced by a short notice.

It is also where the ASI07 signer (see :mod:`.signing`) signs and verifies messages.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import OrderedDict
from typing import Any, Optional

import lictor
from autogen_agentchat.messages import BaseChatMessage, BaseTextChatMessage, HandoffMessage, TextMessage
from autogen_core import AgentId, DefaultInterventionHandler, DropMessage, MessageContext

from ._private import GroupChatAgentResponse, GroupChatMessage, GroupChatStart
from .context import GovernedRun, refusal_text
from .signing import SIGNATURE_KEY, signing_payload

__all__ = ["LictorMessageHandler"]

log = logging.getLogger(__name__)
_SEEN_MAX = 256


class LictorMessageHandler(DefaultInterventionHandler):
    """Governs the messages agents of one team publish to each other.

    :param run: the team's shared :class:`~lictor_autogen.context.GovernedRun`.
    :param team_name: the recipient recorded for broadcast messages (a hand-off's recipient is
        its target agent).

    For a team you build on your own runtime:
    ``SingleThreadedAgentRuntime(intervention_handlers=[LictorMessageHandler(run, "team")])``.
    """

    def __init__(self, run: GovernedRun, team_name: str) -> None:
        self.run = run
        self.team_name = team_name
        self._seen: "OrderedDict[str, BaseChatMessage]" = OrderedDict()

    async def on_publish(self, message: Any, *, message_context: MessageContext) -> Any | type[DropMessage]:
        try:
            if isinstance(message, GroupChatMessage):
                if isinstance(message.message, BaseChatMessage):
                    new = await self._govern(message.message, message_context)
                    if new is not message.message:
                        return message.model_copy(update={"message": new})
            elif isinstance(message, GroupChatAgentResponse):
                cm = message.response.chat_message
                new = await self._govern(cm, message_context)
                if new is not cm:
                    response = dataclasses.replace(message.response, chat_message=new)
                    return message.model_copy(update={"response": response})
        except Exception as exc:  # never raise here: the runtime would drop the message and stall
            log.error("lictor: governing a message failed (%s: %s); message withheld", type(exc).__name__, exc)
            return _withhold(message, f"[lictor] message withheld: governance failed ({type(exc).__name__}).")
        return message

    async def on_send(self, message: Any, *, message_context: MessageContext, recipient: AgentId) -> Any:
        # team.run() sends exactly one GroupChatStart to the manager per run: a new session.
        if not isinstance(message, GroupChatStart):
            return message
        try:
            self.run.new_run()
            self._seen.clear()
            if message.messages:
                checked = [await self._verify_incoming(m) for m in message.messages]
                if any(a is not b for a, b in zip(checked, message.messages)):
                    return message.model_copy(update={"messages": checked})
        except Exception as exc:  # never raise: the run would fail with our error
            log.error("lictor: checking the task messages failed (%s: %s)", type(exc).__name__, exc)
        return message

    # -- one message -------------------------------------------------------------------------------
    async def _govern(self, cm: BaseChatMessage, ctx: MessageContext) -> BaseChatMessage:
        done = self._seen.get(cm.id)
        if done is not None:
            return done
        signature = self._signature_state(cm)
        target = cm.target if isinstance(cm, HandoffMessage) else self.team_name
        text = cm.to_model_text()
        action = self.run.action("message", cm.source, target, content=text, source="agent",
                                 message_type=type(cm).__name__, signature=signature)
        d = await self.run.decide(action, ctx.cancellation_token)
        new = cm
        if d.blocked:
            new = _with_content(cm, refusal_text(d, f"message from '{cm.source}'").replace("was refused", "was withheld"))
        elif d.enforced and d.verdict == "redact" and d.action is not None and d.action.content is not None \
                and d.action.content != text:
            new = _with_content(cm, d.action.content)
        new = self._sign(new)
        self._seen[cm.id] = new
        if len(self._seen) > _SEEN_MAX:
            self._seen.popitem(last=False)
        return new

    async def _verify_incoming(self, cm: BaseChatMessage) -> BaseChatMessage:
        """Task messages are the user's: only a message that carries a signature is judged."""
        if self.run.signer is None or SIGNATURE_KEY not in cm.metadata:
            return cm
        state = self._signature_state(cm)
        action = self.run.action("message", cm.source, self.team_name, content=cm.to_model_text(),
                                 source="user" if cm.source == "user" else "agent",
                                 message_type=type(cm).__name__, signature=state)
        d = await self.run.decide(action, None)
        if d.blocked:
            return _with_content(cm, refusal_text(d, f"message from '{cm.source}'").replace("was refused", "was withheld"))
        return cm

    # -- ASI07 seam ----------------------------------------------------------------------------------
    def _signature_state(self, cm: BaseChatMessage) -> str:
        signer = self.run.signer
        sig = cm.metadata.get(SIGNATURE_KEY)
        if signer is None or sig is None:
            return "unsigned"
        try:
            ok = signer.verify(signing_payload(type(cm).__name__, cm.source, cm.to_model_text()), sig, sender=cm.source)
        except Exception:
            ok = False
        return "valid" if ok else "invalid"

    def _sign(self, cm: BaseChatMessage) -> BaseChatMessage:
        signer = self.run.signer
        if signer is None:
            return cm
        sig = signer.sign(signing_payload(type(cm).__name__, cm.source, cm.to_model_text()), sender=cm.source)
        return cm.model_copy(update={"metadata": {**cm.metadata, SIGNATURE_KEY: sig}})


def _with_content(cm: BaseChatMessage, text: str) -> BaseChatMessage:
    """The same message with other text; non-text messages become a TextMessage with the same id."""
    meta = {k: v for k, v in cm.metadata.items() if k != SIGNATURE_KEY}
    if isinstance(cm, BaseTextChatMessage):
        return cm.model_copy(update={"content": text, "metadata": meta})
    return TextMessage(content=text, source=cm.source, id=cm.id, metadata=meta, models_usage=cm.models_usage)


def _withhold(message: Any, text: str) -> Any:
    try:
        if isinstance(message, GroupChatMessage) and isinstance(message.message, BaseChatMessage):
            return message.model_copy(update={"message": _with_content(message.message, text)})
        if isinstance(message, GroupChatAgentResponse):
            cm = _with_content(message.response.chat_message, text)
            return message.model_copy(update={"response": dataclasses.replace(message.response, chat_message=cm)})
    except Exception:
        pass
    return message
