"""Loading policies: every problem names file, line and field; nothing is half applied."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

import lictor
from lictor import PolicyError


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "policy.yaml"
    p.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return p


def problems_of(path: Path) -> list[str]:
    with pytest.raises(PolicyError) as info:
        lictor.Governor.from_file(path, load_entrypoints=False)
    return info.value.problems


def test_misspelt_effect_names_file_line_field_and_choices(tmp_path: Path) -> None:
    p = write(tmp_path, """
        version: 1
        rules:
          - id: a
            effect: deny
          - id: b
            effect: allow
          - id: c
            effect: dny
        """)
    (msg,) = problems_of(p)
    assert msg.startswith(f"{p}:8 rules[2].effect: 'dny' is not one of allow, deny, approve, redact")
    assert "did you mean 'deny'" in msg


def test_unknown_key_is_an_error_with_suggestion(tmp_path: Path) -> None:
    p = write(tmp_path, """
        rules:
          - id: a
            whenn: "args.x > 1"
            effect: deny
        """)
    (msg,) = problems_of(p)
    assert f"{p}:3 rules[0].whenn: unknown key 'whenn' (did you mean 'when'?)" in msg


def test_all_problems_are_reported_together(tmp_path: Path) -> None:
    p = write(tmp_path, """
        mode: enforcing
        rules:
          - id: a
            match: {kind: tool_cal}
            effect: deny
          - id: b
            limit: {count: 0, per: 10x}
        """)
    msgs = problems_of(p)
    joined = "\n".join(msgs)
    assert f"{p}:1 mode: 'enforcing' is not one of enforce, monitor" in joined
    assert f"{p}:4 rules[0].match.kind" in joined and "'tool_cal'" in joined
    assert "rules[1].limit.count" in joined
    assert "rules[1].limit.per: '10x' is not a duration" in joined
    assert len(msgs) == 4


@pytest.mark.parametrize(
    "when, expected",
    [
        ("args.amount >", "CEL syntax error at line 1, column 14"),
        ("argz.amount > 1", "unknown variable 'argz' in 'argz.amount > 1' (did you mean 'args'?)"),
        ("lower(name) == 'x'", "unknown function 'lower'"),
        ("output == 'x'", "unknown variable 'output'"),
    ],
)
def test_bad_condition_names_rule_id_and_line(tmp_path: Path, when: str, expected: str) -> None:
    p = write(tmp_path, f"""
        rules:
          - id: fine
            effect: allow
          - id: broken-rule
            when: {when!r}
            effect: deny
        """)
    (msg,) = problems_of(p)
    assert msg.startswith(f"{p}:5 rules[1].when (rule 'broken-rule'): ")
    assert expected in msg


def test_duplicate_rule_ids_and_duplicate_keys(tmp_path: Path) -> None:
    p = write(tmp_path, """
        rules:
          - id: same
            effect: deny
          - id: same
            effect: allow
        """)
    (msg,) = problems_of(p)
    assert f"{p}:4 rules[1].id: rule id 'same' is already used by rules[0]" in msg
    p = write(tmp_path, """
        default: deny
        default: allow
        """)
    (msg,) = problems_of(p)
    assert f"{p}:2 default: key given twice (first on line 1)" in msg


def test_yaml_syntax_error_names_line(tmp_path: Path) -> None:
    p = write(tmp_path, "rules:\n  - id: a\n   effect: deny\n")
    (msg,) = problems_of(p)
    assert msg.startswith(f"{p}:3 (YAML)")


def test_on_and_yes_are_strings_not_booleans(tmp_path: Path) -> None:
    # PyYAML's YAML 1.1 would turn `on:` into True and break every `protections.x.on` section.
    pol = lictor.load_policy_text("plugins: {config: {x: {on: [message], flag: yes}}}")
    assert pol.plugins.config["x"] == {"on": ["message"], "flag": "yes"}


def test_section_for_a_plugin_that_is_not_loaded_is_an_error(tmp_path: Path) -> None:
    p = write(tmp_path, """
        protections:
          pii_scanner: {effect: redact}
        """)
    (msg,) = problems_of(p)
    assert msg.startswith(f"{p}:2 protections.pii_scanner: no plugin named 'pii_scanner' is loaded")


def test_plugin_config_error_blocks_the_governor(tmp_path: Path) -> None:
    class Strict:
        name = "strict"

        @lictor.hookimpl
        def lictor_configure(self, policy, ctx):
            cfg = policy.section("strict") or {}
            if cfg.get("level") not in ("low", "high"):
                raise ValueError(f"level: {cfg.get('level')!r} is not one of low, high")

    p = write(tmp_path, """
        plugins:
          config:
            strict: {level: medium}
        """)
    with pytest.raises(PolicyError) as info:
        lictor.Governor.from_file(p, plugins=[Strict()], load_entrypoints=False)
    assert f"{p}:3 plugin 'strict': level: 'medium' is not one of low, high" in str(info.value)


def test_missing_file_and_non_mapping(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read the policy file"):
        lictor.Governor.from_file(tmp_path / "nope.yaml")
    p = write(tmp_path, "- just\n- a list\n")
    (msg,) = problems_of(p)
    assert "a policy is a mapping" in msg


def test_from_dict_reports_paths_without_lines() -> None:
    with pytest.raises(PolicyError) as info:
        lictor.Governor.from_dict({"rules": [{"id": "x", "effect": "maybe"}]}, load_entrypoints=False)
    assert "<dict> rules[0].effect: 'maybe' is not one of" in str(info.value)


def test_rule_shape_errors() -> None:
    cases = [
        ({"id": "x"}, "needs an 'effect'"),
        ({"id": "x", "effect": "redact"}, "needs a 'redact' section"),
        ({"id": "x", "effect": "deny", "redact": {"args": ["a"]}}, "only makes sense with effect 'redact'"),
        ({"id": "x", "effect": "redact", "redact": {"patterns": ["("]}}, "not a valid regular expression"),
        ({"id": "x", "effect": "allow", "limit": {"count": 1, "per": 1}}, "must be deny or approve"),
        ({"id": "x", "effect": "deny", "risks": ["ASI11"]}, "'ASI11' is not one of ASI01"),
        ({"id": "x", "phase": "output", "effect": "approve"}, "output rules may allow, deny or redact"),
    ]
    for rule, expected in cases:
        with pytest.raises(PolicyError) as info:
            lictor.Governor.from_dict({"rules": [rule]}, load_entrypoints=False)
        assert expected in str(info.value), (rule, str(info.value))


def test_valid_policy_has_stable_hash(tmp_path: Path) -> None:
    text = "rules:\n  - {id: a, effect: deny, match: {name: x}}\n"
    a = lictor.load_policy_text(text)
    b = lictor.load_policy_text(text + "# a comment changes nothing\n")
    c = lictor.load_policy_text(text.replace("deny", "allow"))
    assert a.hash == b.hash != c.hash and len(a.hash) == 64
