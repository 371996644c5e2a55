"""CLI commands that belong to the built-in protections (``init``, ``coverage``, ``lock``).

Kept apart from cli.py so the protections can grow their commands without touching the core CLI.
"""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["register_protection_commands"]


def register_protection_commands(sub: "argparse._SubParsersAction[Any]") -> None:
    """Add the protections' subcommands to the ``lictor`` parser (none yet)."""
