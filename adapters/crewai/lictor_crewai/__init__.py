"""Lictor for CrewAI: one line puts a crew (or a flow) under a Lictor Governor.

    from lictor_crewai import govern
    crew = govern(Crew(agents=[...], tasks=[...]), gov)

Every tool call, delegation (as a ``handoff``) and model call of *that* crew then goes through
``gov``; ``ungovern(crew)`` takes every hook away again. See docs/crewai.md for what each
verdict does in CrewAI and what CrewAI 1.15 does not let Lictor see.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any, Optional, TypeVar

from importlib.util import find_spec as _find_spec

_missing = [m for m in ['crewai'] if _find_spec(m) is None]
if _missing:  # a clear message instead of an ImportError from deep inside the adapter
    raise ImportError(
        f"lictor_crewai needs {', '.join(_missing)}: pip install 'lictor[crewai]'"
    )

from lictor import Governor

from .actions import DELEGATION_TOOLS
from .approval import Approver, approval_text, console_approver
from .errors import LictorStop
from .governance import Governance
from .guardrail import lictor_guardrail
from .scope import CrewScope, FlowScope, Scope
from .signing import MessageSigner, resolve_signer

__all__ = [
    "govern",
    "ungovern",
    "governance_of",
    "Governance",
    "lictor_guardrail",
    "LictorStop",
    "Approver",
    "console_approver",
    "approval_text",
    "DELEGATION_TOOLS",
    "MessageSigner",
]

T = TypeVar("T")

# The hooks this module has installed, by governed object. CrewAI's hook registry is itself
# process-wide; this table only remembers which entries in it are ours, so that govern() is
# idempotent and ungovern() can take them out again.
_installed: dict[int, Governance] = {}
_lock = threading.RLock()  # _forget may run from a GC finalizer


def _scope_for(target: Any) -> Scope:
    from crewai import Crew
    from crewai.flow.flow import Flow

    if isinstance(target, Crew):
        return CrewScope(target)
    if isinstance(target, Flow):
        return FlowScope(target)
    raise TypeError(
        f"govern() takes a crewai Crew or Flow, got {type(target).__name__}. "
        "To govern a single Agent, put it in a Crew (or a Flow)."
    )


def govern(
    target: T,
    gov: Governor,
    *,
    approver: Optional[Approver] = None,
    approval_timeout: Optional[float] = 300.0,
    signer: Optional[MessageSigner] = None,
) -> T:
    """Put a CrewAI ``Crew`` or ``Flow`` under ``gov`` and return it.

    :param target: the crew, or a flow (then every crew and agent it runs is governed).
    :param gov: the Governor that decides.
    :param approver: asked when a policy says ``approve``: ``(action, decision) -> Approval |
        bool | None``; default: a yes/no question on the console.
    :param approval_timeout: seconds to wait for the approver; no answer in time is a refusal.
        ``None`` waits forever.
    :param signer: an ASI07 :class:`lictor.protections.message_signing.MessageSigner` that signs
        each delegation (``handoff``) in the hook that sees it; default: one keyed from the
        policy's ``message_signing.key_env`` when the policy has that section, else none.

    Calling it again with the same Governor changes nothing; with another Governor it raises
    (``ungovern`` first). Call it before the first ``kickoff()`` when you can: executors built
    earlier get Lictor's model hooks added too, but only those of the crew's own agents.
    """
    if not isinstance(gov, Governor):
        raise TypeError(f"govern() needs a lictor.Governor as its second argument, got {type(gov).__name__}")
    scope = _scope_for(target)
    with _lock:
        current = _installed.get(id(target))
        if current is not None and current.scope.target is target:
            if current.gov is gov:
                return target
            raise ValueError(
                f"this {scope.describe()} is already governed by another Governor; "
                "call lictor_crewai.ungovern() on it first"
            )
        governance = Governance(gov, scope, approver or console_approver, approval_timeout,
                                resolve_signer(gov, signer))
        governance.install()
        _installed[id(target)] = governance
        weakref.finalize(target, _forget, id(target), governance)
    return target


def _forget(key: int, governance: Governance) -> None:
    """A governed object was garbage-collected without ungovern(): take its hooks out."""
    with _lock:
        if _installed.get(key) is governance:
            del _installed[key]
    governance.remove()


def ungovern(target: Any) -> bool:
    """Remove every Lictor hook of ``target``. Returns False when it was not governed."""
    with _lock:
        governance = _installed.get(id(target))
        if governance is None or governance.scope.target is not target:
            return False
        del _installed[id(target)]
    governance.remove()
    return True


def governance_of(target: Any) -> Optional[Governance]:
    """The installed :class:`Governance` of a governed crew or flow (its session, its Governor)."""
    governance = _installed.get(id(target))
    if governance is not None and governance.scope.target is target:
        return governance
    return None
