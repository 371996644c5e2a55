"""The ASI07 seam: a signer adds and checks a signature on messages between agents.

Lictor's protections define the signature scheme; the adapter only carries it. When
``govern(..., signer=...)`` is given a :class:`MessageSigner`, every message an agent of the
team publishes gets ``metadata["lictor_signature"]``, and every message that arrives carrying
one (a resumed task, a message that crossed a process boundary) is verified. The result is put
on the message's Action as ``metadata["signature"]`` (``"valid"``, ``"invalid"`` or
``"unsigned"``) so policy rules and plugins can judge it; :class:`SignatureGate` (registered
on the Governor while a signer is in use) denies ``"invalid"`` ones, risk ASI07.
"""

from __future__ import annotations

from typing import Any, Optional, Protocol, runtime_checkable

import lictor

__all__ = ["MessageSigner", "SignatureGate", "SIGNATURE_KEY", "signing_payload"]

SIGNATURE_KEY = "lictor_signature"


@runtime_checkable
class MessageSigner(Protocol):
    """Signs and verifies the bytes of one inter-agent message.

    ``payload`` is :func:`signing_payload` of the message; ``sender`` the agent name.
    """

    def sign(self, payload: bytes, *, sender: str) -> str: ...

    def verify(self, payload: bytes, signature: str, *, sender: str) -> bool: ...


def signing_payload(message_type: str, sender: str, text: str) -> bytes:
    """What is signed: the message type, its sender and its text, unambiguously joined."""
    return b"\x1f".join(p.encode("utf-8") for p in (message_type, sender, text))


class SignatureGate:
    """Denies messages whose signature did not verify. Registered as ``autogen_signatures``."""

    name = "autogen_signatures"

    @lictor.hookimpl
    def lictor_check_action(self, action: lictor.Action, ctx: Any) -> Optional[lictor.Decision]:
        if action.kind == "message" and action.metadata.get("signature") == "invalid":
            return lictor.Decision.deny(
                f"message from '{action.agent}' carries an invalid signature (tampered or forged)",
                rule_id="autogen_signatures", risks=("ASI07",))
        return None
