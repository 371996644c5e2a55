"""Importing an adapter without its framework says which extra to install."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

ADAPTERS = {
    "lictor_langgraph": ("langgraph", ["langgraph", "langchain", "langchain_core"]),
    "lictor_autogen": ("autogen", ["autogen_agentchat", "autogen_core", "autogen_ext"]),
    "lictor_crewai": ("crewai", ["crewai"]),
}


@pytest.mark.parametrize("module", sorted(ADAPTERS))
def test_adapter_import_names_the_missing_extra(module: str) -> None:
    extra, frameworks = ADAPTERS[module]
    # A fresh interpreter: pytest's own sys.path holds tests/<framework> folders that would
    # pass for the frameworks themselves.
    code = textwrap.dedent(f"""
        import json, sys
        from importlib.util import find_spec
        missing = [m for m in {frameworks!r} if find_spec(m) is None]
        try:
            import {module}
            print(json.dumps([missing, None]))
        except ImportError as exc:
            print(json.dumps([missing, str(exc)]))
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd="/",
                       env={"CREWAI_DISABLE_TELEMETRY": "true", "OTEL_SDK_DISABLED": "true",
                            "CREWAI_TRACING_ENABLED": "false", "PATH": "/usr/bin:/bin"})
    missing, error = json.loads(r.stdout.strip().splitlines()[-1])
    if missing:
        assert error == f"{module} needs {', '.join(missing)}: pip install 'lictor[{extra}]'"
    else:
        assert error is None
