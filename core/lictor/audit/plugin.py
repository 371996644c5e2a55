"""Temporary: interface of the audit plugin, to be replaced by the real implementation."""
from typing import Any
from ..hookspecs import hookimpl


class AuditPlugin:
    name = "audit"
    active = False

    @hookimpl
    def lictor_configure(self, policy: Any, ctx: Any) -> None:
        self.active = policy.audit is not None and policy.audit.sink == "sqlite"
