"""Builders shared by the tests of the text and data-flow protections (part A of issue 7)."""

from __future__ import annotations

from typing import Any

import lictor


class Clock:
    def __init__(self, t: float = 1_700_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def gov(protections: dict[str, Any], clock: Any = None, **extra: Any) -> lictor.Governor:
    policy = {"protections": protections, **extra}
    kw: dict[str, Any] = {"load_entrypoints": False}
    if clock is not None:
        kw["clock"] = clock
    return lictor.Governor.from_dict(policy, **kw)


def tool(name: str, session: str = "s1", **args: Any) -> lictor.Action:
    return lictor.Action(kind="tool_call", agent="agent-1", name=name, args=args, session=session)


def text(kind: str, content: str, source: str | None, name: str = "x", session: str = "s1") -> lictor.Action:
    md = {"source": source} if source else {}
    return lictor.Action(kind=kind, agent="agent-1", name=name, content=content, session=session, metadata=md)
