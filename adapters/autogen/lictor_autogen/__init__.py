"""Lictor adapter for AutoGen AgentChat 0.7 (see docs/autogen.md).

One line governs an agent or a team::

    from lictor_autogen import govern
    team = govern(RoundRobinGroupChat([...]), gov)

or, without touching AutoGen internals, build agents with ``LictorWorkbench`` and
``LictorModelClient``.
"""

from importlib.util import find_spec as _find_spec

_missing = [m for m in ['autogen_agentchat', 'autogen_core', 'autogen_ext'] if _find_spec(m) is None]
if _missing:  # a clear message instead of an ImportError from deep inside the adapter
    raise ImportError(
        f"lictor_autogen needs {', '.join(_missing)}: pip install 'lictor[autogen]'"
    )

from .approval import Approver, approval_prompt
from .context import GovernedRun
from .govern import Governance, governance_of, govern, ungovern
from .messages import LictorMessageHandler
from .model_client import LictorModelClient
from .signing import SIGNATURE_KEY, MessageSigner, read_signature
from .termination import LictorHaltTermination
from .workbench import LictorWorkbench

__all__ = [
    "govern",
    "ungovern",
    "governance_of",
    "Governance",
    "GovernedRun",
    "LictorWorkbench",
    "LictorModelClient",
    "LictorMessageHandler",
    "LictorHaltTermination",
    "MessageSigner",
    "SIGNATURE_KEY",
    "read_signature",
    "Approver",
    "approval_prompt",
]
