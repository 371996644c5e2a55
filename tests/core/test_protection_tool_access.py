"""tool_access (ASI02): allow/deny lists per agent and role, argument constraints, CEL requirements."""

from __future__ import annotations

from typing import Any

import pytest

import lictor

POLICY: dict[str, Any] = {
    "agents": {"support-*": {"roles": ["support"]}, "treasurer-*": {"roles": ["treasurer"]}},
    "protections": {
        "tool_access": {
            "agents": {"support-*": {"allow": ["lookup_*", "issue_refund", "send_email"], "deny": ["lookup_salary"]}},
            "roles": {"treasurer": {"allow": ["wire_transfer", "lookup_*"]}, "auditor": {"allow": ["export_ledger"]}},
            "default": "deny",
            "args": {
                "issue_refund": {
                    "properties": {
                        "amount": {"type": "number", "exclusiveMinimum": 0, "maximum": 500},
                        "currency": {"enum": ["EUR", "USD"]},
                        "order_id": {"type": "string", "pattern": "^ORD-[0-9]{6}$"},
                        "note": {"type": "string", "maxLength": 200},
                    },
                    "required": ["amount", "order_id"],
                    "additionalProperties": False,
                },
                "send_email": {
                    "properties": {"to": {"type": "string"},
                                   "cc": {"type": "array", "maxItems": 3, "items": {"type": "string", "pattern": "@"}}},
                    "require": "args.to.endsWith('@customer.example.com')",
                    "effect": "approve",
                },
                "wire_transfer": {"require": "args.amount < 10000 || 'cfo' in agent_roles", "reason": "large wires need the CFO"},
            },
        }
    },
}


@pytest.fixture
def gov(make_gov):
    return make_gov(POLICY)


def call(gov: lictor.Governor, name: str, agent: str = "support-7", **kw: Any) -> lictor.Decision:
    return gov.check(lictor.Action(kind="tool_call", agent=agent, name=name, **kw))


def test_allowlisted_tool_with_valid_arguments_is_allowed(gov) -> None:
    d = call(gov, "issue_refund", args={"amount": 120.5, "currency": "EUR", "order_id": "ORD-123456"})
    assert d.verdict == "allow"
    assert call(gov, "lookup_order", args={"id": 3}).verdict == "allow"


def test_tool_outside_the_agents_allowlist_is_denied(gov) -> None:
    d = call(gov, "delete_customer", args={"id": 3})
    assert d.verdict == "deny" and d.rule_ids == ("tool_access",) and "ASI02" in d.risks
    assert "not in the allowlist" in d.reasons[0]


def test_denylist_beats_an_allow_glob(gov) -> None:
    d = call(gov, "lookup_salary")
    assert d.verdict == "deny" and "denied to agent 'support-7'" in d.reasons[0]


def test_roles_come_from_policy_and_metadata(gov) -> None:
    assert call(gov, "wire_transfer", agent="treasurer-1", args={"amount": 50}).verdict == "allow"
    assert call(gov, "wire_transfer", agent="support-1", args={"amount": 50}).verdict == "deny"
    # an adapter-provided role adds the role's allowlist
    assert call(gov, "export_ledger", agent="support-1", metadata={"roles": ["auditor"]}).verdict == "allow"


def test_default_deny_for_agents_without_any_entry(gov) -> None:
    assert call(gov, "lookup_order", agent="stranger").verdict == "deny"


@pytest.mark.parametrize("args, fragment", [
    ({"amount": 900, "order_id": "ORD-123456"}, "at most 500"),
    ({"amount": 0, "order_id": "ORD-123456"}, "more than 0"),
    ({"amount": -5, "order_id": "ORD-123456"}, "more than 0"),
    ({"amount": "100", "order_id": "ORD-123456"}, "type number"),
    ({"amount": True, "order_id": "ORD-123456"}, "type number"),  # bool is not a number
    ({"amount": float("nan"), "order_id": "ORD-123456"}, "amount"),
    ({"amount": 10, "order_id": "ORD-12345"}, "pattern"),
    ({"amount": 10, "order_id": "ORD-123456; DROP TABLE"}, "pattern"),
    ({"amount": 10}, "order_id is required"),
    ({"amount": 10, "order_id": "ORD-123456", "currency": "BTC"}, "one of"),
    ({"amount": 10, "order_id": "ORD-123456", "iban": "DE89..."}, "not allowed"),
    ({"amount": 10, "order_id": "ORD-123456", "note": "x" * 201}, "at most 200"),
])
def test_argument_constraints_refuse_out_of_bounds_values(gov, args: dict[str, Any], fragment: str) -> None:
    d = call(gov, "issue_refund", args=args)
    assert d.verdict == "deny", args
    assert fragment in d.reasons[0]
    assert d.rule_ids == ("tool_access.args",)


def test_cel_requirement_with_approve_effect(gov) -> None:
    ok = call(gov, "send_email", args={"to": "ann@customer.example.com", "cc": ["bob@customer.example.com"]})
    assert ok.verdict == "allow"
    d = call(gov, "send_email", args={"to": "drop@attacker.example.net"})
    assert d.verdict == "approve" and "endsWith" in d.reasons[0]
    # a look-alike domain suffix does not pass
    d = call(gov, "send_email", args={"to": "x@customer.example.com.attacker.net"})
    assert d.verdict == "approve"
    # schema checks run too: too many copies, an item without '@'
    d = call(gov, "send_email", args={"to": "ann@customer.example.com", "cc": [f"a{i}@c.example" for i in range(4)]})
    assert d.verdict == "approve" and "at most 3 items" in d.reasons[0]
    d = call(gov, "send_email", args={"to": "ann@customer.example.com", "cc": ["nobody"]})
    assert d.verdict == "approve" and "cc[]" in d.reasons[0]


def test_cel_requirement_uses_roles_and_custom_reason(gov) -> None:
    d = call(gov, "wire_transfer", agent="treasurer-1", args={"amount": 50_000})
    assert d.verdict == "deny" and d.reasons[0].startswith("large wires need the CFO")
    assert call(gov, "wire_transfer", agent="treasurer-1", args={"amount": 50_000},
                metadata={"roles": ["cfo"]}).verdict == "allow"


def test_cel_requirement_that_cannot_be_evaluated_fails_closed(gov) -> None:
    d = call(gov, "wire_transfer", agent="treasurer-1", args={"currency": "EUR"})
    assert d.verdict == "deny" and "fail closed" in d.reasons[0]


def test_other_kinds_are_not_judged_by_default(gov) -> None:
    d = gov.check(lictor.Action(kind="message", agent="stranger", name="delete_customer", content="hi"))
    assert d.verdict == "allow"


def test_absent_section_means_inactive(make_gov) -> None:
    gov = make_gov({})
    assert gov.check(lictor.Action(kind="tool_call", agent="x", name="anything")).verdict == "allow"


def test_configuration_errors_name_the_field(make_gov) -> None:
    bad = {"protections": {"tool_access": {
        "agents": {"a-*": {"allow": "x", "permit": ["y"]}},
        "args": {"t": {"properties": {"n": {"type": "int", "maximum": "ten"}}, "require": "args.n >", "effect": "block"}},
        "defualt": "deny",
    }}}
    with pytest.raises(lictor.PolicyError) as e:
        make_gov(bad)
    msg = str(e.value)
    assert "protections.tool_access.agents.a-*.permit: unknown setting 'permit'" in msg
    assert "protections.tool_access.args.t.properties.n.type: 'int' is not a type" in msg
    assert "protections.tool_access.args.t.properties.n.maximum: expected a number" in msg
    assert "protections.tool_access.args.t.require: CEL syntax error" in msg
    assert "protections.tool_access.args.t.effect: 'block' is not one of deny, approve" in msg
    assert "protections.tool_access.defualt: unknown setting" in msg


def test_yaml_errors_carry_the_line(tmp_path) -> None:
    p = tmp_path / "policy.yaml"
    p.write_text("version: 1\nprotections:\n  tool_access:\n    default: maybe\n")
    with pytest.raises(lictor.PolicyError) as e:
        lictor.Governor.from_file(p, load_entrypoints=False)
    assert f"{p}:4 protections.tool_access.default: 'maybe' is not one of allow, deny" in str(e.value)
