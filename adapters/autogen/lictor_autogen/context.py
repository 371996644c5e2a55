"""What the pieces of one governed agent or team share: the Governor, the run, the approver.

The workbench wrapper, the model-client proxy and the message handler each see one slice of a
run; a :class:`GovernedRun` gives them the same session id (session = the team run), the same
"this run was halted" flag, and one place (:meth:`GovernedRun.decide`) where a verdict becomes
final, including awaiting the approver for ``approve``.
"""

from __future__ import annotations

import uuid
from typing import Any, Callable, Literal, Optional

import lictor
from autogen_core import CancellationToken

from .approval import Approver, ask_approver
from .signing import MessageSigner, resolve_signer
from .termination import LictorHaltTermination

__all__ = ["GovernedRun", "OnHalt", "FRAMEWORK"]

FRAMEWORK = "autogen"
OnHalt = Literal["terminate", "cancel"]


class GovernedRun:
    """Shared state of one governed agent or team.

    :param gov: the Governor deciding every action.
    :param session: a fixed session id; by default each team run gets a fresh one
        (``<team name>-<random>``) and a lone agent one for its lifetime.
    :param approver: answers ``approve`` verdicts in-process (see :mod:`.approval`); without one
        a pending approval is refused (fail closed).
    :param approval_timeout: seconds to wait for the approver; no answer means no.
    :param approver_name: recorded as the approver when the approver answers with plain text.
    :param signer: a :class:`lictor.protections.message_signing.MessageSigner` that signs the
        team's messages and hand-offs (ASI07); default: one keyed from the policy's
        ``message_signing.key_env`` when that section is present, else no signing.
    :param on_halt: what a kill-switch halt does: ``"terminate"`` ends the team after the
        current turn with a clear ``stop_reason`` (every later action of the run is refused);
        ``"cancel"`` also cancels the run's ``CancellationToken`` (``run()`` raises
        ``CancelledError``; pass your own token to ``run()`` for this to reach it).
    """

    def __init__(
        self,
        gov: lictor.Governor,
        *,
        name: str = "autogen",
        session: Optional[str] = None,
        approver: Optional[Approver] = None,
        approval_timeout: float = 60.0,
        approver_name: str = "user",
        signer: Optional[MessageSigner] = None,
        on_halt: OnHalt = "terminate",
    ) -> None:
        if on_halt not in ("terminate", "cancel"):
            raise ValueError(f"on_halt must be 'terminate' or 'cancel', not {on_halt!r}")
        self.gov = gov
        self.name = name
        self.fixed_session = session
        self.session = session or f"{name}-{uuid.uuid4().hex[:12]}"
        self.approver = approver
        self.approval_timeout = approval_timeout
        self.approver_name = approver_name
        self.signer = resolve_signer(gov, signer)
        self.on_halt = on_halt
        self.halted: Optional[str] = None
        self.termination: Optional[LictorHaltTermination] = None
        self.on_halt_callbacks: list[Callable[[str], Any]] = []

    # -- runs ------------------------------------------------------------------------------------
    def new_run(self) -> None:
        """A team run starts: fresh session id (unless fixed), halt flag cleared."""
        if self.fixed_session is None:
            self.session = f"{self.name}-{uuid.uuid4().hex[:12]}"
        self.halted = None

    def action(self, kind: str, agent: str, name: str = "", *, args: Optional[dict[str, Any]] = None,
               content: Optional[str] = None, call_id: Optional[str] = None,
               source: str = "agent", **metadata: Any) -> lictor.Action:
        """An Action of this run, labelled as coming from AutoGen."""
        meta = {"framework": FRAMEWORK, "source": source}
        meta.update(metadata)
        return lictor.Action(kind=kind, agent=agent or "agent", name=name, args=args or {},
                             content=content, session=self.session, call_id=call_id, metadata=meta)

    # -- verdicts --------------------------------------------------------------------------------
    async def decide(self, action: lictor.Action, token: Optional[CancellationToken] = None) -> lictor.Decision:
        """The final decision for ``action``: checked, approval awaited, halt applied.

        After a halt every later action of the run is refused without asking the Governor.
        """
        if self.halted is not None:
            d = lictor.Decision.deny(f"the run was stopped: {self.halted}", rule_id="kill_switch", risks=("ASI08",))
            return d.model_copy(update={"action": action, "halt": True})
        d = self.gov.check(action)
        if d.halt:
            self.halt("; ".join(d.reasons) or "kill switch", token)
            return d
        if d.pending and d.enforced:
            if self.approver is None:
                approval = lictor.Approval(approved=False, approver="lictor:no-approver",
                                           comment="no approver is configured for this agent; refused (fail closed)")
            else:
                approval = await ask_approver(self.approver, d, timeout=self.approval_timeout,
                                              approver_name=self.approver_name, cancellation_token=token)
            d = self.gov.resolve_approval(d, approval)
        return d

    def halt(self, reason: str, token: Optional[CancellationToken] = None) -> None:
        """Stop the run: refuse everything after, end the team, maybe cancel the token."""
        if self.halted is None:
            self.halted = reason
            if self.termination is not None:
                self.termination.halt(reason)
            for cb in list(self.on_halt_callbacks):
                try:
                    cb(reason)
                except Exception:  # a user callback must not break the stop
                    pass
        if self.on_halt == "cancel" and token is not None and not token.is_cancelled():
            token.cancel()


def refusal_text(decision: lictor.Decision, what: str) -> str:
    """A clear, safe refusal the model can act on (reasons are the policy's own words)."""
    why = "; ".join(r for r in decision.reasons if r) or "denied by policy"
    if decision.halt:
        return f"[lictor] {what} was refused and the run is being stopped: {why}. Do not continue."
    return f"[lictor] {what} was refused: {why}. Do not retry it; choose another way or tell the user."
