"""CLI commands that belong to the built-in protections (``init``, ``coverage``, ``lock``).

Kept apart from cli.py so the protections can grow their commands without touching the core CLI.

* ``lictor lock SPECS... [--import module:attr] [--output lictor.lock.json]`` pins tool
  definitions for ``tool_pinning``. ``SPECS`` are JSON or YAML files holding a list of tool specs
  (``{name, description, schema}``; ``parameters`` / ``inputSchema`` / ``input_schema`` are read as
  the schema too) or a mapping ``{name: {description, schema}}``; ``--import`` names a Python
  object (a list of tools, or a function returning one) whose items are dicts or framework tool
  objects (LangChain, MCP, CrewAI: anything with ``name``, ``description`` and a schema).
* ``lictor init --pack support|finance|healthcare [--output policy.yaml]`` writes a ready-made
  policy pack.
* ``lictor coverage POLICY`` prints which OWASP ASI risks the policy's protections and rules cover.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path
from typing import Any, Mapping

from .policy.schema import RISK_TITLES

__all__ = ["register_protection_commands", "PROTECTION_RISKS", "PACKS", "pack_path", "coverage"]

#: Which OWASP Top 10 for Agentic Applications risks each built-in protection addresses.
PROTECTION_RISKS: dict[str, tuple[str, ...]] = {
    "prompt_injection": ("ASI01",),
    "provenance": ("ASI01", "ASI02"),
    "tool_access": ("ASI02",),
    "egress": ("ASI02",),
    "budgets": ("ASI02", "ASI08"),
    "delegation": ("ASI03",),
    "secrets": ("ASI03",),
    "pii": ("ASI03",),
    "tool_pinning": ("ASI04",),
    "code_exec": ("ASI05",),
    "memory_guard": ("ASI06",),
    "message_signing": ("ASI07",),
    "loops": ("ASI08",),
    "circuit_breaker": ("ASI08",),
    "human_trust": ("ASI09",),
    "baseline": ("ASI10",),
}


PACKS = ("support", "finance", "healthcare")


def pack_path(name: str) -> Path:
    """The YAML file of a shipped policy pack."""
    if name not in PACKS:
        raise ValueError(f"no pack named {name!r}; packs: {', '.join(PACKS)}")
    return Path(__file__).parent / "protections" / "packs" / f"{name}.yaml"


def _out(text: str = "") -> None:
    sys.stdout.write(text + "\n")


def _err(text: str) -> None:
    sys.stderr.write(text + "\n")


# -- lock ------------------------------------------------------------------------------------

def _specs_from_file(path: Path) -> list[Any]:
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        data = yaml.safe_load(text)
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not JSON ({exc.msg}, line {exc.lineno}); YAML files need a .yaml suffix") from None
    if isinstance(data, Mapping) and "tools" in data and isinstance(data["tools"], (list, Mapping)):
        data = data["tools"]
    if isinstance(data, Mapping):
        return [{"name": k, **(v if isinstance(v, Mapping) else {"description": v})} for k, v in data.items()]
    if isinstance(data, list):
        return data
    raise ValueError(f"{path}: expected a list of tool specs or a mapping of name -> spec")


def _specs_from_import(target: str) -> list[Any]:
    module, _, attr = target.partition(":")
    if not module or not attr:
        raise ValueError(f"--import {target!r}: use module.path:attribute")
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    if callable(obj) and not isinstance(obj, (list, tuple)):
        obj = obj()
    if isinstance(obj, Mapping):
        obj = list(obj.values())
    return list(obj)


def cmd_lock(args: argparse.Namespace) -> int:
    from .protections.tool_pinning import write_lock

    specs: list[Any] = []
    try:
        for p in args.specs:
            specs.extend(_specs_from_file(Path(p)))
        for target in args.imports or ():
            specs.extend(_specs_from_import(target))
        if not specs:
            _err("lictor lock: no tools given (pass spec files and/or --import module:attr)")
            return 2
        data = write_lock(specs, args.output)
    except (ValueError, ImportError, AttributeError) as exc:
        _err(f"lictor lock: {exc}")
        return 2
    _out(f"pinned {len(data['tools'])} tool(s) in {args.output}:")
    for name, entry in data["tools"].items():
        _out(f"  {name:<32} sha256 {entry['sha256'][:16]}…")
    return 0


# -- init ------------------------------------------------------------------------------------

def cmd_init(args: argparse.Namespace) -> int:
    try:
        src = pack_path(args.pack)
    except ValueError as exc:
        _err(f"lictor init: {exc}")
        return 2
    out = Path(args.output)
    if out.exists() and not args.force:
        _err(f"lictor init: {out} exists; pass --force to overwrite")
        return 2
    text = src.read_text(encoding="utf-8")
    out.write_text(text, encoding="utf-8")
    _out(f"wrote the {args.pack} pack to {out}")
    # Packs that sign messages read their key from the environment: say so before validate fails.
    import yaml

    data = yaml.safe_load(text) or {}
    env = ((data.get("protections") or {}).get("message_signing") or {}).get("key_env")
    if env:
        _out(f"this pack signs inter-agent messages: set {env} to a secret of at least 16 bytes "
             f"(e.g. export {env}=$(python3 -c 'import secrets; print(secrets.token_hex(32))'))")
    _out(f"next: lictor validate {out}   and   lictor coverage {out}")
    return 0


# -- coverage --------------------------------------------------------------------------------

def coverage(policy: Any) -> dict[str, list[str]]:
    """``{ASI id: [what covers it]}`` for a :class:`~lictor.Policy` (empty list: open)."""
    out: dict[str, list[str]] = {r: [] for r in RISK_TITLES}
    disabled = set(policy.plugins.disable)
    for name in policy.protections:
        if name in disabled:
            continue
        for r in PROTECTION_RISKS.get(name, ()):
            out[r].append(f"protection {name}")
    for rule in policy.rules:
        for r in rule.risks:
            out[r].append(f"rule {rule.id}")
    if "kill_switch" not in disabled:
        out["ASI08"].append("kill switch (always on: gov.kill_switch)")
    return out


def cmd_coverage(args: argparse.Namespace) -> int:
    from .policy.loader import load_policy_file

    policy = load_policy_file(args.policy)
    cov = coverage(policy)
    open_risks = [r for r, what in cov.items() if not what or what == ["kill switch (always on: gov.kill_switch)"]]
    if args.json:
        _out(json.dumps({"covered": {r: w for r, w in cov.items() if r not in open_risks},
                         "open": open_risks}, indent=2))
    else:
        _out(f"OWASP Top 10 for Agentic Applications coverage of {args.policy}:")
        for r, title in RISK_TITLES.items():
            what = cov[r]
            mark = "open   " if r in open_risks else "covered"
            _out(f"  {r} {mark} {title:<40} {', '.join(what) if what else '-'}")
        _out(f"{10 - len(open_risks)}/10 covered" + (f"; open: {', '.join(open_risks)}" if open_risks else ""))
    return 0 if not open_risks or not args.strict else 1


def register_protection_commands(sub: "argparse._SubParsersAction[Any]") -> None:
    """Add the protections' subcommands to the ``lictor`` parser."""
    s = sub.add_parser("lock", help="pin tool definitions (name, description, schema) for tool_pinning")
    s.add_argument("specs", nargs="*", help="JSON/YAML files: a list of {name, description, schema} or {name: spec}")
    s.add_argument("--import", dest="imports", action="append", metavar="MODULE:ATTR",
                   help="a Python list of tools (or a function returning one), e.g. myapp.tools:TOOLS")
    s.add_argument("--output", "-o", default="lictor.lock.json", help="where to write the lock (default lictor.lock.json)")
    s.set_defaults(func=cmd_lock)

    s = sub.add_parser("init", help="write a ready-made policy pack (support, finance, healthcare)")
    s.add_argument("--pack", required=True, choices=PACKS)
    s.add_argument("--output", "-o", default="policy.yaml")
    s.add_argument("--force", action="store_true", help="overwrite an existing file")
    s.set_defaults(func=cmd_init)

    s = sub.add_parser("coverage", help="which OWASP ASI risks a policy covers and which it leaves open")
    s.add_argument("policy")
    s.add_argument("--json", action="store_true")
    s.add_argument("--strict", action="store_true", help="exit 1 when any risk is open")
    s.set_defaults(func=cmd_coverage)

