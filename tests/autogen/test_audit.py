"""The audit trail of a governed team run verifies (runs once core's audit plugin is active)."""

from __future__ import annotations

import asyncio

import lictor
import pytest
from autogen_agentchat.agents import AssistantAgent
from autogen_agentchat.conditions import MaxMessageTermination
from autogen_agentchat.teams import RoundRobinGroupChat
from lictor_autogen import govern

from conftest import POLICY, Tools, call, model


async def test_team_run_leaves_a_verified_audit_trail(tmp_path, tools: Tools) -> None:
    gov = lictor.Governor.from_dict({**POLICY, "audit": {"sink": "sqlite", "path": str(tmp_path / "a.db")}},
                                    load_entrypoints=False)
    try:
        try:
            audit = gov.audit
        except RuntimeError:
            pytest.skip("core audit trail not active yet (core/lictor/audit is a stub)")
        a = AssistantAgent("ops", model_client=model(call("delete_records", {"table": "t"}), "ok"), tools=tools.all())
        team = govern(RoundRobinGroupChat([a], termination_condition=MaxMessageTermination(2)), gov)
        await asyncio.wait_for(team.run(task="go"), 10)
        records = audit.records()
        assert any("delete_records" in str(r) for r in records)
        assert audit.verify().ok
    finally:
        gov.close()
