"""Governed ``ToolNode`` for hand-built ``StateGraph``s (no ``create_agent``, no middleware).

``ToolNode(tools, wrap_tool_call=..., awrap_tool_call=...)`` is LangGraph's public hook around
each tool execution; :class:`LictorMiddleware`'s tool methods have exactly that contract, so a
raw graph gets the same tool-call, hand-off, approval and output governance::

    builder.add_node("tools", governed_tool_node(tools, gov))

A raw graph's model node is the user's own code, which Lictor does not wrap; so a kill switch
raises :class:`RunHalted` out of the run here (``on_halt="raise"``) instead of stopping at the
next model step.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence, Union

from langchain_core.tools import BaseTool
from langgraph.prebuilt import ToolNode

from lictor import Governor

from .middleware import LictorMiddleware

__all__ = ["governed_tool_node", "tool_wrappers", "govern"]


def tool_wrappers(gov: Governor, **options: Any) -> dict[str, Any]:
    """``ToolNode`` keyword arguments that govern each tool call::

        ToolNode(tools, **tool_wrappers(gov), handle_tool_errors=True)

    ``options`` are :class:`LictorMiddleware`'s (``strict``, ``agent``, ``session``, ...);
    ``on_halt`` defaults to ``"raise"``; ``sign_handoffs`` to ``"tool"`` (the model node is
    the user's code, so hand-offs are signed here, see ``signing.py``).
    """
    options.setdefault("on_halt", "raise")
    options.setdefault("sign_handoffs", "tool")
    guard = LictorMiddleware(gov, **options)
    return {"wrap_tool_call": guard.wrap_tool_call, "awrap_tool_call": guard.awrap_tool_call}


def governed_tool_node(
    tools: Sequence[Union[BaseTool, Callable[..., Any]]], gov: Governor, *, name: str = "tools",
    handle_tool_errors: Any = None, **options: Any,
) -> ToolNode:
    """A ``ToolNode`` over ``tools`` whose every call goes through ``gov``.

    ``handle_tool_errors`` is passed to ``ToolNode`` when given (else LangGraph's default:
    tool exceptions propagate). Other keyword arguments are :class:`LictorMiddleware` options.
    """
    kwargs: dict[str, Any] = {"name": name, **tool_wrappers(gov, **options)}
    if handle_tool_errors is not None:
        kwargs["handle_tool_errors"] = handle_tool_errors
    return ToolNode(list(tools), **kwargs)


def govern(target: Any, gov: Governor, **options: Any) -> Any:
    """One line for each way of building a LangGraph agent:

    - a list of tools, or an existing ``ToolNode``: returns a governed ``ToolNode`` (the same
      tools, node name and error handling);
    - anything else (``create_agent``'s compiled graph, a compiled ``StateGraph``) cannot be
      governed after the fact without patching LangGraph's internals, so this raises a
      ``TypeError`` that says what to do instead (``middleware=[LictorMiddleware(gov)]``).
    """
    if isinstance(target, ToolNode):
        # ToolNode keeps its error handling in a private attribute with no public reader; it is
        # read (never written) so the governed copy behaves like the original.
        errors = getattr(target, "_handle_tool_errors", None)
        return governed_tool_node(list(target.tools_by_name.values()), gov, name=target.name,
                                  handle_tool_errors=errors, **options)
    if isinstance(target, (list, tuple)):
        return governed_tool_node(target, gov, **options)
    raise TypeError(
        f"govern() cannot wrap a {type(target).__name__} after it was built. For create_agent pass "
        "middleware=[LictorMiddleware(gov)]; for a hand-built StateGraph add "
        "governed_tool_node(tools, gov) (or govern(tool_node, gov)) as its tool node."
    )
