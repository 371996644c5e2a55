"""Built-in protections for the OWASP Top 10 for Agentic Applications (ASI01-ASI10).

Each protection is an ordinary plugin on Lictor's hooks, registered under its name and
configured by its own ``protections.<name>`` section of the policy.
"""

from __future__ import annotations

from typing import Any, Callable

__all__ = ["PROTECTIONS"]

#: name -> factory, in registration order; merged into the Governor's built-in plugins.
PROTECTIONS: dict[str, Callable[[], Any]] = {}
