"""Small builders shared by the core tests."""

from __future__ import annotations

from typing import Any

import lictor


def act(name: str = "t", kind: str = "tool_call", agent: str = "agent-1", **kw: Any) -> lictor.Action:
    return lictor.Action(kind=kind, agent=agent, name=name, **kw)
