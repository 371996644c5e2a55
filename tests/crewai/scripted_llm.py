"""An offline CrewAI model that replays a script of ReAct texts (test helper, not a mock).

It is a real ``crewai.llms.base_llm.BaseLLM`` subclass, so CrewAI drives it exactly as it drives
a provider: without native function calling the agent takes the ReAct text path, parses
``Action:`` / ``Action Input:`` and runs the tool through its hooks. Every prompt it receives is
kept, so a test can read what the agent saw (for instance Lictor's refusal as the observation).
"""

from __future__ import annotations

import json
import threading
from typing import Any

from crewai.llms.base_llm import BaseLLM
from pydantic import Field, PrivateAttr

FINAL = "Thought: I now know the final answer\nFinal Answer: {}"


def act(tool: str, **args: Any) -> str:
    """One ReAct step calling ``tool`` with ``args``."""
    return f"Thought: I should use {tool}\nAction: {tool}\nAction Input: {json.dumps(args)}"


def final(text: str = "done") -> str:
    return FINAL.format(text)


class ScriptedLLM(BaseLLM):
    """Returns ``script`` one reply per call, then a final answer."""

    script: list[str] = Field(default_factory=list)
    _i: int = PrivateAttr(default=0)
    _prompts: list[Any] = PrivateAttr(default_factory=list)
    _lock: Any = PrivateAttr(default_factory=threading.Lock)

    def call(self, messages: Any, tools: Any = None, callbacks: Any = None,
             available_functions: Any = None, from_task: Any = None, from_agent: Any = None,
             response_model: Any = None) -> str:
        with self._lock:
            self._prompts.append(messages if isinstance(messages, str) else [dict(m) for m in messages])
            if self._i < len(self.script):
                reply = self.script[self._i]
                self._i += 1
                return reply
        return final()

    @property
    def prompts(self) -> list[Any]:
        return self._prompts

    def last_prompt_text(self) -> str:
        """Everything the model was sent on its latest call, as one string."""
        last = self._prompts[-1]
        if isinstance(last, str):
            return last
        return "\n".join(str(m.get("content", "")) for m in last)
