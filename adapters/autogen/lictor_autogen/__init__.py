"""Lictor adapter for AutoGen AgentChat 0.7 (see docs/autogen.md).

One line governs an agent or a team::

    from lictor_autogen import govern
    team = govern(RoundRobinGroupChat([...]), gov)

or, without touching AutoGen internals, build agents with ``LictorWorkbench`` and
``LictorModelClient``.
"""

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
