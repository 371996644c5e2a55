"""Fixtures for the CrewAI adapter tests: offline, real CrewAI objects, no mocks.

The environment opt-outs are set before anything imports crewai, so plain ``pytest`` behaves
like the tox env (no telemetry, no tracing prompt, no version check, no network).
"""

from __future__ import annotations

import os

for _k, _v in {
    "CREWAI_DISABLE_TELEMETRY": "true",
    "OTEL_SDK_DISABLED": "true",
    "CREWAI_TRACING_ENABLED": "false",
    "CREWAI_DISABLE_VERSION_CHECK": "true",
    "LICTOR_NO_ENTRYPOINTS": "1",
}.items():
    os.environ.setdefault(_k, _v)

from typing import Any, Iterator  # noqa: E402

import pytest  # noqa: E402
from crewai.hooks import clear_all_hooks  # noqa: E402

import lictor  # noqa: E402


class DecisionLog:
    """A test plugin that records every final decision (stands in for the audit trail)."""

    name = "decision_log"

    def __init__(self) -> None:
        self.decisions: list[tuple[lictor.Action, lictor.Decision]] = []

    @lictor.hookimpl
    def lictor_on_decision(self, action: lictor.Action, decision: lictor.Decision, ctx: Any) -> None:
        self.decisions.append((action, decision))

    def verdicts(self, kind: str | None = None, phase: str = "action") -> list[tuple[str, str]]:
        """(name, verdict) of the action-phase (or ``phase="output"``) decisions of one kind.

        The observer hook does not say which phase a decision belongs to; an output check's
        decision carries the output it judged, an action check's does not.
        """
        return [(a.name, d.verdict) for a, d in self.decisions
                if (kind is None or a.kind == kind) and ((d.output is not None) == (phase == "output"))]

    def actions(self, kind: str) -> list[tuple[lictor.Action, lictor.Decision]]:
        return [(a, d) for a, d in self.decisions if a.kind == kind and d.output is None]


@pytest.fixture(autouse=True)
def _clean_crewai_hooks() -> Iterator[None]:
    """CrewAI's hook registry is process-global: every test starts and ends with it empty."""
    import lictor_crewai

    clear_all_hooks()
    yield
    for target in [g.scope.target for g in list(lictor_crewai._installed.values())]:
        if target is not None:
            lictor_crewai.ungovern(target)
    clear_all_hooks()


@pytest.fixture
def log() -> DecisionLog:
    return DecisionLog()


@pytest.fixture
def make_gov(log: DecisionLog, tmp_path: Any):
    """Build a Governor for a policy dict, with the decision log plugged in."""
    made: list[lictor.Governor] = []

    def make(policy: dict[str, Any], *plugins: Any, with_log: bool = True) -> lictor.Governor:
        gov = lictor.Governor.from_dict({"version": 1, **policy},
                                        plugins=[log, *plugins] if with_log else list(plugins),
                                        load_entrypoints=False)
        made.append(gov)
        return gov

    yield make
    for gov in made:
        gov.close()
