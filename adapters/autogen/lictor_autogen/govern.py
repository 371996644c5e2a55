"""The one line: ``team = govern(team_or_agent, gov)``, and ``ungovern`` to take it back.

Like an OpenTelemetry instrumentor, governing is idempotent (a second call with the same
Governor changes nothing) and reversible (:func:`ungovern` restores every object it swapped).
The swaps themselves use AutoGen private attributes, all in :mod:`._private`.
"""

from __future__ import annotations

import warnings
from typing import Any, Callable, List, Optional, TypeVar

import lictor
from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.teams import BaseGroupChat

from . import _private as p
from .approval import Approver
from .context import GovernedRun, OnHalt
from .messages import LictorMessageHandler
from .model_client import LictorModelClient
from .signing import MessageSigner
from .termination import LictorHaltTermination
from .workbench import LictorWorkbench

__all__ = ["govern", "ungovern", "governance_of", "Governance"]

T = TypeVar("T")
_MARK = "_lictor_governance"
_HALT = "_lictor_halt_termination"


class Governance:
    """What ``govern()`` did to one agent or team: the shared run state and how to undo it."""

    def __init__(self, gov: lictor.Governor, run: GovernedRun) -> None:
        self.gov = gov
        self.run = run
        self.handler: Optional[LictorMessageHandler] = None
        self._undo: List[Callable[[], None]] = []

    def undo(self) -> None:
        for step in reversed(self._undo):
            step()
        self._undo.clear()


def governance_of(target: Any) -> Optional[Governance]:
    """The :class:`Governance` of a governed agent or team (None when not governed)."""
    return getattr(target, _MARK, None)


def govern(
    target: T,
    gov: lictor.Governor,
    *,
    session: Optional[str] = None,
    approver: Optional[Approver] = None,
    approval_timeout: float = 60.0,
    approver_name: str = "user",
    signer: Optional[MessageSigner] = None,
    on_halt: OnHalt = "terminate",
) -> T:
    """Put every tool call, model call, hand-off and inter-agent message of ``target`` under ``gov``.

    :param target: an ``AssistantAgent`` or a team (``RoundRobinGroupChat``,
        ``SelectorGroupChat``, ``Swarm``, any ``BaseGroupChat``); returned, governed in place.
    :param approver: answers ``approve`` verdicts in-process: a ``UserProxyAgent``-style input
        function, sync ``(prompt) -> str`` or async ``(prompt, cancellation_token) -> str``
        (it may also return a bool or a ``lictor.Approval``). Without one, approval means no.
    :param approval_timeout: seconds to wait for the approver before refusing.
    :param signer: a :class:`lictor.protections.message_signing.MessageSigner` (ASI07) that
        signs the team's hand-offs and messages; default: keyed from the policy's
        ``message_signing.key_env`` when the policy has that section. The ``message_signing``
        protection verifies the signatures; without it they are carried but not checked.
    :param on_halt: ``"terminate"`` (default: the team stops after the current turn, with the
        reason in ``TaskResult.stop_reason``) or ``"cancel"`` (also cancel the run's token).
    :param session: a fixed session id (default: a fresh one per team run).

    Calling it again with the same Governor returns ``target`` unchanged; with another Governor
    it raises ``ValueError`` (call :func:`ungovern` first). A team must be governed before its
    first run (its manager keeps the termination condition it was built with).
    """
    existing = governance_of(target)
    if existing is not None:
        if existing.gov is gov:
            return target
        raise ValueError(f"{type(target).__name__} is already governed by another Governor; call ungovern() first")
    name = getattr(target, "name", None) or type(target).__name__
    run = GovernedRun(gov, name=name, session=session, approver=approver, approval_timeout=approval_timeout,
                      approver_name=approver_name, signer=signer, on_halt=on_halt)
    g = Governance(gov, run)
    if isinstance(target, BaseGroupChat):
        _govern_team(target, g, name)
    elif isinstance(target, AssistantAgent):
        _govern_agent(target, g)
    else:
        raise TypeError(
            f"govern() takes an AssistantAgent or an AgentChat team (BaseGroupChat), not {type(target).__name__}; "
            "for other agents wrap their tools with LictorWorkbench and their model with LictorModelClient")
    if signer is not None and gov.policy.section("message_signing") is None:
        warnings.warn("govern(signer=...): the policy has no protections.message_signing section, so the "
                      "signatures are carried but nobody verifies them", stacklevel=2)
    setattr(target, _MARK, g)
    g._undo.insert(0, lambda: delattr(target, _MARK))
    return target


def ungovern(target: T) -> T:
    """Undo :func:`govern`: original workbenches, model clients, handlers and termination back."""
    g = governance_of(target)
    if g is not None:
        g.undo()
    return target


def _govern_agent(agent: AssistantAgent, g: Governance) -> None:
    run, gov, name = g.run, g.gov, agent.name
    old_wbs = p.agent_workbenches(agent)
    new_wbs = [wb if isinstance(wb, LictorWorkbench) else LictorWorkbench(wb, gov, agent=name, run=run)
               for wb in old_wbs]
    p.set_agent_workbenches(agent, new_wbs)
    old_client = p.agent_model_client(agent)
    if not isinstance(old_client, LictorModelClient):
        p.set_agent_model_client(agent, LictorModelClient(old_client, gov, agent=name, run=run,
                                                          handoffs=p.agent_handoff_targets(agent)))

    def undo() -> None:
        p.set_agent_workbenches(agent, old_wbs)
        p.set_agent_model_client(agent, old_client)

    g._undo.append(undo)


def _govern_team(team: BaseGroupChat, g: Governance, name: str) -> None:
    # The kill switch's clean stop: OR a LictorHaltTermination into the team's condition. The
    # same object is kept on the team, so governing again after ungovern reuses it.
    halt: Optional[LictorHaltTermination] = getattr(team, _HALT, None)
    if halt is None:
        if p.team_initialized(team):
            raise ValueError(f"govern() the team '{name}' before its first run: its group chat manager "
                             "already holds its termination condition")
        halt = LictorHaltTermination()
        old = p.team_termination(team)
        p.set_team_termination(team, halt if old is None else old | halt)
        setattr(team, _HALT, halt)
    g.run.termination = halt
    handler = LictorMessageHandler(g.run, name)
    if p.add_intervention_handler(team, handler):
        g.handler = handler
        g._undo.append(lambda: p.remove_intervention_handler(team, handler))
    for member in p.team_participants(team):
        if isinstance(member, AssistantAgent):
            if governance_of(member) is None:
                _govern_agent(member, g)
        elif isinstance(member, BaseGroupChat):
            # A nested team: its agents share this run; its own runtime gets the same handler.
            inner = Governance(g.gov, g.run)
            _govern_team(member, inner, getattr(member, "name", name))
            g._undo.append(inner.undo)
