"""pii: validated detection and masking of personal data, per-entity effects."""

from __future__ import annotations

import json

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


# -- national ids ------------------------------------------------------------------------------------
# Valid numbers are the published examples of python-stdnum's documentation, or are computed below
# with the checksum written out here (not stdnum's), so a wrong validator would show.

def bsn(first8: str) -> str:
    """A Dutch BSN: the "11-test" (9..2 weights minus the last digit, divisible by 11)."""
    total = sum((9 - i) * int(c) for i, c in enumerate(first8))
    last = total % 11
    assert last < 10, "pick other digits: no check digit makes these valid"
    return first8 + str(last)


def luhn_complete(digits: str) -> str:
    for d in "0123456789":
        n = digits + d
        s = sum(int(c) if i % 2 == 0 else (2 * int(c) - 9 if int(c) > 4 else 2 * int(c)) for i, c in enumerate(reversed(n)))
        if s % 10 == 0:
            return n
    raise AssertionError


def cpf(first9: str) -> str:
    d1 = (11 - sum((10 - i) * int(c) for i, c in enumerate(first9))) % 11 % 10
    d2 = (11 - sum((11 - i) * int(c) for i, c in enumerate(first9 + str(d1)))) % 11 % 10
    return f"{first9[:3]}.{first9[3:6]}.{first9[6:]}-{d1}{d2}"


VALID = {  # entity: (how it is written in the text, with the keyword it needs, the number alone)
    "us_ssn": ("SSN 536-90-4399", "536-90-4399"),
    "uk_nino": ("NI number AB 12 34 56 C", "AB 12 34 56 C"),
    "uk_nhs": ("NHS number 943 476 5870", "943 476 5870"),
    "ca_sin": ("SIN: 123-456-782", "123-456-782"),
    "br_cpf": ("CPF 390.533.447-05", "390.533.447-05"),
    "in_aadhaar": ("Aadhaar 2341 2341 2346", "2341 2341 2346"),
    "de_idnr": ("Steuer-ID 36 574 261 809", "36 574 261 809"),
    "fr_nir": ("NIR 2 95 10 99 126 111 93", "2 95 10 99 126 111 93"),
    "es_dni": ("DNI 54362315-K", "54362315-K"),
    "es_nie": ("NIE X2482300W", "X2482300W"),
    "it_codicefiscale": ("codice fiscale RCCMNL83S18D969H", "RCCMNL83S18D969H"),
    "nl_bsn": ("BSN 1112.22.333", "1112.22.333"),
    "be_nn": ("rijksregisternummer 85.07.30-033.28", "85.07.30-033.28"),
    "ch_ahv": ("AHV-Nr. 756.9217.0769.85", "756.9217.0769.85"),
    "pl_pesel": ("PESEL 44051401359", "44051401359"),
    "se_personnummer": ("personnummer 880320-0016", "880320-0016"),
    "dk_cpr": ("CPR-nr. 211062-5629", "211062-5629"),
    "no_fodselsnummer": ("fødselsnummer 151086 95088", "151086 95088"),
    "fi_hetu": ("henkilötunnus 131052-308T", "131052-308T"),
}

#: Written forms that stand on their own: masked without a keyword.
SELF_EVIDENT = {"us_ssn", "uk_nino", "br_cpf", "fr_nir", "es_dni", "es_nie", "it_codicefiscale", "be_nn", "ch_ahv", "fi_hetu"}

INVALID = {  # the same shapes with a wrong check digit / impossible date / never issued range
    "us_ssn": "SSN 666-12-3456, SSN 536-00-4399",
    "uk_nhs": "NHS number 943 476 5871",
    "ca_sin": "SIN: 123-456-783",
    "br_cpf": "CPF 231.002.999-00",
    "in_aadhaar": "Aadhaar 2341 2341 2347",
    "de_idnr": "Steuer-ID 36 574 261 890",
    "fr_nir": "NIR 2 95 10 99 126 111 99",
    "es_dni": "DNI 54362315-Z",
    "es_nie": "NIE X2482300A",
    "it_codicefiscale": "codice fiscale RCCMNL83S18D969A",
    "nl_bsn": "BSN 1112.52.333",
    "be_nn": "rijksregisternummer 85.07.30-033.29",
    "ch_ahv": "AHV-Nr. 756.9217.0769.84",
    "pl_pesel": "PESEL 44051401358",
    "se_personnummer": "personnummer 880320-0018",
    "dk_cpr": "CPR-nr. 511062-5629",
    "no_fodselsnummer": "fødselsnummer 151086 95077",
    "fi_hetu": "henkilötunnus 131052-308U",
}


def kinds(text: str) -> list[str]:
    return [e for e, _, _ in find_pii(text)]


@pytest.mark.parametrize("entity", sorted(VALID))
def test_each_national_id_is_found_with_its_keyword(entity: str) -> None:
    written, number = VALID[entity]
    hits = find_pii(f"Customer record. {written}. Thanks!")
    assert [(e, f"Customer record. {written}. Thanks!"[s:t]) for e, s, t in hits] == [(entity, number)]


@pytest.mark.parametrize("entity", sorted(VALID))
def test_keyword_needed_only_for_ambiguous_digit_runs(entity: str) -> None:
    found = kinds(f"ref {VALID[entity][1]} ok")
    assert found == ([entity] if entity in SELF_EVIDENT else [])


@pytest.mark.parametrize("entity", sorted(INVALID))
def test_invalid_check_digits_are_not_masked_even_next_to_the_keyword(entity: str) -> None:
    assert kinds(INVALID[entity]) == []


def test_generated_numbers_cross_check_the_validators() -> None:
    for first8 in ("12345672", "31415926", "27182818", "16180339"):
        number = bsn(first8)
        assert kinds(f"BSN: {number}") == ["nl_bsn"]
        wrong = number[:-1] + str((int(number[-1]) + 1) % 10)
        assert kinds(f"BSN: {wrong}") == []
    for first8 in ("13020152", "27182818", "16180339"):
        assert kinds(f"SIN {luhn_complete(first8)}") == ["ca_sin"]
    for first9 in ("123456789", "314159265", "271828182"):
        assert kinds(f"paid by {cpf(first9)}") == ["br_cpf"]


def test_support_transcript_is_masked() -> None:
    transcript = (
        "Agent: Can you confirm your details?\n"
        "Customer: Sure. My SSN is 536-90-4399 and my Canadian SIN is 123 456 782.\n"
        "Customer: For the Dutch account the BSN is 111222333; the Steuer-IdNr 36574261809.\n"
        "Agent: Thanks. Ticket 4815162342 created at 1700000000, order #100234, refund $1,299.99.\n"
        "Agent: Call back on +31 20 123 4567 or (212) 555-0100, reference 880320-0016.\n"
        "Customer: my personnummer is 19880320-0016 by the way, and my Aadhaar: 2341-2341-2346.\n"
    )
    g = gov({"pii": {}})
    d = g.check_output(tool("support_history"), transcript)
    assert d.verdict == "redact"
    out = d.output
    for gone in ("536-90-4399", "123 456 782", "111222333", "36574261809", "19880320-0016", "2341-2341-2346",
                 "+31 20 123 4567", "(212) 555-0100"):
        assert gone not in out
    for kept in ("4815162342", "1700000000", "#100234", "$1,299.99", "reference 880320-0016"):
        assert kept in out  # ticket numbers, timestamps, amounts; a personnummer-shaped reference without the word
    assert {"pii: us_ssn x1", "pii: ca_sin x1", "pii: nl_bsn x1", "pii: de_idnr x1", "pii: se_personnummer x1",
            "pii: in_aadhaar x1", "pii: phone x2"} == set(d.evidence)


def test_csv_export_uses_the_column_header() -> None:
    rows = ["id,name,bsn,sin,order_no,created,amount"]
    for i, first8 in enumerate(("12345672", "31415926", "27182818", "16180339", "14142135", "17320508")):
        rows.append(f"{i},Person {i},{bsn(first8)},{luhn_complete('2718281' + str(i))},"
                    f"{bsn(first8)},2024-03-1{i} 12:00,{1000 + i}.50")
    export = "\n".join(rows)
    hits = find_pii(export)
    by_kind = [(e, export[s:t]) for e, s, t in hits]
    # each row: its BSN and SIN (named by the header), never the order number with the same digits
    assert [e for e, _ in by_kind].count("nl_bsn") == 6
    rows_out = export.splitlines()
    for i, row in enumerate(rows_out[1:]):
        cells = row.split(",")
        assert ("nl_bsn", cells[2]) in by_kind
        spans = [s for e, s, t in hits if export[s:t] == cells[4]]
        assert len(spans) == 1  # only the bsn column; the order_no cell holds the same digits
    assert all(e in ("nl_bsn", "ca_sin") for e, _ in by_kind)


def test_json_tool_result_uses_field_names() -> None:
    result = {
        "customer": {"name": "Ana", "ssn": "536904399", "bsn": 111222333, "sin": "123456782",
                     "tax_id": "36574261809", "cpf": "39053344705"},
        "orders": [{"order_id": 123456782, "total": 1299.99, "created": 1700000000, "sku": "536904399"}],
    }
    g = gov({"pii": {}})
    d = g.check_output(tool("crm"), result)
    c = d.output["customer"]
    assert c == {"name": "Ana", "ssn": "[US_SSN]", "bsn": "[NL_BSN]", "sin": "[CA_SIN]", "tax_id": "[DE_IDNR]",
                 "cpf": "[BR_CPF]"}
    assert d.output["orders"] == result["orders"]  # same digits under other names are left alone
    as_text = json.dumps(result)
    d2 = g.check_output(tool("crm"), as_text)
    for gone in ("536904399\"", "111222333", "123456782", "36574261809", "39053344705"):
        assert gone not in d2.output.split('"orders"')[0]
    assert '"order_id": 123456782' in d2.output and '"sku": "536904399"' in d2.output


def test_nearest_keyword_decides_between_ids_of_the_same_shape() -> None:
    text = "SSN 536904399, BSN 111222333"
    assert kinds(text) == ["us_ssn", "nl_bsn"]
    assert kinds("BSN: 536904390") == []  # valid as an SSN, but the keyword names a BSN and it is no BSN


def test_ordinary_numbers_are_not_national_ids() -> None:
    benign = (
        "Order 123456782 shipped; invoice 36574261809; ticket 2341 2341 2346; build 880320-0016; "
        "unix 1700000000 and 1700000000123; call 943 476 5870; amount 1 234 567 890; EUR 85.070.300.33; "
        "sha1 3f786850e387550fdab836ed7e6dc881de23001b; uuid 123e4567-e89b-12d3-a456-426614174000; "
        "ISBN 978-3-16-148410-0; version 10.20.30.40; date 2024-03-15T12:30:00Z; part 111-222-333; "
        "in math sin(x) 123456782 and nas 123456782, tin 36574261809 are not keywords"
    )
    assert find_pii(benign) == []


def test_per_entity_effects_for_national_ids() -> None:
    g = gov({"pii": {"entities": {"national_id": "deny", "nl_bsn": "allow", "us_ssn": "redact",
                                  "de_idnr": {"effect": "redact", "replacement": "<steuer-id>"}}}})
    d = g.check_output(tool("crm"), "SSN 536-90-4399, BSN 111222333, Steuer-ID 36574261809")
    assert d.verdict == "redact"
    assert d.output == "SSN [US_SSN], BSN 111222333, Steuer-ID <steuer-id>"
    d = g.check_output(tool("crm"), "DNI 54362315-K")
    assert d.verdict == "deny" and "es_dni" in d.reasons[0]
    g = gov({"pii": {"effect": "allow", "entities": {"national_id": {"effect": "redact", "replacement": "[ID]"}}}})
    d = g.check_output(tool("crm"), "mail a@b.example, SIN 123-456-782, card 4111 1111 1111 1111")
    assert d.output == "mail a@b.example, SIN [ID], card 4111 1111 1111 1111"


def test_old_entity_names_keep_working() -> None:
    g = gov({"pii": {"entities": {"us_ssn": "deny", "uk_nino": {"effect": "redact", "replacement": "[NINO]"}}}})
    assert g.check_output(tool("t"), "NINO AB 12 34 56 C").output == "NINO [NINO]"
    assert g.check_output(tool("t"), "ssn 536-90-4399").verdict == "deny"


@pytest.mark.parametrize("section,field,needle", [
    ({"entities": {"national_ids": "redact"}}, "entities.national_ids", "national_id"),
    ({"entities": {"national_id": "mask"}}, "entities.national_id.effect", "not one of"),
    ({"entities": {"de_idnr": {"effect": "deny", "countries": ["de"]}}}, "entities.de_idnr.countries", "unknown setting"),
    ({"entities": {"national_id": {"replacement": 3}}}, "entities.national_id.replacement", "must be a string"),
    ({"entities": {"nl_bsn": ["deny"]}}, "entities.nl_bsn", "must be an effect"),
])
def test_national_id_config_errors_name_the_field(section: dict, field: str, needle: str) -> None:
    with pytest.raises(lictor.PolicyError) as e:
        gov({"pii": section})
    assert f"protections.pii.{field}" in str(e.value) and needle in str(e.value)
