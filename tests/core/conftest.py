from __future__ import annotations

from typing import Any

import pytest

import lictor


class Clock:
    """A clock tests can move, passed to Governor(clock=...)."""

    def __init__(self, t: float = 1_700_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_gov(clock: Clock):
    made: list[lictor.Governor] = []

    def make(policy: Any = None, plugins: Any = (), **kw: Any) -> lictor.Governor:
        kw.setdefault("load_entrypoints", False)
        kw.setdefault("clock", clock)
        gov = lictor.Governor(policy if policy is not None else {}, plugins, **kw)
        made.append(gov)
        return gov

    yield make
    for g in made:
        g.close()
