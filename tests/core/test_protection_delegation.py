"""delegation (ASI03): an agent acting for another gets the intersection of their permissions."""

from __future__ import annotations

from typing import Any

import pytest

import lictor

POLICY: dict[str, Any] = {
    "agents": {"intern-*": {"roles": ["intern"]}, "admin-*": {"roles": ["admin"]}, "billing-*": {"roles": ["billing"]}},
    "rules": [
        {"id": "big-refund", "match": {"name": "issue_refund"}, "when": "args.amount > 100 && !('billing' in agent_roles)",
         "effect": "approve"},
        {"id": "no-prod-for-interns", "match": {"name": "deploy", "roles": ["intern"]}, "effect": "deny"},
    ],
    "protections": {
        "tool_access": {"roles": {"intern": {"allow": ["read_*", "issue_refund"]},
                                  "admin": {"allow": ["*"]},
                                  "billing": {"allow": ["issue_refund", "read_*"]}}},
        "delegation": {"max_depth": 3},
    },
}


def act(agent: str, name: str, **kw: Any) -> lictor.Action:
    return lictor.Action(kind="tool_call", agent=agent, name=name, **kw)


@pytest.fixture
def gov(make_gov):
    return make_gov(POLICY)


def test_admin_acting_for_an_intern_gets_only_the_interns_tools(gov) -> None:
    assert gov.check(act("admin-1", "delete_user")).verdict == "allow"
    d = gov.check(act("admin-1", "delete_user", metadata={"on_behalf_of": "intern-7"}))
    assert d.verdict == "deny" and "delegation" in d.rule_ids and "ASI03" in d.risks
    assert "acting for 'intern-7'" in d.reasons[0]


def test_rules_are_applied_as_the_principal(gov) -> None:
    # the intern may deploy nothing; the admin may; admin acting for the intern may not
    assert gov.check(act("admin-1", "deploy")).verdict == "allow"
    d = gov.check(act("admin-1", "deploy", metadata={"handoff_chain": ["intern-3", "admin-1"]}))
    assert d.verdict == "deny" and "delegation:no-prod-for-interns" in d.rule_ids


def test_role_conditions_use_the_principals_roles_not_the_actors(gov) -> None:
    assert gov.check(act("billing-1", "issue_refund", args={"amount": 500})).verdict == "allow"
    d = gov.check(act("billing-1", "issue_refund", args={"amount": 500}, metadata={"on_behalf_of": ["intern-2"]}))
    assert d.verdict == "approve" and "delegation:big-refund" in d.rule_ids


def test_actor_roles_claimed_in_metadata_do_not_pass_to_the_principal(gov) -> None:
    d = gov.check(act("billing-1", "issue_refund", args={"amount": 500},
                      metadata={"on_behalf_of": "intern-2", "roles": ["billing"]}))
    assert d.verdict == "approve"


def test_delegation_never_widens_the_actor(gov) -> None:
    # an intern acting for an admin is still an intern
    d = gov.check(act("intern-1", "delete_user", metadata={"on_behalf_of": "admin-1"}))
    assert d.verdict == "deny" and d.rule_ids[0] == "tool_access"


def test_allowed_for_every_agent_in_the_chain_passes(gov) -> None:
    d = gov.check(act("admin-1", "read_orders", metadata={"handoff_chain": ["billing-2", "intern-4"]}))
    assert d.verdict == "allow"


def test_chain_deeper_than_max_depth_is_refused(gov) -> None:
    d = gov.check(act("admin-1", "read_orders", metadata={"handoff_chain": ["admin-2", "admin-3", "admin-4"]}))
    assert d.verdict == "deny" and "max_depth 3" in d.reasons[0]


@pytest.mark.parametrize("bad", [{"on_behalf_of": 7}, {"handoff_chain": [1, 2]}, {"on_behalf_of": [""]}])
def test_malformed_chain_fails_closed(gov, bad: dict[str, Any]) -> None:
    assert gov.check(act("admin-1", "read_orders", metadata=bad)).verdict == "deny"


def test_unknown_principal_policy(make_gov) -> None:
    pol = {**POLICY, "protections": {**POLICY["protections"], "delegation": {"unknown_principal": "deny"}}}
    gov = make_gov(pol)
    assert gov.check(act("admin-1", "read_orders", metadata={"on_behalf_of": "mallory"})).verdict == "deny"
    assert gov.check(act("admin-1", "read_orders", metadata={"on_behalf_of": "intern-1"})).verdict == "allow"


def test_without_chain_nothing_changes(gov) -> None:
    assert gov.check(act("admin-1", "delete_user", metadata={"framework": "x"})).verdict == "allow"
