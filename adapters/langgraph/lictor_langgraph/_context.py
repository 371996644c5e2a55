"""Who is acting, in which conversation: read from LangGraph's run config.

Lictor keys budgets, loop breakers, approvals and audit grouping by ``Action.session`` and
``Action.agent``. LangGraph already has both: the checkpointer's ``thread_id`` (the conversation
a human resumes) and the ``name`` given to ``create_agent`` (stored by langchain in the run
config's metadata as ``lc_agent_name``). Reading them here keeps the adapters free of config
plumbing and gives every action of one thread the same session id, across resumes.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Optional, Union

from langgraph.config import get_config

__all__ = ["RunIdentity", "identity_from_config", "current_config"]

#: An explicit value, or a function of the run config that returns one.
Resolver = Union[str, Callable[[Mapping[str, Any]], Optional[str]], None]

DEFAULT_AGENT = "langgraph-agent"


class RunIdentity:
    """The (agent, session) pair of the run an action belongs to."""

    __slots__ = ("agent", "session")

    def __init__(self, agent: str, session: Optional[str]) -> None:
        self.agent = agent
        self.session = session


def current_config() -> Mapping[str, Any]:
    """The config of the running graph node, or an empty mapping outside a graph."""
    try:
        return get_config()
    except RuntimeError:
        return {}


def _resolve(value: Resolver, config: Mapping[str, Any]) -> Optional[str]:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    out = value(config)
    return None if out is None else str(out)


def identity_from_config(config: Optional[Mapping[str, Any]], agent: Resolver, session: Resolver) -> RunIdentity:
    """Agent = explicit ``agent`` > ``create_agent(name=...)`` > ``"langgraph-agent"``;
    session = explicit ``session`` > the checkpointer's ``thread_id`` > None."""
    cfg: Mapping[str, Any] = config or {}
    name = _resolve(agent, cfg)
    if not name:
        meta = cfg.get("metadata") or {}
        name = meta.get("lc_agent_name") or DEFAULT_AGENT
    sess = _resolve(session, cfg)
    if sess is None:
        thread = (cfg.get("configurable") or {}).get("thread_id")
        sess = None if thread is None else str(thread)
    return RunIdentity(str(name), sess)
