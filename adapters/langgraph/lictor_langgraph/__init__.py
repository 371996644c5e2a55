"""Lictor for LangGraph / LangChain 1.x agents (see docs/langgraph.md).

- ``create_agent(model, tools, middleware=[LictorMiddleware(gov)])``
- hand-built graphs: ``builder.add_node("tools", governed_tool_node(tools, gov))``
- supervisors: give each agent the middleware; ``transfer_to_*`` tools are ``handoff`` actions.
"""

from importlib.util import find_spec as _find_spec

_missing = [m for m in ['langgraph', 'langchain', 'langchain_core'] if _find_spec(m) is None]
if _missing:  # a clear message instead of an ImportError from deep inside the adapter
    raise ImportError(
        f"lictor_langgraph needs {', '.join(_missing)}: pip install 'lictor[langgraph]'"
    )

from .approval import APPROVAL_TYPE, approval_request, parse_answer
from .middleware import LictorMiddleware, RunHalted
from .toolnode import govern, governed_tool_node, tool_wrappers
from .translate import PROMPT_SEPARATOR

__all__ = [
    "LictorMiddleware",
    "RunHalted",
    "govern",
    "governed_tool_node",
    "tool_wrappers",
    "approval_request",
    "parse_answer",
    "APPROVAL_TYPE",
    "PROMPT_SEPARATOR",
]
