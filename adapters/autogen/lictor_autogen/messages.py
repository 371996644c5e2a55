"""Messages between the agents of a team: an intervention handler on the team's runtime.

A team's agents talk through its ``SingleThreadedAgentRuntime``: an agent's answer is published
twice, first to the output topic (``GroupChatMessage``, what ``run_stream`` yields) and then to
the group (``GroupChatAgentResponse``, what the manager and the other agents read). The handler
checks the message once, at the first sight, as ``kind="message"`` and applies the same verdict
to both copies. It edits content and never drops a message: the manager waits for the response,
and a dropped one stalls the chat. A refused message is replaced by a short notice.

It is also where messages are signed (ASI07, see :mod:`.signing`): a message the runtime says
was published by the agent its ``source`` names is signed as it is sent, and the signature goes
into the Action for the ``message_signing`` protection to verify; a message that already carries
a signature (republished, a task message) is judged with that one.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import OrderedDict
from typing import Any, Optional

from autogen_agentchat.messages import BaseChatMessage, BaseTextChatMessage, HandoffMessage, TextMessage
from autogen_core import AgentId, DefaultInterventionHandler, DropMessage, MessageContext

from ._private import GroupChatAgentResponse, GroupChatMessage, GroupChatStart
from .context import GovernedRun, refusal_text
from .signing import SIGNATURE_KEY, read_signature, sign, signature_text

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
        self._seen: "OrderedDict[tuple[str, str], BaseChatMessage]" = OrderedDict()

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
        # One check per publish: the output-topic copy and the group copy come from the same
        # sender. Keyed by sender too, so an agent that republishes another's message (same id)
        # is judged again, and its signature's nonce is then a replay.
        key = (cm.id, str(ctx.sender))
        done = self._seen.get(key)
        if done is not None:
            return done
        target = cm.target if isinstance(cm, HandoffMessage) else self.team_name
        text = cm.to_model_text()
        signer = self.run.signer
        signature = read_signature(cm.metadata)
        fresh = False
        if signature is None and signer is not None and _published_by(ctx.sender, cm.source):
            # Sent by the agent its source names (the runtime says who published): sign it here.
            signature, fresh = sign(signer, cm.source, target, text), True
        extra = {} if signature is None else {"signature": signature}
        action = self.run.action("message", cm.source, target, content=text, source="agent",
                                 message_type=type(cm).__name__, **extra)
        d = await self.run.decide(action, ctx.cancellation_token)
        new = cm
        if d.blocked:
            new = _with_content(cm, refusal_text(d, f"message from '{cm.source}'").replace("was refused", "was withheld"))
        elif d.enforced and d.verdict == "redact" and d.action is not None and d.action.content is not None \
                and d.action.content != text:
            new = _with_content(cm, d.action.content)
            if signer is not None and signature is not None:  # Lictor's own rewrite: signed anew
                new = _with_signature(new, sign(signer, cm.source, target, d.action.content))
        elif fresh and signature is not None:
            new = _with_signature(cm, signature)
        self._seen[key] = new
        if len(self._seen) > _SEEN_MAX:
            self._seen.popitem(last=False)
        return new

    async def _verify_incoming(self, cm: BaseChatMessage) -> BaseChatMessage:
        """Task messages: a message carrying a signature is verified; with signing on, an
        unsigned one that claims to come from anyone but the user is judged as unsigned."""
        signature = read_signature(cm.metadata)
        if signature is None and (self.run.signer is None or cm.source == "user"):
            return cm
        target = cm.target if isinstance(cm, HandoffMessage) else self.team_name
        extra = {} if signature is None else {"signature": signature}
        action = self.run.action("message", cm.source, target, content=cm.to_model_text(),
                                 source="user" if cm.source == "user" else "agent",
                                 message_type=type(cm).__name__, **extra)
        d = await self.run.decide(action, None)
        if d.blocked:
            return _with_content(cm, refusal_text(d, f"message from '{cm.source}'").replace("was refused", "was withheld"))
        return cm


def _published_by(sender: Optional[AgentId], source: str) -> bool:
    """Whether the runtime's sender is the group-chat container of the agent named ``source``
    (AgentChat registers it as ``<participant name>_<team id>`` with key ``<team id>``)."""
    return sender is not None and sender.type == f"{source}_{sender.key}"


def _with_signature(cm: BaseChatMessage, signature: dict[str, Any]) -> BaseChatMessage:
    return cm.model_copy(update={"metadata": {**cm.metadata, SIGNATURE_KEY: signature_text(signature)}})


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
