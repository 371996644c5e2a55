"""The values that cross Lictor's boundary: what an agent wants to do, and what Lictor decided.

They are frozen pydantic models because they travel between adapters, plugins, the audit trail
and users' code: validating them once, where they are made, lets every later step trust them
without checking again (the hot path never re-validates).
"""

from __future__ import annotations

import time
from typing import Any, Literal, Optional, Tuple, get_args

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ActionKind",
    "Verdict",
    "VERDICTS",
    "ACTION_KINDS",
    "Action",
    "Decision",
    "Approval",
    "VERDICT_RANK",
]

ActionKind = Literal[
    "tool_call",
    "model_call",
    "message",
    "handoff",
    "memory_write",
    "code_exec",
    "model_output",
]
ACTION_KINDS: Tuple[str, ...] = get_args(ActionKind)

Verdict = Literal["allow", "redact", "approve", "deny"]
VERDICTS: Tuple[str, ...] = get_args(Verdict)

#: How strongly a verdict wins when plugins disagree: deny > approve > redact > allow.
VERDICT_RANK = {"allow": 0, "redact": 1, "approve": 2, "deny": 3}


class Action(BaseModel):
    """One thing an agent wants to do, as the adapter saw it in the framework.

    ``kind`` says what sort of action it is; ``name`` is the tool, model or recipient;
    ``args`` the tool arguments (JSON-like); ``content`` the text of messages, prompts and
    memory writes; ``session`` the conversation or run it belongs to (budgets, loop breakers and
    audit grouping are keyed by it); ``call_id`` the framework's id for this call, used to
    recognise the same call when a framework replays it (LangGraph re-runs a tool wrapper on
    resume); ``metadata`` is free-form (framework, roles, provenance of inputs ...).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: ActionKind
    agent: str = Field(min_length=1)
    name: str = ""
    args: dict[str, Any] = Field(default_factory=dict)
    content: Optional[str] = None
    session: Optional[str] = None
    call_id: Optional[str] = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    def with_args(self, args: dict[str, Any]) -> "Action":
        """A copy with other arguments (used by redaction; skips re-validation on purpose)."""
        return self._copy_with("args", args)

    def with_content(self, content: Optional[str]) -> "Action":
        """A copy with other content (used by redaction; skips re-validation on purpose)."""
        return self._copy_with("content", content)

    def _copy_with(self, field: str, value: Any) -> "Action":
        """``model_copy(update={field: value})``, made directly: redactions run on the hot path,
        and pydantic's generic copy costs several times what an Action's four attributes do.
        Subclasses (which may add private or extra attributes) get the generic copy."""
        if type(self) is not Action:
            return self.model_copy(update={field: value})
        copy: Action = _new(Action)
        fields = dict(self.__dict__)
        fields[field] = value
        _set(copy, "__dict__", fields)
        _set(copy, "__pydantic_fields_set__", self.__pydantic_fields_set__ | {field})
        _set(copy, "__pydantic_extra__", None)
        _set(copy, "__pydantic_private__", None)
        return copy


class Approval(BaseModel):
    """A human's (or an approving system's) answer to an ``approve`` decision.

    ``approved`` is the answer; ``approver`` who gave it (recorded in the audit trail);
    ``comment`` their words; ``args`` replaces the action's arguments when the approver edited
    them before approving.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    approved: bool
    approver: str = Field(min_length=1)
    comment: Optional[str] = None
    args: Optional[dict[str, Any]] = None
    at: float = Field(default_factory=time.time)


class Decision(BaseModel):
    """What Lictor decided about an action (or an output), and why.

    Plugins return one as their *vote* (``Decision.deny("...")`` and friends); the Governor
    combines the votes into the final one it returns. ``action`` is the action to run: the
    original, or the rewritten one when ``verdict == "redact"``; ``output`` is the rewritten
    output of an output check. ``enforced`` is False in monitor mode and for agents outside a
    rollout: the verdict is recorded but must not block. ``halt`` asks the adapter to stop the
    whole run (kill switch), not just refuse this one action. ``phase`` says whether it judged
    an action before it ran (``check``) or what it produced (``check_output``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    verdict: Verdict
    phase: Literal["action", "output"] = "action"
    reasons: Tuple[str, ...] = ()
    rule_ids: Tuple[str, ...] = ()
    risks: Tuple[str, ...] = ()
    action: Optional[Action] = None
    output: Any = None
    enforced: bool = True
    halt: bool = False
    plugins: Tuple[str, ...] = ()
    approval: Optional[Approval] = None
    decision_id: str = ""
    policy_hash: str = ""
    evidence: Tuple[str, ...] = ()

    # -- votes, for plugin authors ---------------------------------------------------------
    @classmethod
    def allow(cls, reason: str = "", *, rule_id: str = "", risks: Tuple[str, ...] = ()) -> "Decision":
        """An explicit allow vote (a plugin that has no opinion returns ``None`` instead)."""
        return _vote(cls, "allow", reason, rule_id, risks)

    @classmethod
    def deny(
        cls,
        reason: str,
        *,
        rule_id: str = "",
        risks: Tuple[str, ...] = (),
        halt: bool = False,
        evidence: Tuple[str, ...] = (),
    ) -> "Decision":
        """Refuse the action; ``halt=True`` also asks the adapter to stop the run.
        ``evidence`` holds what the detector saw (matched spans, secrets masked)."""
        d = _vote(cls, "deny", reason, rule_id, risks, evidence)
        if halt:
            object.__setattr__(d, "halt", True)
        return d

    @classmethod
    def approve(
        cls, reason: str, *, rule_id: str = "", risks: Tuple[str, ...] = (), evidence: Tuple[str, ...] = ()
    ) -> "Decision":
        """The action needs a human (or approving system) first."""
        return _vote(cls, "approve", reason, rule_id, risks, evidence)

    @classmethod
    def vote(
        cls,
        verdict: str,
        reason: str,
        *,
        rule_id: str = "",
        risks: Tuple[str, ...] = (),
        evidence: Tuple[str, ...] = (),
    ) -> "Decision":
        """A refusing vote whose strength the policy chose: ``verdict`` is a protection's
        configured ``effect``, ``"deny"`` or ``"approve"``."""
        if verdict != "deny" and verdict != "approve":
            raise ValueError(f"a refusing vote is 'deny' or 'approve', not {verdict!r}")
        return _vote(cls, verdict, reason, rule_id, risks, evidence)

    @classmethod
    def redact(
        cls,
        reason: str,
        *,
        action: Optional[Action] = None,
        output: Any = None,
        rule_id: str = "",
        risks: Tuple[str, ...] = (),
        evidence: Tuple[str, ...] = (),
    ) -> "Decision":
        """Run a rewritten action (``action=``) or hand back a rewritten output (``output=``)."""
        d = _vote(cls, "redact", reason, rule_id, risks, evidence)
        object.__setattr__(d, "action", action)
        object.__setattr__(d, "output", output)
        return d

    # -- reading a decision, for adapters and callers --------------------------------------
    @property
    def pending(self) -> bool:
        """True when a human must still answer (verdict ``approve`` with no approval yet)."""
        return self.verdict == "approve" and self.approval is None

    @property
    def blocked(self) -> bool:
        """True when the caller must not run the action as asked.

        A pending approval counts as blocked: a caller that cannot pause for a human fails
        closed. Decisions that are not enforced (monitor mode, outside the rollout) never block.
        """
        return self.enforced and (self.verdict == "deny" or self.verdict == "approve")

    @property
    def allowed(self) -> bool:
        """The opposite of :attr:`blocked`: run ``decision.action`` (maybe rewritten)."""
        return not self.blocked

    def summary(self) -> str:
        """One line for people: verdict, reasons, rule ids and risks."""
        parts = [self.verdict if self.enforced else f"{self.verdict} (not enforced)"]
        if self.reasons:
            parts.append("; ".join(self.reasons))
        if self.rule_ids:
            parts.append("rules: " + ", ".join(self.rule_ids))
        if self.risks:
            parts.append("risks: " + ", ".join(self.risks))
        return " | ".join(parts)


# pydantic copies this set before changing it (model_copy), so one shared set is safe.
_DECISION_FIELDS = set(Decision.model_fields)
_new = object.__new__
_set = object.__setattr__


def _build_decision(cls: type, fields: dict) -> Decision:
    """Make a Decision from complete, already-valid fields without pydantic's per-call work.

    ``model_construct`` costs ~3.5 µs here, a sixth of the whole decision budget; this does the
    same thing (fill ``__dict__`` and the bookkeeping attributes) in ~0.7 µs. Only Lictor's own
    hot path uses it, always with every field given and of the right type.
    """
    obj: Decision = _new(cls)
    _set(obj, "__dict__", fields)
    _set(obj, "__pydantic_fields_set__", _DECISION_FIELDS)
    _set(obj, "__pydantic_extra__", None)
    _set(obj, "__pydantic_private__", None)
    return obj


def _vote(
    cls: type, verdict: str, reason: str, rule_id: str, risks: Tuple[str, ...], evidence: Tuple[str, ...] = ()
) -> Decision:
    # Votes are made on the hot path by trusted code with fixed field types, so they skip
    # validation and fill every field the same way the validator would.
    return _build_decision(cls, {
        "verdict": verdict,
        "phase": "action",
        "reasons": (reason,) if reason else (),
        "rule_ids": (rule_id,) if rule_id else (),
        "risks": tuple(risks),
        "action": None,
        "output": None,
        "enforced": True,
        "halt": False,
        "plugins": (),
        "approval": None,
        "decision_id": "",
        "policy_hash": "",
        "evidence": tuple(evidence),
    })
