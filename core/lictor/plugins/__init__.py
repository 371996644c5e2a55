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


#: name -> factory, in registration order.
BUILTINS: dict[str, Callable[[], Any]] = {
    "rules": RulesPlugin,
    "kill_switch": KillSwitchPlugin,
    "audit": _audit,
}
