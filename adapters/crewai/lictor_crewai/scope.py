"""Which CrewAI events belong to a governed crew or flow.

CrewAI 1.15 keeps its hooks in one process-wide list per interception point (the "crew-scoped"
hooks of ``@CrewBase`` are registered in that same global list, and the context-variable registry
``scoped_hooks()`` only covers code that runs inside a ``with`` block the caller owns). To govern
*one* crew and leave its neighbours alone, every Lictor hook first asks its scope whether the
event is its own: a crew scope compares ``ctx.crew`` by identity; a flow scope compares CrewAI's
``current_flow_id`` context variable, which the flow sets for everything it runs (it is copied into
worker threads and ``asyncio.to_thread``), so crews built inside flow methods are covered too.
"""

from __future__ import annotations

import abc
import uuid
import weakref
from typing import Any, Optional

from crewai.flow.flow_context import current_flow_id

__all__ = ["Scope", "CrewScope", "FlowScope"]


class Scope(abc.ABC):
    """Decides whether a hook context belongs to the governed object, and names its session."""

    kind = "?"

    def __init__(self, target: Any) -> None:
        # Held weakly: a crew that is dropped without ungovern() must not be kept alive (nor
        # its hooks kept registered) by Lictor; govern() removes the hooks when it is collected.
        self._ref = weakref.ref(target)

    @property
    def target(self) -> Any:
        """The governed object, or None once it has been garbage-collected."""
        return self._ref()

    @abc.abstractmethod
    def owns(self, ctx: Any) -> bool:
        """Whether a hook context belongs to this target's runs."""

    @abc.abstractmethod
    def session(self, ctx: Any) -> str:
        """The session id of the run a hook context belongs to."""

    @abc.abstractmethod
    def start(self, ctx: Any) -> Optional[str]:
        """At EXECUTION_START: the session of the run that begins, when it is this target's."""

    def describe(self) -> str:
        name = getattr(self.target, "name", None) or type(self.target).__name__
        return f"{self.kind} {name!r}"


class CrewScope(Scope):
    """One ``Crew`` object. Its session is a fresh id per ``kickoff()`` (set at EXECUTION_START)."""

    kind = "crew"

    def __init__(self, target: Any) -> None:
        super().__init__(target)
        self.run_id: Optional[str] = None

    def owns(self, ctx: Any) -> bool:
        crew = getattr(ctx, "crew", None)
        return crew is not None and crew is self._ref()

    def start(self, ctx: Any) -> Optional[str]:
        if getattr(ctx, "crew", None) is not self.target:
            return None
        self.run_id = f"crew-run-{uuid.uuid4().hex[:16]}"
        return self.run_id

    def session(self, ctx: Any) -> str:
        if self.run_id is None:  # governed mid-run: no EXECUTION_START seen yet
            self.run_id = f"crew-{getattr(self.target, 'id', 'unknown')}"
        return self.run_id


class FlowScope(Scope):
    """One ``Flow`` object: everything that runs while CrewAI's ``current_flow_id`` is its id."""

    kind = "flow"

    def owns(self, ctx: Any) -> bool:
        fid = current_flow_id.get()
        if fid is None:
            return False
        flow = self._ref()
        return flow is not None and fid == flow.flow_id

    def session(self, ctx: Any) -> str:
        return f"flow-{current_flow_id.get()}"

    def start(self, ctx: Any) -> Optional[str]:
        # CrewAI's flow run id is the flow's state id, the same for every kickoff of one flow.
        flow = self._ref()
        if flow is None or getattr(ctx, "flow", None) is not flow:
            return None
        return f"flow-{flow.flow_id}"
