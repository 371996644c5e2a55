"""pii: validated detection and masking of personal data, per-entity effects."""

from __future__ import annotations

import pytest

import lictor
from lictor.protections.pii import find_pii, iban_ok, luhn_ok

from protection_helpers import gov, tool

CRM_ROW = {
    "customer": "Jane Roe",
    "email": "jane.roe@example.org",
    "phone": "+1 415-555-0132",
    "card": "4111 1111 1111 1111",
    "iban": "DE89 3704 0044 0532 0130 00",
    "ssn": "536-90-4399",
    "note": "order 1234567890123 shipped 2024-03-15 12:30, tracking 1Z999AA10123456784, total 1,249.50",
}


def test_tool_output_is_masked_per_entity() -> None:
    g = gov({"pii": {"entities": {"email": "allow"}}})
    d = g.check_output(tool("crm_lookup"), CRM_ROW)
    assert d.verdict == "redact"
    out = d.output
    assert out["email"] == "jane.roe@example.org"
    assert out["card"] == "[CARD]" and out["iban"] == "[IBAN]" and out["ssn"] == "[US_SSN]" and out["phone"] == "[PHONE]"
    assert out["note"] == CRM_ROW["note"]  # order numbers, dates and tracking ids are not personal data
    assert out["customer"] == "Jane Roe"
    assert {"pii: card x1", "pii: iban x1"} <= set(d.evidence)


def test_deny_entity_withholds_the_output() -> None:
    g = gov({"pii": {"entities": {"card": "deny"}}})
    d = g.check_output(tool("crm_lookup"), "Card on file: 5555-5555-5555-4444")
    assert d.verdict == "deny" and d.blocked and "card" in d.reasons[0]
    assert g.check_output(tool("crm_lookup"), "call 030 12345678").verdict == "redact"


def test_model_output_and_args() -> None:
    g = gov({"pii": {"on": ["model_output", "args"], "replacement": "<{entity}>"}})
    d = g.check(lictor.Action(kind="model_output", agent="a", name="user", content="Your SSN 536-90-4399 is on file."))
    assert d.verdict == "redact" and d.action.content == "Your SSN <us_ssn> is on file."
    d = g.check(tool("create_ticket", body="customer card 378282246310005, call back"))
    assert d.action.args["body"] == "customer card <card>, call back"
    assert g.check_output(tool("crm"), "jane@example.org").verdict == "allow"  # tool_output not in `on`


def test_invalid_checksums_are_not_masked() -> None:
    assert find_pii("card 4111 1111 1111 1112") == []  # Luhn fails
    assert find_pii("iban DE89 3704 0044 0532 0130 01") == []  # mod-97 fails
    assert find_pii("ssn 000-12-3456 or 666-12-3456") == []  # never issued
    assert [e for e, _, _ in find_pii("NINO QQ 12 34 56 C (invalid prefix), AB 12 34 56 C")] == ["uk_nino"]
    assert [e for e, _, _ in find_pii("NINO GB 12 34 56 C")] == []
    assert luhn_ok("79927398713") and not luhn_ok("79927398710")
    assert iban_ok("GB82WEST12345698765432") and not iban_ok("GB82WEST12345698765433")


def test_evasive_formats_are_found() -> None:
    kinds = [e for e, _, _ in find_pii("cards 4111-1111-1111-1111 and 4111111111111111; mail A.B+tag@Sub.Example.COM; tel (212) 555-0100")]
    assert kinds == ["card", "card", "email", "phone"]


def test_benign_numbers_are_left_alone() -> None:
    benign = ("Build 2024.03.15, ip 10.20.30.40, version 3.11.7, commit 3f786850e387550fdab836ed7e6dc881de23001b, "
              "order #100234, unix time 1700000000, price $1,299.99, ISBN 978-3-16-148410-0")
    assert find_pii(benign) == []


@pytest.mark.parametrize("section,field", [
    ({"entities": {"passport": "redact"}}, "entities.passport"),
    ({"entities": {"card": "mask"}}, "entities.card.effect"),
    ({"on": ["logs"]}, "pii.on"),
    ({"replacement": "[{kind}]"}, "replacement"),
    ({"effect": "approve"}, "effect"),
])
def test_invalid_config_names_the_field(section: dict, field: str) -> None:
    with pytest.raises(lictor.PolicyError) as e:
        gov({"pii": section})
    assert f"protections.{field}" in str(e.value) or f"protections.pii.{field}" in str(e.value)
