"""Built-in plugins: ordinary plugins on Lictor's hooks, registered by name like any other.

``BUILTINS`` lists them in registration order; a policy blocks one with
``plugins: {disable: [name]}``.
"""

from __future__ import annotations

from typing import Any, Callable

from .killswitch import KillSwitchPlugin
from .rules import RulesPlugin

__all__ = ["BUILTINS"]


def _audit() -> Any:
    from ..audit.plugin import AuditPlugin

    return AuditPlugin()


def _builtins() -> dict[str, Callable[[], Any]]:
    from ..protections import PROTECTIONS

    out: dict[str, Callable[[], Any]] = {"rules": RulesPlugin, "kill_switch": KillSwitchPlugin}
    out.update(PROTECTIONS)
    out["audit"] = _audit
    return out


#: name -> factory, in registration order: rules, kill switch, the protections, the audit trail.
BUILTINS: dict[str, Callable[[], Any]] = _builtins()
