"""ASI07: hand-offs carry Lictor's HMAC signature, added where the model proposes them.

The scheme is the core's (:class:`lictor.protections.message_signing.MessageSigner`, verified
by the ``message_signing`` protection). In a ``create_agent`` agent a hand-off is produced in
one step (the model's reply, seen by ``wrap_model_call``) and carried out in another (the tool
node, seen by ``wrap_tool_call``), with the graph state in between. So the middleware signs each
proposed hand-off call when the model proposes it (sender = the agent, recipient = the agent it
transfers to, content = the call's arguments) and keeps the signature on the reply, in
``AIMessage.additional_kwargs["lictor_signatures"][<tool call id>]``; the tool wrapper reads it
back from the state and puts it into the ``handoff`` Action. A call whose arguments or target
were changed after the model step (another middleware, ``update_state``, an edited checkpoint),
or that no model step of this middleware proposed, then fails verification.

A hand-built graph's model node is the user's code, which Lictor does not wrap: there the tool
wrapper signs the call itself (``sign_handoffs="tool"``, the default of ``governed_tool_node``)
so that ``message_signing`` does not refuse every legitimate hand-off; the signature then only
proves that the call went through the adapter.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

from lictor import Governor
from lictor.protections.message_signing import MessageSigner
from lictor.protections.message_signing import resolve_signer as _resolve_signer

__all__ = ["MessageSigner", "SIGNATURES_KEY", "resolve_signer", "sign"]

#: ``AIMessage.additional_kwargs`` key: {tool call id: signature} for the hand-offs it proposes.
SIGNATURES_KEY = "lictor_signatures"


def resolve_signer(gov: Governor, signer: Optional[MessageSigner]) -> Optional[MessageSigner]:
    """The signer given, else one keyed like the policy's ``message_signing.key_env``, else None."""
    return _resolve_signer(gov, signer)


def sign(signer: MessageSigner, sender: str, recipient: str, args: Mapping[str, Any]) -> dict[str, Any]:
    """The signature dict of a hand-off (what goes into ``Action.metadata["signature"]``)."""
    return dict(signer.sign(sender=sender, recipient=recipient, content=dict(args))["signature"])
