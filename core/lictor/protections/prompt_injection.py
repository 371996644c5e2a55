"""``prompt_injection`` (ASI01 agent goal hijack): scores untrusted text for injected
instructions and steps up later high-impact actions of a session that has seen them.

Untrusted text is what the agent read rather than what its user asked: tool outputs (checked by
``lictor_check_output``) and the content of messages, model calls, memory writes and hand-offs
whose ``metadata["source"]`` is ``tool``, ``retrieval``, ``agent`` or ``memory`` (DESIGN §3b).
The score and evidence come from :mod:`lictor.protections.injection_score`; the policy maps
scores to effects. A session whose untrusted text scored at least the taint threshold is marked
tainted (bounded: number of sessions and age), so a later ``send_payment`` in it can be sent to
a human even when the injected text itself was only borderline.
"""

from __future__ import annotations

from typing import Any, Optional

from ..hookspecs import hookimpl
from ..models import Action, Decision
from ._common import (
    TRUSTED_SOURCES,
    UNTRUSTED_SOURCES,
    Section,
    glob_matcher,
    iter_strings,
    map_strings,
    mark_tainted,
    session_key,
    source_of,
    taint_store,
)
from .injection_score import InjectionScore, score_text
from .secret_scan import mask_secrets

__all__ = ["PromptInjectionProtection", "TARGETS"]

#: Where the protection looks (``on:``).
TARGETS = ("tool_output", "retrieval", "message", "model_call", "memory_write", "handoff")
_KIND_TARGET = {"message": "message", "model_call": "model_call", "memory_write": "memory_write", "handoff": "handoff"}
_RISKS = ("ASI01",)


class PromptInjectionProtection:
    """Registered as ``prompt_injection``. Policy section (absent: inactive)::

        prompt_injection:
          on: [tool_output, retrieval, message, model_call, memory_write, handoff]   # default: all
          thresholds: {deny: 0.9, approve: 0.6}     # or: effect: deny, threshold: 0.7
          unlabelled: skip                          # skip | scan: content with no metadata.source
          tainted_sessions:
            effect: approve                         # approve | deny
            tools: ["send_*", "transfer_*"]         # tool names (globs) stepped up when tainted
            kinds: [code_exec]                      # action kinds stepped up when tainted
            threshold: 0.6                          # score that taints (default: lowest threshold)
            ttl: 1h                                 # how long a taint lasts
          max_sessions: 10000                       # tainted sessions remembered (LRU)
    """

    name = "prompt_injection"

    def __init__(self) -> None:
        self.active = False
        self.targets: frozenset[str] = frozenset(TARGETS)
        self.thresholds: list[tuple[float, str]] = [(0.9, "deny"), (0.6, "approve")]
        self.scan_unlabelled = False
        self.taint_threshold = 0.6
        self.taint_effect = "approve"
        self.taint_tool: Any = None
        self.taint_kinds: frozenset[str] = frozenset()
        self.step_up = False
        self._ctx: Any = None

    @hookimpl
    def lictor_configure(self, policy: Any, ctx: Any) -> None:
        sec = Section(policy, self.name)
        self.active = sec.present
        if not sec.present:
            return
        self.targets = frozenset(sec.strings("on", TARGETS, TARGETS))
        self.thresholds = sec.thresholds({"deny": 0.9, "approve": 0.6})
        self.scan_unlabelled = sec.choice("unlabelled", ("skip", "scan"), "skip") == "scan"
        max_sessions = sec.integer("max_sessions", 10_000, minimum=1, maximum=10_000_000)
        self.taint_threshold = min(t for t, _ in self.thresholds) if self.thresholds else 0.6
        ts_data = sec.optional_mapping("tainted_sessions")
        ttl = 3600.0
        if ts_data is not None:
            ts = sec.sub("tainted_sessions", ts_data)
            self.taint_effect = ts.choice("effect", ("approve", "deny"), "approve")
            tools = ts.strings("tools")
            from ..models import ACTION_KINDS

            kinds = ts.strings("kinds", (), ACTION_KINDS)
            if not tools and not kinds:
                sec.error("tainted_sessions", "name the high-impact actions to step up: 'tools' (globs) and/or 'kinds'")
            self.taint_tool = glob_matcher(tools)
            self.taint_kinds = frozenset(kinds)
            if ts.has("threshold"):
                th = ts.score(ts.take("threshold"), "threshold")
                if th is not None:
                    self.taint_threshold = th
            ttl = ts.duration("ttl", 3600)
            ts.done(("effect", "tools", "kinds", "threshold", "ttl"))
            self.step_up = True
        sec.finish(("on", "thresholds", "effect", "threshold", "unlabelled", "max_sessions", "tainted_sessions"))
        store = taint_store(ctx)
        store.ttl = ttl
        store.max_sessions = int(max_sessions)
        self._ctx = ctx

    # -- what to score -------------------------------------------------------------------------
    def _wants_action_text(self, action: Action) -> bool:
        src = source_of(action)
        if src in TRUSTED_SOURCES:
            return False
        if src == "retrieval" and "retrieval" in self.targets:
            return True
        target = _KIND_TARGET.get(action.kind)
        if target is None or target not in self.targets:
            return False
        if src is None:
            return self.scan_unlabelled or action.kind == "memory_write"
        return src in UNTRUSTED_SOURCES

    def _wants_output(self, action: Action) -> bool:
        if "tool_output" in self.targets and action.kind in ("tool_call", "code_exec"):
            return True
        return "retrieval" in self.targets and source_of(action) == "retrieval"

    # -- checks --------------------------------------------------------------------------------
    @hookimpl
    def lictor_check_action(self, action: Action, ctx: Any) -> Optional[Decision]:
        if not self.active:
            return None
        vote: Optional[Decision] = None
        if self.step_up and (action.kind in self.taint_kinds or (action.kind == "tool_call" and self.taint_tool(action.name))):
            rec = taint_store(ctx).peek(session_key(action), ctx.clock())
            if rec is not None:
                reason = (f"session is tainted by suspected prompt injection (score {rec['score']:.2f}: {rec['why']}); "
                          f"{action.kind} '{action.name}' needs {'a human' if self.taint_effect == 'approve' else 'a clean session'}")
                vote = _vote(self.taint_effect, reason, "prompt_injection.tainted_session", ())
        if (action.content or (action.args and action.kind != "tool_call")) and self._wants_action_text(action):
            texts = [action.content] if action.content else []
            if action.kind != "tool_call":
                texts.extend(iter_strings(action.args))
            result = _score_many(texts)
            if result.score > 0:
                what = f"content of {action.kind} '{action.name}'" + (f" from {source_of(action)}" if source_of(action) else "")
                own = self._judge(result, what, action, ctx)
                if own is not None and own.verdict == "redact":
                    notice = f"[withheld by lictor: suspected prompt injection (score {result.score:.2f})]"
                    object.__setattr__(own, "action", action.with_content(notice).with_args({}) if action.kind != "tool_call"
                                       else action.with_content(notice))
                if own is not None and (vote is None or _rank(own) > _rank(vote)):
                    vote = own
        return vote

    @hookimpl
    def lictor_check_output(self, action: Action, output: Any, ctx: Any) -> Optional[Decision]:
        if not self.active or output is None or not self._wants_output(action):
            return None
        result = _score_many(iter_strings(output))
        if result.score <= 0:
            return None
        d = self._judge(result, f"output of {action.kind} '{action.name}'", action, ctx)
        if d is not None and d.verdict == "redact":
            notice = f"[withheld by lictor: suspected prompt injection (score {result.score:.2f})]"
            object.__setattr__(d, "output", map_strings(output, lambda s: notice if score_text(s).score >= self.thresholds[-1][0] else s))
        return d

    def _judge(self, result: InjectionScore, what: str, action: Action, ctx: Any) -> Optional[Decision]:
        top = result.signals and max(result.signals, key=lambda s: s.weight)
        why = f"{top.family}/{top.name}" if top else "signals"
        if result.score >= self.taint_threshold:
            mark_tainted(ctx, session_key(action), result.score, why, ctx.clock())
        for threshold, effect in self.thresholds:
            if result.score >= threshold:
                reason = f"suspected prompt injection in {what} (score {result.score:.2f} >= {effect} threshold {threshold:g}; {why})"
                evidence = tuple(mask_secrets(f"prompt_injection: {e}") for e in result.evidence())
                if effect == "redact":
                    return Decision.redact(reason, rule_id="prompt_injection", risks=_RISKS, evidence=evidence)
                return _vote(effect, reason, "prompt_injection", evidence)
        return None


def _score_many(texts: Any) -> InjectionScore:
    best = InjectionScore(0.0)
    for t in texts:
        if t and len(t) >= 8:
            r = score_text(t)
            if r.score > best.score:
                best = r
    return best


def _rank(d: Decision) -> int:
    return {"allow": 0, "redact": 1, "approve": 2, "deny": 3}[d.verdict]


def _vote(effect: str, reason: str, rule_id: str, evidence: tuple[str, ...]) -> Decision:
    return Decision.vote(effect, reason, rule_id=rule_id, risks=_RISKS, evidence=evidence)
