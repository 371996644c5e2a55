"""The README's promises: the plugin example runs, and the Quickstart holds exactly two commands."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def _section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    m = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", text, re.M | re.S)
    assert m, f"README has no section {title!r}"
    return m.group(1)


def test_plugin_example_runs_as_written(capsys) -> None:
    blocks = re.findall(r"```python\n(.*?)```", _section("Writing a plugin"), re.S)
    assert blocks, "no python example in 'Writing a plugin'"
    namespace: dict = {}
    exec(compile(blocks[0], "README.md:writing-a-plugin", "exec"), namespace)
    assert capsys.readouterr().out.strip() == "allow"
    import lictor

    gov = lictor.Governor.from_dict(
        {"plugins": {"config": {"business_hours": {"tools": ["pay"], "hours": [9, 17]}}}},
        plugins=[namespace["BusinessHours"]()], load_entrypoints=False, clock=lambda: 3 * 3600.0,
    )
    d = gov.check(lictor.Action(kind="tool_call", agent="a", name="pay"))
    assert d.verdict == "deny" and d.rule_ids == ("business-hours",)
    gov.close()


def test_quickstart_has_exactly_two_commands() -> None:
    blocks = re.findall(r"```[a-z]*\n(.*?)```", _section("Quickstart"), re.S)
    lines = [l for b in blocks for l in b.splitlines() if l.strip() and not l.strip().startswith("#")]
    assert len(lines) == 2 and "lictor demo" in lines[0] and "tox" in lines[1]
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    assert lines[1] in ci, ".ci/run must run exactly the README's test command"
