"""The core knows no framework: importing every module of `lictor` loads none of them."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_importing_every_core_module_loads_no_framework() -> None:
    code = textwrap.dedent("""
        import importlib, pkgutil, sys
        import lictor
        names = [m.name for m in pkgutil.walk_packages(lictor.__path__, "lictor.")]
        for name in names:
            if name == "lictor.__main__":
                continue
            importlib.import_module(name)
        frameworks = ("langgraph", "langchain", "langchain_core", "autogen_agentchat", "autogen_core", "crewai")
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in frameworks)
        print(len(names), loaded)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120).stdout
    count, loaded = out.split(" ", 1)
    assert int(count) > 20 and loaded.strip() == "[]", out
