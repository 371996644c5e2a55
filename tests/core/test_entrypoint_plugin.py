"""A third-party plugin installed as a distribution is found through the `lictor` entry point."""

from __future__ import annotations

from importlib import metadata

import pytest

import lictor

from core_helpers import act


def _installed() -> bool:
    return any(ep.name == "no_friday_deploys" for ep in metadata.entry_points(group="lictor"))


@pytest.fixture(autouse=True)
def require_test_distribution() -> None:
    if not _installed():
        pytest.fail(
            "the test distribution tests/fixtures/lictor_test_plugin is not installed; "
            "run the core tests with `tox -e core` (it installs it) or `pip install ./tests/fixtures/lictor_test_plugin`"
        )


def test_entry_point_plugin_is_loaded_and_votes() -> None:
    with lictor.Governor({}) as gov:
        info = {p.name: p for p in gov.plugins()}
        assert info["no_friday_deploys"].source.startswith("entry point (lictor-test-plugin 0.1.0")
        d = gov.check(act("deploy", metadata={"weekday": "friday"}))
        assert d.verdict == "deny" and d.rule_ids == ("no-friday-deploys",) and d.plugins == ("no_friday_deploys",)
        assert gov.check(act("deploy", metadata={"weekday": "monday"})).verdict == "allow"


def test_entry_point_plugin_reads_its_policy_section() -> None:
    with lictor.Governor({"plugins": {"config": {"no_friday_deploys": {"tools": ["release"]}}}}) as gov:
        assert gov.check(act("release", metadata={"weekday": "friday"})).verdict == "deny"
        assert gov.check(act("deploy", metadata={"weekday": "friday"})).verdict == "allow"
    with pytest.raises(lictor.PolicyError, match="no_friday_deploys: unknown key 'tool'"):
        lictor.Governor({"plugins": {"config": {"no_friday_deploys": {"tool": ["x"]}}}})


def test_entry_point_plugin_can_be_blocked_by_policy_or_environment(monkeypatch) -> None:
    with lictor.Governor({"plugins": {"disable": ["no_friday_deploys"]}}) as gov:
        assert "no_friday_deploys" not in [p.name for p in gov.plugins()]
        assert gov.check(act("deploy", metadata={"weekday": "friday"})).verdict == "allow"
    monkeypatch.setenv("LICTOR_DISABLE_PLUGINS", "no_friday_deploys")
    with lictor.Governor({}) as gov:
        assert gov.check(act("deploy", metadata={"weekday": "friday"})).verdict == "allow"
    monkeypatch.delenv("LICTOR_DISABLE_PLUGINS")
    monkeypatch.setenv("LICTOR_NO_ENTRYPOINTS", "1")
    with lictor.Governor({}) as gov:
        assert "no_friday_deploys" not in [p.name for p in gov.plugins()]
