"""ASI04 supply chain: tools are pinned by a hash of their name, description and parameter schema.

Adapters pass the tool's definition with each call in ``metadata["tool"] = {"description": ...,
"schema": {...}}``. The fingerprint is the SHA-256 of the canonical JSON (sorted keys) of
``{"name", "description", "schema"}``. A tool is pinned either by a lock file written with
``lictor lock`` or, for tools the lock does not list, on first sight. A call whose tool
definition differs from the pin (a "rug pull": a server that swaps a tool's description for one
carrying instructions, or widens its schema) is refused; in ``strict`` mode so is any tool the
lock does not list.

Entry-point plugins (third-party code that runs inside every decision) can be allow-listed:
with ``allowed_plugins`` set, a plugin loaded from the ``lictor`` entry-point group that is not
listed stops the Governor from being built (``unlisted_plugins: refuse``, default) or is
unloaded (``unlisted_plugins: unload``).
"""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional

import orjson

from ..errors import PolicyError
from ..hookspecs import hookimpl
from ..models import Action, Decision
from ._common import KindScoped, Section

__all__ = ["ToolPinningPlugin", "tool_fingerprint", "tool_spec", "write_lock", "read_lock", "LOCK_VERSION"]

LOCK_VERSION = 1
_MAX_PINS = 100_000


_dumps = orjson.dumps
_SORT = orjson.OPT_SORT_KEYS


def _canonical(name: str, description: Any, schema: Any) -> bytes:
    return orjson.dumps({"name": name, "description": description or "", "schema": schema or {}},
                        option=orjson.OPT_SORT_KEYS)


def tool_fingerprint(name: str, description: Any = "", schema: Any = None) -> str:
    """SHA-256 (hex) of a tool's canonical definition; what the lock file and pins store."""
    return hashlib.sha256(_canonical(name, description, schema)).hexdigest()


def tool_spec(obj: Any) -> dict[str, Any]:
    """``{"name", "description", "schema"}`` of a tool given as a dict or a framework object
    (LangChain ``BaseTool``, MCP ``Tool``, CrewAI tools, anything with ``name`` and
    ``description`` and a schema in ``schema`` / ``args_schema`` / ``inputSchema`` /
    ``input_schema`` / ``parameters``)."""
    if isinstance(obj, Mapping):
        get = obj.get
    else:
        def get(k: str, default: Any = None) -> Any:
            return getattr(obj, k, default)
    name = get("name")
    if not isinstance(name, str) or not name:
        raise ValueError(f"a tool spec needs a non-empty 'name', got {obj!r:.80}")
    description = get("description") or ""
    schema: Any = None
    for key in ("schema", "inputSchema", "input_schema", "parameters", "args_schema"):
        value = get(key)
        if value is None:
            continue
        if isinstance(value, type) and hasattr(value, "model_json_schema"):
            value = value.model_json_schema()
        elif hasattr(value, "model_json_schema") and callable(value.model_json_schema):
            value = value.model_json_schema()
        schema = value
        break
    if schema is None:
        schema = {}
    orjson.dumps(schema, option=orjson.OPT_SORT_KEYS)  # must be JSON
    return {"name": name, "description": str(description), "schema": schema}


def write_lock(specs: Iterable[Mapping[str, Any]], path: str | Path) -> dict[str, Any]:
    """Write a lock file pinning ``specs`` (dicts with name/description/schema); returns it."""
    tools: dict[str, Any] = {}
    for spec in specs:
        s = tool_spec(spec)
        if s["name"] in tools:
            raise ValueError(f"tool '{s['name']}' is listed twice")
        tools[s["name"]] = {"sha256": tool_fingerprint(s["name"], s["description"], s["schema"]),
                            "description": s["description"][:200]}
    data = {"lictor_lock": LOCK_VERSION, "tools": dict(sorted(tools.items()))}
    Path(path).write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return data


def read_lock(path: str | Path) -> dict[str, str]:
    """``{tool name: sha256}`` from a lock file; raises ValueError saying what is wrong."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"cannot read lock file {str(path)!r}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"lock file {str(path)!r} is not JSON ({exc.msg}, line {exc.lineno})") from None
    if not isinstance(data, dict) or data.get("lictor_lock") != LOCK_VERSION or not isinstance(data.get("tools"), dict):
        raise ValueError(f"lock file {str(path)!r} is not a Lictor lock (expected {{\"lictor_lock\": 1, \"tools\": {{...}}}}; "
                         f"write one with `lictor lock`)")
    out = {}
    for name, entry in data["tools"].items():
        h = entry.get("sha256") if isinstance(entry, dict) else None
        if not isinstance(h, str) or len(h) != 64:
            raise ValueError(f"lock file {str(path)!r}: tool {name!r} has no valid sha256")
        out[str(name)] = h
    return out


class ToolPinningPlugin(KindScoped):
    """Refuses changed ("rug pull") and, in strict mode, unknown tools; allow-lists entry-point
    plugins (ASI04). Registered as ``tool_pinning``; inactive without its section."""

    name = "tool_pinning"
    risks = ("ASI04",)

    def __init__(self) -> None:
        self.active = False
        self._kinds: frozenset[str] = frozenset()
        self._locked: dict[str, str] = {}
        self._pins: dict[str, str] = {}  # first-sight pins: name -> sha256
        self._seen: dict[str, bytes] = {}  # name -> canonical bytes that matched the pin
        self._strict = False
        self._require_spec = False
        self._effect = "deny"
        self._lock = threading.Lock()

    @hookimpl
    def lictor_configure(self, policy: Any, ctx: Any) -> None:
        sec = Section(policy, self.name)
        self.active = sec.present
        if not self.active:
            return
        self._kinds = sec.kinds("on", ("tool_call",))
        lock_path = sec.string("lock", None)
        self._strict = sec.boolean("strict", False)
        self._require_spec = sec.boolean("require_spec", False)
        self._effect = sec.effect("on_change")
        allowed = sec.strings("allowed_plugins", ()) if sec.has("allowed_plugins") else None
        unlisted = sec.choice("unlisted_plugins", ("refuse", "unload"), "refuse")
        sec.done(("on", "lock", "strict", "require_spec", "on_change", "allowed_plugins", "unlisted_plugins"))
        self._locked = {}
        if lock_path is not None:
            path = Path(lock_path)
            src = getattr(policy, "source", "")
            if not path.is_absolute() and src and not src.startswith("<"):
                path = Path(src).parent / path
            try:
                self._locked = read_lock(path)
            except ValueError as exc:
                sec.error("lock", str(exc))
        elif self._strict:
            sec.error("strict", "strict mode refuses every tool the lock file does not list: set 'lock' "
                                "(write one with `lictor lock`)")
        sec.raise_problems()
        self._pins, self._seen = {}, {}
        if allowed is not None:
            self._check_plugins(ctx.governor, frozenset(allowed), unlisted, sec)

    def _check_plugins(self, gov: Any, allowed: frozenset[str], unlisted: str, sec: Section) -> None:
        pm = gov.pm
        outsiders = []
        for plugin, dist in pm.list_plugin_distinfo():
            name = pm.get_name(plugin)
            if name not in allowed:
                outsiders.append((name, plugin, f"{dist.project_name} {dist.version}"))
        if not outsiders:
            return
        if unlisted == "refuse":
            listed = ", ".join(f"'{n}' (from {d})" for n, _, d in outsiders)
            raise PolicyError(f"{sec.where(('allowed_plugins',))}: entry-point plugin(s) {listed} are not in "
                              f"allowed_plugins; add them there, uninstall them, or start with "
                              f"LICTOR_NO_ENTRYPOINTS=1")
        for name, plugin, _ in outsiders:
            pm.unregister(plugin)
            pm.set_blocked(name)

    def _vote(self, why: str) -> Decision:
        return Decision.vote(self._effect, why, rule_id="tool_pinning", risks=self.risks)

    @hookimpl
    def lictor_check_action(self, action: Action, ctx: Any) -> Optional[Decision]:
        if not self.active or action.kind not in self._kinds:
            return None
        name = action.name
        locked = self._locked.get(name)
        if locked is None and self._strict:
            return Decision.deny(f"tool '{name}' is not in the lock file (tool_pinning strict mode)",
                                 rule_id="tool_pinning", risks=self.risks)
        md = action.metadata
        spec = md.get("tool") if md else None
        if type(spec) is not dict and not isinstance(spec, Mapping):
            if self._require_spec:
                return Decision.deny(f"tool '{name}' came without its definition (metadata.tool); cannot verify its pin",
                                     rule_id="tool_pinning", risks=self.risks)
            return None
        try:
            # _canonical(), inlined: the one serialisation a pinned tool costs per call
            canon = _dumps({"name": name, "description": spec.get("description") or "", "schema": spec.get("schema") or {}},
                           option=_SORT)
        except (TypeError, orjson.JSONEncodeError) as exc:
            return Decision.deny(f"tool '{name}': definition is not JSON ({exc}); denied (fail closed)",
                                 rule_id="tool_pinning", risks=self.risks)
        if self._seen.get(name) == canon:
            return None
        digest = hashlib.sha256(canon).hexdigest()
        with self._lock:
            expected = locked or self._pins.get(name)
            if expected is None:
                if len(self._pins) < _MAX_PINS:
                    self._pins[name] = digest
                    self._seen[name] = canon
                return None
        if digest == expected:
            self._seen[name] = canon
            return None
        where = "the lock file" if locked else "its first sight in this Governor"
        return self._vote(f"tool '{name}' changed since {where} (definition sha256 {digest[:12]}…, pinned "
                          f"{expected[:12]}…): possible rug pull")
