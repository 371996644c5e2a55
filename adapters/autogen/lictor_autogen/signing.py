"""ASI07: messages and hand-offs between the agents of a team carry Lictor's HMAC signature.

The scheme is the core's (:class:`lictor.protections.message_signing.MessageSigner`, verified
by the ``message_signing`` protection); this module only decides where the adapter signs and
how a signature travels on an AutoGen message:

- a hand-off is signed where it is produced, in :class:`~lictor_autogen.LictorModelClient`
  when the model proposes the ``transfer_to_x`` call (sender = the agent, recipient = ``x``,
  content = the call's arguments);
- a chat message is signed where it is sent, in the team runtime's intervention handler, and
  only when the runtime says it was published by the container of the agent named in its
  ``source`` (sender = that agent, recipient = the hand-off target for a ``HandoffMessage``,
  else the team's name: the group topic every member reads);
- the signature travels with the message as ``message.metadata["lictor_signature"]`` (JSON
  text: AutoGen message metadata is ``Dict[str, str]``), so a message that reaches a team
  again (a task message, a resumed conversation, a message republished by another agent) is
  verified with the signature it carries, never re-signed.

The signature goes into the Action's ``metadata["signature"]``; the ``message_signing``
protection refuses unsigned, forged or altered, misattributed, misaddressed, expired and
replayed ones. Without a ``message_signing`` section the signature is carried but not judged.
"""

from __future__ import annotations

import json
from typing import Any, Mapping, Optional

import lictor
from lictor.protections.message_signing import MessageSigner
from lictor.protections.message_signing import resolve_signer as _resolve_signer

__all__ = ["MessageSigner", "SIGNATURE_KEY", "resolve_signer", "read_signature", "signature_text"]

#: Key of the signature (JSON text) in an AutoGen message's ``metadata``.
SIGNATURE_KEY = "lictor_signature"


def resolve_signer(gov: lictor.Governor, signer: Optional[MessageSigner]) -> Optional[MessageSigner]:
    """The signer given, else one keyed like the policy's ``message_signing.key_env``, else None."""
    return _resolve_signer(gov, signer)


def sign(signer: MessageSigner, sender: str, recipient: str, content: Any) -> dict[str, Any]:
    """The signature dict (what goes into ``Action.metadata["signature"]``).

    Raises ``TypeError`` for a signer of the adapter's old protocol (``sign(payload, sender=)``).
    """
    try:
        out = signer.sign(sender=sender, recipient=recipient, content=content)
    except TypeError as exc:
        raise TypeError("signer must be a lictor.protections.message_signing.MessageSigner "
                        f"(sign(sender=, recipient=, content=)); {exc}") from None
    sig = out.get("signature") if isinstance(out, Mapping) else None
    if not isinstance(sig, Mapping):
        raise TypeError("signer.sign() must return {'signature': {...}} like MessageSigner.sign")
    return dict(sig)


def read_signature(metadata: Mapping[str, str]) -> Optional[Any]:
    """The signature a message carries: a dict, or the raw value when it is not valid JSON
    (the protection then refuses it as unsigned), or None when it carries none."""
    raw = metadata.get(SIGNATURE_KEY)
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except (TypeError, ValueError):
        return raw


def signature_text(signature: Mapping[str, Any]) -> str:
    """A signature as the JSON text stored in ``metadata[SIGNATURE_KEY]``."""
    return json.dumps(dict(signature), sort_keys=True, separators=(",", ":"))
