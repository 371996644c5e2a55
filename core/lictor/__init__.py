"""Lictor: runtime governance for AI agents.

Every tool call, model call, message and hand-off of an agent goes through a :class:`Governor`,
which decides (allow, redact, approve, deny) in microseconds and records each decision in a
tamper-evident audit trail.
"""

from .errors import LictorError, PluginError, PolicyError, PolicyViolation
from .governor import ENTRY_POINT_GROUP, Governor, PluginInfo
from .hookspecs import hookimpl, hookspec
from .models import ACTION_KINDS, VERDICTS, Action, Approval, Decision
from .policy.loader import load_policy_file, load_policy_text, policy_from_dict
from .policy.schema import Policy

__version__ = "0.1.0"

__all__ = [
    "Action",
    "Approval",
    "Decision",
    "Governor",
    "Policy",
    "PluginInfo",
    "PolicyError",
    "PolicyViolation",
    "PluginError",
    "LictorError",
    "hookimpl",
    "hookspec",
    "load_policy_file",
    "load_policy_text",
    "policy_from_dict",
    "ACTION_KINDS",
    "VERDICTS",
    "ENTRY_POINT_GROUP",
    "__version__",
]
