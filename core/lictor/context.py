"""What every hook receives as ``ctx``: the Governor's shared services, one object per Governor.

One long-lived object instead of a fresh one per check keeps the hot path allocation-free;
everything that belongs to a single check travels on the ``Action`` itself.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:  # pragma: no cover
    from .governor import Governor
    from .policy.schema import Policy
    from .state import StateBackend

__all__ = ["Context"]


class Context:
    """Shared services for plugins.

    :ivar governor: the Governor that owns this context.
    :ivar policy: the validated policy.
    :ivar state: counters and flags (in-process, or shared through Redis).
    :ivar clock: seconds since the epoch; tests may replace it to move time.
    :ivar plugin_data: a dict where plugins may keep per-Governor data under their own name.
    """

    __slots__ = ("governor", "policy", "state", "clock", "plugin_data")

    def __init__(
        self,
        governor: "Governor",
        policy: "Policy",
        state: "StateBackend",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.governor = governor
        self.policy = policy
        self.state = state
        self.clock = clock
        self.plugin_data: dict[str, Any] = {}

    def now(self) -> float:
        """The current time (seconds since the epoch) from the Governor's clock."""
        return self.clock()
