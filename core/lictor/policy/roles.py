"""The roles a policy gives an agent: every ``agents:`` glob that matches the agent's name
contributes its roles (first occurrence wins, order kept). Shared by the rules plugin and the
protections that look at roles, so both read ``agents:`` the same way.
"""

from __future__ import annotations

import fnmatch
import re
from typing import Any

__all__ = ["RoleResolver"]

_CACHE_MAX = 8192


class RoleResolver:
    """An agent's roles: the policy's ``agents:`` globs (cached per agent name) plus, for
    :meth:`of`, the roles an adapter put in ``metadata["roles"]``.

    ``cache`` (agent name -> roles) is public so that a hot path can look a name up without a
    call; a miss goes through :meth:`of_name`, which fills it.
    """

    __slots__ = ("_patterns", "cache")

    def __init__(self, policy: Any) -> None:
        agents = getattr(policy, "agents", {}) or {}
        self._patterns = [(re.compile(fnmatch.translate(p)), tuple(spec.roles)) for p, spec in agents.items()]
        self.cache: dict[str, tuple[str, ...]] = {}

    def of_name(self, agent: str) -> tuple[str, ...]:
        """Roles the policy gives an agent name (no metadata)."""
        roles = self.cache.get(agent)
        if roles is None:
            found: list[str] = []
            for rx, rs in self._patterns:
                if rx.match(agent):
                    found.extend(rs)
            roles = tuple(dict.fromkeys(found))
            if len(self.cache) >= _CACHE_MAX:
                self.cache.clear()
            self.cache[agent] = roles
        return roles

    def of(self, action: Any) -> tuple[str, ...]:
        """Roles of the acting agent: policy roles plus ``metadata["roles"]`` (a single string
        counts as one role; roles the policy already gives are not repeated)."""
        roles = self.of_name(action.agent)
        md = action.metadata
        extra = md.get("roles") if md else None
        if extra:
            if isinstance(extra, str):
                extra = (extra,)
            return roles + tuple(r for r in extra if isinstance(r, str) and r not in roles)
        return roles
