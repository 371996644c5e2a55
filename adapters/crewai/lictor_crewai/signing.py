"""ASI07: delegations carry Lictor's HMAC signature, added by the adapter.

The scheme is the core's (:class:`lictor.protections.message_signing.MessageSigner`, verified
by the ``message_signing`` protection). CrewAI dispatches one hook before a delegation tool runs
(``PRE_TOOL_CALL``), and that is where Lictor both sees and judges it: the adapter signs the
``handoff`` Action there (see :func:`lictor_crewai.actions.tool_action`), so a policy with
``message_signing`` on accepts the crew's legitimate delegations and refuses hand-off Actions
that did not come through this adapter with the key. It cannot detect a change made between
the model's answer and that hook, or by a hook that runs after Lictor's (docs/crewai.md).
"""

from __future__ import annotations

from typing import Optional

from lictor import Governor
from lictor.protections.message_signing import MessageSigner
from lictor.protections.message_signing import resolve_signer as _resolve_signer

__all__ = ["MessageSigner", "resolve_signer"]


def resolve_signer(gov: Governor, signer: Optional[MessageSigner]) -> Optional[MessageSigner]:
    """The signer given, else one keyed like the policy's ``message_signing.key_env``, else None."""
    return _resolve_signer(gov, signer)
