"""A termination condition the kill switch can trip: the team stops cleanly, saying why.

``ExternalTermination`` stops a team after the current turn but always says "External
termination requested"; this one carries Lictor's reason into ``TaskResult.stop_reason``.
``govern()`` ORs it into a team's own termination condition.
"""

from __future__ import annotations

from typing import Optional, Sequence

from autogen_agentchat.base import TerminatedException, TerminationCondition
from autogen_agentchat.messages import BaseAgentEvent, BaseChatMessage, StopMessage
from autogen_core import Component
from pydantic import BaseModel
from typing_extensions import Self

__all__ = ["LictorHaltTermination"]


class _Config(BaseModel):
    pass


class LictorHaltTermination(TerminationCondition, Component[_Config]):
    """Terminates the run at the next check after :meth:`halt` was called."""

    component_config_schema = _Config
    component_provider_override = "lictor_autogen.termination.LictorHaltTermination"

    def __init__(self) -> None:
        self._reason: Optional[str] = None
        self._terminated = False

    @property
    def terminated(self) -> bool:
        return self._terminated

    @property
    def reason(self) -> Optional[str]:
        return self._reason

    def halt(self, reason: str) -> None:
        """Ask the team to stop after the current turn (first reason wins)."""
        if self._reason is None:
            self._reason = reason

    async def __call__(self, messages: Sequence[BaseAgentEvent | BaseChatMessage]) -> StopMessage | None:
        if self._terminated:
            raise TerminatedException("Termination condition has already been reached")
        if self._reason is not None:
            self._terminated = True
            return StopMessage(content=f"Lictor stopped the run: {self._reason}", source="lictor")
        return None

    async def reset(self) -> None:
        self._terminated = False
        self._reason = None

    def _to_config(self) -> _Config:
        return _Config()

    @classmethod
    def _from_config(cls, config: _Config) -> Self:
        return cls()
