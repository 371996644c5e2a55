"""Turn a YAML file or a dict into a validated :class:`Policy`, or explain exactly what is wrong.

Every message names the file, the line and the field, and says what was expected, e.g.::

    policy.yaml:14 rules[2].effect: 'dny' is not one of allow, deny, approve, redact

All problems found are reported together, and nothing is applied when there is any.
"""

from __future__ import annotations

import difflib
import re
import hashlib
from pathlib import Path
from typing import Any, Optional, Union, get_args, get_origin

import orjson
import yaml
from pydantic import BaseModel, ValidationError

from ..errors import PolicyError
from .schema import Policy

__all__ = ["load_policy_file", "load_policy_text", "policy_from_dict", "format_path"]


class _PolicyYamlLoader(yaml.SafeLoader):
    """YAML 1.2 booleans: only true/false. PyYAML's 1.1 rules read ``on:``, ``yes`` and ``no``
    as booleans, which would turn ``protections: {pii: {on: [...]}}`` into a ``True`` key."""


_PolicyYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_PolicyYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def format_path(path: tuple[Any, ...]) -> str:
    """``("rules", 2, "effect")`` -> ``rules[2].effect``."""
    out = ""
    for p in path:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            out += ("." if out else "") + str(p)
    return out or "(top level)"


class _Lines:
    """Finds the line of a path (``("rules", 2, "when")``) in the composed YAML node tree."""

    def __init__(self, root: Optional[yaml.Node]):
        self.root = root

    def __call__(self, path: tuple[Any, ...]) -> Optional[int]:
        node = self.root
        if node is None:
            return None
        line = node.start_mark.line + 1
        for part in path:
            nxt = None
            if isinstance(node, yaml.MappingNode):
                for k, v in node.value:
                    if k.value == str(part):
                        # A missing/unknown key is best reported at the key itself.
                        nxt = v
                        line = k.start_mark.line + 1
                        break
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
                if 0 <= part < len(node.value):
                    nxt = node.value[part]
            if nxt is None:
                return line
            node = nxt
            line = node.start_mark.line + 1
        return line


def _duplicate_keys(node: Optional[yaml.Node], source: str, path: tuple[Any, ...] = ()) -> list[str]:
    """PyYAML keeps the last of two equal keys silently; a policy must not."""
    problems: list[str] = []
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for k, v in node.value:
            key = str(k.value)
            if key in seen:
                problems.append(
                    f"{source}:{k.start_mark.line + 1} {format_path(path + (key,))}: "
                    f"key given twice (first on line {seen[key]}); keep one"
                )
            else:
                seen[key] = k.start_mark.line + 1
            problems += _duplicate_keys(v, source, path + (key,))
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            problems += _duplicate_keys(v, source, path + (i,))
    return problems


def _model_at(path: tuple[Any, ...]) -> Optional[type[BaseModel]]:
    """The pydantic model that validates the mapping found at ``path`` (for "expected keys")."""
    model: Any = Policy
    for part in path:
        if isinstance(part, int):
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return None
        field = model.model_fields.get(str(part))
        if field is None:
            return None
        model = _unwrap(field.annotation)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _unwrap(annotation: Any) -> Any:
    """Optional[X] / List[X] / Dict[str, X] / Annotated[X, ...] -> X."""
    for _ in range(5):
        origin = get_origin(annotation)
        if origin is None:
            return annotation
        args = [a for a in get_args(annotation) if a is not type(None)]
        if not args:
            return annotation
        annotation = args[-1] if origin in (dict,) else args[0]
    return annotation


def _describe(err: Any, path: tuple[Any, ...]) -> str:
    kind = err.get("type", "")
    value = err.get("input")
    if kind == "extra_forbidden":
        key = str(path[-1]) if path else "?"
        model = _model_at(path[:-1])
        expected = sorted(model.model_fields) if model else []
        hint = ""
        close = difflib.get_close_matches(key, expected, n=1)
        if close:
            hint = f" (did you mean '{close[0]}'?)"
        allowed = f"; expected one of {', '.join(expected)}" if expected else ""
        return f"unknown key '{key}'{hint}{allowed}"
    if kind == "literal_error":
        wanted = str(err.get("ctx", {}).get("expected", ""))
        options = [o.strip().strip("'") for o in wanted.replace(" or ", ", ").split(",") if o.strip()]
        hint = ""
        close = difflib.get_close_matches(str(value), options, n=1)
        if close:
            hint = f" (did you mean '{close[0]}'?)"
        return f"{value!r} is not one of {', '.join(options)}{hint}"
    if kind == "missing":
        return "required field is missing"
    msg = str(err.get("msg", "invalid value"))
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if kind.endswith("_type") or kind.endswith("_parsing"):
        return f"{msg} (got {value!r})"
    return msg


def _validation_problems(exc: ValidationError, source: str, lines: _Lines) -> list[str]:
    problems = []
    for err in exc.errors(include_url=False):
        # pydantic adds function-validator tags to paths ("function-before[...]"); drop them.
        path = tuple(p for p in err["loc"] if isinstance(p, int) or "[" not in str(p))
        line = lines(path)
        where = f"{source}:{line}" if line else source
        problems.append(f"{where} {format_path(path)}: {_describe(err, path)}")
    return problems


def _build(data: Any, source: str, root: Optional[yaml.Node]) -> Policy:
    lines = _Lines(root)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise PolicyError(f"{source}:1 (top level): a policy is a mapping of keys (version, rules, ...), got {type(data).__name__}")
    problems = _duplicate_keys(root, source)
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        raise PolicyError(problems + _validation_problems(exc, source, lines)) from None
    if problems:
        raise PolicyError(problems)
    policy._source = source
    policy._locate = lines
    policy._hash = hashlib.sha256(
        orjson.dumps(policy.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
    ).hexdigest()
    return policy


def load_policy_text(text: str, source: str = "<policy>") -> Policy:
    """Parse and validate YAML policy text; ``source`` names it in error messages."""
    try:
        root = yaml.compose(text, Loader=_PolicyYamlLoader)
        data = yaml.load(text, Loader=_PolicyYamlLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise PolicyError(f"{source}{line} (YAML): {problem}") from None
    return _build(data, source, root)


def load_policy_file(path: Union[str, Path]) -> Policy:
    """Read, parse and validate a policy file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"{p}: cannot read the policy file ({exc.strerror or exc})") from None
    return load_policy_text(text, source=str(p))


def policy_from_dict(data: Any, source: str = "<dict>") -> Policy:
    """Validate a policy given as a dict (the same shape as the YAML file)."""
    if isinstance(data, Policy):
        return data
    return _build(data, source, None)
