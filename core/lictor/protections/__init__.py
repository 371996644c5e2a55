"""Built-in protections for the OWASP Top 10 for Agentic Applications (ASI01-ASI10).

Each protection is an ordinary plugin on Lictor's hooks, registered under its name and
configured by its own ``protections.<name>`` section of the policy.
"""

from __future__ import annotations

from typing import Any, Callable

__all__ = ["PROTECTIONS"]

#: name -> factory, in registration order; merged into the Governor's built-in plugins.
PROTECTIONS: dict[str, Callable[[], Any]] = {}


def _lazy(module: str, cls: str) -> Callable[[], Any]:
    """A factory importing its module on first use (a policy without protections pays nothing)."""

    def make() -> Any:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{module}"), cls)()

    make.__name__ = cls
    return make


# Part B (ASI02-05, 07, 08, 10): tool access, egress, budgets, delegation, pinning, code, signing,
# loops, circuit breakers, behavioural baseline.
PROTECTIONS.update({
    "tool_access": _lazy("tool_access", "ToolAccessPlugin"),
    "egress": _lazy("egress", "EgressPlugin"),
    "budgets": _lazy("budgets", "BudgetsPlugin"),
    "delegation": _lazy("delegation", "DelegationPlugin"),
    "tool_pinning": _lazy("tool_pinning", "ToolPinningPlugin"),
    "code_exec": _lazy("code_exec", "CodeExecPlugin"),
    "message_signing": _lazy("message_signing", "MessageSigningPlugin"),
    "loops": _lazy("loops", "LoopsPlugin"),
    "circuit_breaker": _lazy("circuit_breaker", "CircuitBreakerPlugin"),
    "baseline": _lazy("baseline", "BaselinePlugin"),
})

# Part A (ASI01, 03, 06, 09, PII): text and data-flow protections.
PROTECTIONS.update({
    "prompt_injection": _lazy("prompt_injection", "PromptInjectionProtection"),
    "secrets": _lazy("secret_scan", "SecretsProtection"),
})
PROTECTIONS["provenance"] = _lazy("provenance", "ProvenanceProtection")
PROTECTIONS["pii"] = _lazy("pii", "PiiProtection")
PROTECTIONS["memory_guard"] = _lazy("memory_guard", "MemoryGuardProtection")
PROTECTIONS["human_trust"] = _lazy("human_trust", "HumanTrustProtection")
