"""The Governor: asks every plugin about an action, combines their votes, records the decision.

One Governor owns one pluggy plugin manager (no global state: two Governors in one process never
see each other's plugins). Check hooks are called by the Governor itself, plugin by plugin, so
that a redact vote's rewritten action feeds the next plugin and a failing plugin is named in the
decision (fail closed) without stopping the others.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import secrets
import threading
import time
import weakref
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence, Union

import pluggy

from . import hookspecs
from .context import Context
from .errors import PluginError, PolicyError, PolicyViolation
from .models import VERDICT_RANK, Action, Approval, Decision, _build_decision
from .plugins import BUILTINS
from .plugins.killswitch import KillSwitch
from .policy.loader import load_policy_file, policy_from_dict
from .policy.schema import Policy
from .protections._common import shorten
from .protections.secret_scan import mask_secrets
from .state import MemoryState, StateBackend

__all__ = ["Governor", "PluginInfo", "ENTRY_POINT_GROUP"]

ENTRY_POINT_GROUP = "lictor"
_CHECK_HOOKS = ("lictor_check_action", "lictor_check_output")
_DISABLE_ENV = "LICTOR_DISABLE_PLUGINS"
_NO_ENTRYPOINTS_ENV = "LICTOR_NO_ENTRYPOINTS"

PolicyLike = Union[Policy, Mapping[str, Any], str, Path, None]

# Decision ids are "<random prefix>-<counter>": unique across processes without a clock or a
# uuid per check. A forked child would inherit both, so every live Governor re-seeds in it.
_LIVE: "weakref.WeakSet[Governor]" = weakref.WeakSet()


def _reseed_after_fork() -> None:
    for gov in list(_LIVE):
        gov._reseed_ids()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reseed_after_fork)


class PluginInfo:
    """One loaded plugin: its name, where it came from, and which hooks it implements."""

    __slots__ = ("name", "source", "hooks", "plugin")

    def __init__(self, name: str, source: str, hooks: Sequence[str], plugin: Any) -> None:
        self.name, self.source, self.hooks, self.plugin = name, source, tuple(hooks), plugin

    def __repr__(self) -> str:
        return f"PluginInfo({self.name!r}, source={self.source!r}, hooks={list(self.hooks)})"


_TARGET_CACHE_MAX = 4096


def _describe(exc: BaseException) -> str:
    """An exception as it may appear in reasons: agents and the audit trail read these, and an
    error message can quote a value it choked on (a token, a password), so secrets are masked
    and the text is kept to one short line."""
    return shorten(mask_secrets(f"{type(exc).__name__}: {exc}"), 300)


def _scope_of(plugin: Any) -> Optional[Callable[[str, str], bool]]:
    """A plugin's optional ``applies_to(kind, name)``; None when it wants every action."""
    scope = getattr(plugin, "applies_to", None)
    return scope if callable(scope) else None


def _caller(impl: Any, order: Sequence[str]) -> Callable[..., Any]:
    """A fast positional call of a hook implementation that may take a subset of arguments."""
    fn = impl.function
    names = tuple(impl.argnames)
    if names == tuple(order):
        return fn
    idx = [order.index(n) for n in names]
    return lambda *a: fn(*[a[i] for i in idx])


class Governor:
    """Decides whether an agent's action may run, and records every decision.

    Build one per policy and share it between agents and threads::

        gov = Governor.from_file("policy.yaml")
        decision = gov.check(Action(kind="tool_call", agent="support-7", name="issue_refund",
                                    args={"amount": 250}))

    :param policy: a :class:`Policy`, a dict of the policy file's shape, or a path to a YAML file.
    :param plugins: extra plugin objects or modules; a plugin's ``name`` attribute (or its
        class / module name) is its registered name.
    :param load_entrypoints: load third-party plugins from the ``lictor`` entry-point group
        (also switched off by the environment variable ``LICTOR_NO_ENTRYPOINTS=1``).
    :param state: a state backend (default: from the policy's ``state:`` section).
    :param clock: the time source (seconds since the epoch); tests may pass their own.

    Raises :class:`PolicyError` for an invalid policy or plugin configuration, and
    :class:`PluginError` for a plugin that implements a hook that does not exist.
    """

    def __init__(
        self,
        policy: PolicyLike = None,
        plugins: Iterable[Any] = (),
        *,
        load_entrypoints: bool = True,
        state: Optional[StateBackend] = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.policy: Policy = _coerce_policy(policy)
        self._policy_hash = self.policy.hash
        self._always_enforced = self.policy.mode == "enforce" and self.policy.rollout is None
        self._state: StateBackend = state if state is not None else _state_from_policy(self.policy)
        self.kill_switch = KillSwitch(self._state)
        self.ctx = Context(self, self.policy, self._state, clock)
        self._sources: dict[str, str] = {}
        self._fail_open = frozenset(self.policy.plugins.fail_open)
        self._reseed_ids()
        _LIVE.add(self)
        self._rollout_cache: dict[str, bool] = {}
        self._lock = threading.Lock()
        self._closed = False

        pm = pluggy.PluginManager("lictor")
        pm.add_hookspecs(hookspecs)
        self.pm = pm
        disabled = set(self.policy.plugins.disable)
        disabled.update(n.strip() for n in os.environ.get(_DISABLE_ENV, "").split(",") if n.strip())
        for name in disabled:
            pm.set_blocked(name)
        for name, factory in BUILTINS.items():
            if name not in disabled:
                self._register(factory(), name, "built-in")
        if load_entrypoints and os.environ.get(_NO_ENTRYPOINTS_ENV, "") not in ("1", "true", "yes"):
            try:
                pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
            except Exception as exc:  # a broken installed plugin must not be silently skipped
                raise PluginError(f"could not load a plugin from entry-point group '{ENTRY_POINT_GROUP}': {exc}") from exc
            for plugin, dist in pm.list_plugin_distinfo():
                name = pm.get_name(plugin) or "?"
                self._sources[name] = f"entry point ({dist.project_name} {dist.version})"
        for plugin in plugins:
            given = getattr(plugin, "name", None)
            name = given if isinstance(given, str) and given else (getattr(plugin, "__name__", None) or type(plugin).__name__)
            if name in disabled:
                continue
            self._register(plugin, name, "code")
        self._check_known_hooks()
        unknown = sorted(
            s for s in list(self.policy.protections) + list(self.policy.plugins.config)
            if pm.get_plugin(s) is None and s not in disabled
        )
        loaded = ", ".join(sorted(self._sources)) or "none"
        problems = [
            f"{self.policy.where(self.policy.section_path(s))} {'.'.join(self.policy.section_path(s))}: "
            f"no plugin named '{s}' is loaded (loaded: {loaded})"
            for s in unknown
        ]
        self._configure(problems)
        self._rebuild_calls()

    def _reseed_ids(self) -> None:
        self._ids = itertools.count(1)
        self._id_prefix = secrets.token_hex(6)

    # -- construction --------------------------------------------------------------------------
    @classmethod
    def from_file(cls, path: Union[str, Path], plugins: Iterable[Any] = (), **kwargs: Any) -> "Governor":
        """A Governor for the policy in a YAML file (errors name the file, line and field)."""
        return cls(load_policy_file(path), plugins, **kwargs)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], plugins: Iterable[Any] = (), **kwargs: Any) -> "Governor":
        """A Governor for a policy given as a dict of the policy file's shape."""
        return cls(policy_from_dict(dict(data)), plugins, **kwargs)

    def _register(self, plugin: Any, name: str, source: str) -> None:
        if self.pm.get_plugin(name) is not None or self.pm.has_plugin(name):
            raise PluginError(f"a plugin named '{name}' is already registered ({self._sources.get(name, '?')})")
        try:
            self.pm.register(plugin, name=name)
        except ValueError as exc:
            raise PluginError(f"plugin '{name}' could not be registered: {exc}") from exc
        self._sources[name] = source

    def _check_known_hooks(self) -> None:
        try:
            self.pm.check_pending()
        except pluggy.PluginValidationError as exc:
            raise PluginError(
                f"plugin '{self.pm.get_name(exc.plugin)}' implements a hook Lictor does not have: {exc}. "
                f"Hooks are: {', '.join(n for n in dir(hookspecs) if n.startswith('lictor_'))}"
            ) from exc
        for hook in _CHECK_HOOKS:
            for impl in getattr(self.pm.hook, hook).get_hookimpls():
                if impl.hookwrapper or impl.wrapper:
                    raise PluginError(f"plugin '{impl.plugin_name}': {hook} does not support wrapper implementations")

    def _configure(self, problems: list[str]) -> None:
        for impl in reversed(self.pm.hook.lictor_configure.get_hookimpls()):
            kwargs = {"policy": self.policy, "ctx": self.ctx}
            try:
                impl.function(*[kwargs[n] for n in impl.argnames])
            except PolicyError as exc:
                problems.extend(exc.problems)
            except Exception as exc:
                problems.append(
                    f"{self.policy.where(self.policy.section_path(impl.plugin_name))} plugin '{impl.plugin_name}': {exc}"
                )
        if problems:
            self.close()
            raise PolicyError(problems)

    def _rebuild_calls(self) -> None:
        def calls(hook: str, order: Sequence[str]) -> tuple[tuple[str, Callable[..., Any]], ...]:
            impls = getattr(self.pm.hook, hook).get_hookimpls()
            # A plugin that says, after configuration, that it has nothing to do (``active =
            # False``: a protection without a policy section, an audit trail with no sink) is
            # left out of the hot path instead of being called to return None every time.
            return tuple(
                (i.plugin_name, _caller(i, order))
                for i in reversed(impls)
                if getattr(i.plugin, "active", True) is not False
            )

        self._action_calls = calls("lictor_check_action", ("action", "ctx"))
        # Plugins that say which actions concern them (``applies_to(kind, name)``) are called
        # only for those: the selection is made once per (kind, name) and cached, so a tool call
        # does not pay for the protections of messages, memory writes or other tools.
        self._scopes = tuple(_scope_of(self.pm.get_plugin(n)) for n, _ in self._action_calls)
        self._calls_by_target: dict[tuple[str, str], tuple[tuple[str, Callable[..., Any]], ...]] = {}
        self._output_calls = calls("lictor_check_output", ("action", "output", "ctx"))
        self._observer_calls = calls("lictor_on_decision", ("action", "decision", "ctx"))
        self._approval_hook = self.pm.hook.lictor_request_approval

    def register(self, plugin: Any, name: Optional[str] = None) -> None:
        """Add a plugin to a running Governor (tests, dynamic setups). It is configured now."""
        name = name or getattr(plugin, "name", None) or getattr(plugin, "__name__", None) or type(plugin).__name__
        self._register(plugin, name, "code")
        self._check_known_hooks()
        cfg = getattr(plugin, "lictor_configure", None)
        if cfg is not None:
            impl = [i for i in self.pm.hook.lictor_configure.get_hookimpls() if i.plugin is plugin][0]
            kwargs = {"policy": self.policy, "ctx": self.ctx}
            try:
                impl.function(*[kwargs[n] for n in impl.argnames])
            except Exception:
                self.pm.unregister(plugin)
                self._sources.pop(name, None)
                raise
        self._rebuild_calls()

    def unregister(self, name: str) -> None:
        """Remove a plugin by name."""
        self.pm.unregister(name=name)
        self._sources.pop(name, None)
        self._rebuild_calls()

    # -- the hot path ----------------------------------------------------------------------------
    def check(self, action: Action) -> Decision:
        """Decide about an action before it runs. Thread-safe; takes microseconds.

        Returns the final :class:`Decision`; every observer (the audit trail) has seen it.
        ``decision.blocked`` tells a caller that cannot pause for a human whether to refuse.
        """
        if type(action) is not Action and not isinstance(action, Action):
            raise TypeError(f"Governor.check() takes a lictor.Action, got {type(action).__name__}")
        return self._decide(action, None, False)

    async def acheck(self, action: Action) -> Decision:
        """``check`` for async code. Plugins are synchronous and fast, so it runs inline."""
        return self.check(action)

    def check_output(self, action: Action, output: Any) -> Decision:
        """Decide about what an action produced, before the agent sees it.

        ``decision.output`` is what to hand on (the redacted output when ``verdict ==
        "redact"``); when ``decision.blocked`` the output must be withheld.
        """
        if not isinstance(action, Action):
            raise TypeError(f"Governor.check_output() takes a lictor.Action, got {type(action).__name__}")
        return self._decide(action, output, True)

    async def acheck_output(self, action: Action, output: Any) -> Decision:
        """``check_output`` for async code."""
        return self.check_output(action, output)

    def guard(self, action: Action) -> Action:
        """Check, and raise :class:`PolicyViolation` unless the action may run now.

        For callers that cannot pause for a human: a pending approval is a refusal (fail
        closed). Returns the action to run (rewritten when redacted).
        """
        d = self.check(action)
        if d.blocked:
            raise PolicyViolation(d)
        return d.action if d.action is not None else action

    def _decide(self, action: Action, output: Any, output_phase: bool) -> Decision:
        ctx = self.ctx
        current = action
        current_output = output
        notes: Optional[list[str]] = None  # fail_open notes
        votes: Optional[list[tuple[str, Decision]]] = None  # only votes that are not "allow"
        if output_phase:
            calls = self._output_calls
        else:
            calls = self._calls_by_target.get((action.kind, action.name))
            if calls is None:
                calls = self._select_calls(action.kind, action.name)
        for name, call in calls:
            try:
                vote = call(current, current_output, ctx) if output_phase else call(current, ctx)
                if vote is None:
                    continue
                if not isinstance(vote, Decision):
                    raise TypeError(f"returned {type(vote).__name__}, expected lictor.Decision or None")
            except Exception as exc:
                if name in self._fail_open:
                    notes = (notes or []) + [f"plugin '{name}' failed ({_describe(exc)}); ignored (fail_open)"]
                    continue
                vote = Decision.deny(f"plugin '{name}' failed ({_describe(exc)}); denied (fail closed)")
            # A rewrite feeds every later plugin, whatever the vote's verdict.
            if output_phase:
                if vote.output is not None:
                    current_output = vote.output
            elif vote.action is not None:
                current = vote.action
            if vote.verdict != "allow":
                if votes is None:
                    votes = []
                votes.append((name, vote))
        if votes is None:
            verdict, halt = "allow", False
            reasons: tuple[str, ...] = tuple(notes) if notes else ()
            rule_ids: tuple[str, ...] = ()
            risks: tuple[str, ...] = ()
            voters: tuple[str, ...] = ()
            evidence: tuple[str, ...] = ()
        else:
            verdict, halt = _combine(votes)
            reasons = tuple(r for _, v in votes for r in v.reasons) + (tuple(notes) if notes else ())
            rule_ids = tuple(dict.fromkeys(r for _, v in votes for r in v.rule_ids))
            risks = tuple(dict.fromkeys(r for _, v in votes for r in v.risks))
            voters = tuple(n for n, _ in votes)
            evidence = tuple(e for _, v in votes for e in v.evidence)
        # Monitor mode and rollouts never block policy verdicts, but a halt (the kill switch, a
        # quarantine) is an operator's explicit stop and is enforced in every mode.
        enforced = halt or self._always_enforced or self._enforced(action.agent)
        decision = _build_decision(Decision, {
            "verdict": verdict,
            "phase": "output" if output_phase else "action",
            "reasons": reasons,
            "rule_ids": rule_ids,
            "risks": risks,
            "action": current,
            "output": current_output,
            "enforced": enforced,
            "halt": halt,
            "plugins": voters,
            "approval": None,
            "decision_id": f"{self._id_prefix}-{next(self._ids)}",
            "policy_hash": self._policy_hash,
            "evidence": evidence,
        })
        if verdict == "approve" and enforced:
            decision = self._ask_approver(current, decision)
        return self._observe(action, decision)

    def _select_calls(self, kind: str, name: str) -> tuple[tuple[str, Callable[..., Any]], ...]:
        """The check calls of the plugins that apply to actions of this kind and name."""
        out = []
        for entry, scope in zip(self._action_calls, self._scopes):
            if scope is not None:
                try:
                    if scope(kind, name) is False:
                        continue
                except Exception:
                    pass  # an undecidable scope means the plugin is asked: it may still refuse
            out.append(entry)
        calls = tuple(out)
        cache = self._calls_by_target
        if len(cache) >= _TARGET_CACHE_MAX:
            cache.clear()
        cache[(kind, name)] = calls
        return calls

    def _enforced(self, agent: str) -> bool:
        policy = self.policy
        if policy.mode == "monitor":
            return False
        if policy.rollout is None:
            return True
        hit = self._rollout_cache.get(agent)
        if hit is None:
            bucket = int.from_bytes(hashlib.sha256(agent.encode("utf-8")).digest()[:8], "big") % 10_000
            hit = bucket < policy.rollout.enforce_percent * 100
            if len(self._rollout_cache) > 65_536:
                self._rollout_cache.clear()
            self._rollout_cache[agent] = hit
        return hit

    def _ask_approver(self, action: Action, decision: Decision) -> Decision:
        try:
            approval = self._approval_hook(action=action, decision=decision, ctx=self.ctx)
        except Exception as exc:
            return decision.model_copy(update={
                "verdict": "deny",
                "reasons": decision.reasons + (f"approver failed ({_describe(exc)}); denied (fail closed)",),
            })
        if approval is None:
            return decision
        if not isinstance(approval, Approval):
            return decision.model_copy(update={
                "verdict": "deny",
                "reasons": decision.reasons + (f"approver returned {type(approval).__name__}, not an Approval; denied",),
            })
        return _apply_approval(decision, approval)

    def _observe(self, action: Action, decision: Decision) -> Decision:
        ctx = self.ctx
        for name, call in self._observer_calls:
            try:
                call(action, decision, ctx)
            except Exception as exc:
                if name in self._fail_open:
                    continue
                # Nothing runs unrecorded: an observer that failed turns the decision into a
                # deny, and the observers after it (the audit trail runs last) see that deny.
                decision = decision.model_copy(update={
                    "verdict": "deny",
                    "enforced": True,
                    "reasons": decision.reasons + (f"observer '{name}' failed ({_describe(exc)}); denied (fail closed)",),
                    "plugins": decision.plugins + (name,),
                })
        return decision

    def explain_votes(self, action: Action) -> list[tuple[str, str]]:
        """Each plugin's own vote on ``action`` (no combination, nothing recorded), for
        ``lictor explain``. Plugins with state (rate limits) count this call like any other."""
        out = []
        for name, call in self._action_calls:
            try:
                vote = call(action, self.ctx)
            except Exception as exc:
                out.append((name, f"raised {type(exc).__name__}: {exc} (counts as deny unless fail_open)"))
                continue
            out.append((name, "no opinion" if vote is None else vote.summary()))
        return out

    # -- approvals -----------------------------------------------------------------------------
    def resolve_approval(self, decision: Decision, approval: Approval) -> Decision:
        """Turn a pending ``approve`` decision into allow / deny with a human's answer.

        Adapters call this when the human answers (after a framework pause). The resolution is a
        decision of its own (recorded, with ``approval`` and the pending decision's id in its
        reasons); an approval with edited ``args`` runs the action with those arguments.
        """
        if decision.verdict != "approve":
            raise ValueError(f"only an 'approve' decision can be resolved, this one is {decision.verdict!r}")
        if not isinstance(approval, Approval):
            raise TypeError("approval must be a lictor.Approval")
        resolved = _apply_approval(decision, approval, resolves=True)
        resolved = resolved.model_copy(update={"decision_id": f"{self._id_prefix}-{next(self._ids)}"})
        action = decision.action
        assert action is not None
        return self._observe(action, resolved)

    # -- services --------------------------------------------------------------------------------
    @property
    def state(self) -> StateBackend:
        """The counters and flags backend (memory or Redis)."""
        return self._state

    @property
    def audit(self) -> Any:
        """The audit trail (``gov.audit.verify()``); raises when the policy has no ``audit:``."""
        plugin = self.pm.get_plugin("audit")
        if plugin is None or not getattr(plugin, "active", False):
            raise RuntimeError("this Governor keeps no audit trail: add `audit: {sink: sqlite, path: ...}` to the policy")
        return plugin

    def plugins(self) -> list[PluginInfo]:
        """Every loaded plugin, in call order of ``lictor_check_action``, with its source."""
        out = []
        for plugin in self.pm.get_plugins():
            name = self.pm.get_name(plugin) or "?"
            hooks = [h.name for h in (self.pm.get_hookcallers(plugin) or [])]
            out.append(PluginInfo(name, self._sources.get(name, "code"), sorted(hooks), plugin))
        order = [n for n, _ in getattr(self, "_action_calls", ())]  # also during lictor_configure
        out.sort(key=lambda p: (order.index(p.name) if p.name in order else len(order), p.name))
        return out

    def close(self) -> None:
        """Flush and release everything (audit journal, connections). Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        errors = []
        for impl in self.pm.hook.lictor_shutdown.get_hookimpls():
            try:
                impl.function(*[{"ctx": self.ctx}[n] for n in impl.argnames])
            except Exception as exc:  # report all, after trying all
                errors.append(f"{impl.plugin_name}: {exc}")
        try:
            self._state.close()
        except Exception as exc:
            errors.append(f"state: {exc}")
        if errors:
            raise RuntimeError("errors while closing the Governor: " + "; ".join(errors))

    def __enter__(self) -> "Governor":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _combine(votes: list[tuple[str, Decision]]) -> tuple[str, bool]:
    """The strongest verdict among the votes (deny > approve > redact), and whether any halts."""
    rank, verdict, halt = -1, "allow", False
    for _, vote in votes:
        r = VERDICT_RANK[vote.verdict]
        if r > rank:
            rank, verdict = r, vote.verdict
        halt = halt or vote.halt
    return verdict, halt


def _apply_approval(decision: Decision, approval: Approval, resolves: bool = False) -> Decision:
    action = decision.action
    who = approval.approver
    note = f": {approval.comment}" if approval.comment else ""
    if approval.approved:
        verdict = "allow"
        reason = f"approved by {who}{note}"
        if approval.args is not None and action is not None and approval.args != action.args:
            action = action.with_args(dict(approval.args))
            verdict = "redact"
            reason = f"approved by {who} with edited arguments{note}"
    else:
        verdict = "deny"
        reason = f"refused by {who}{note}"
    if resolves:
        reason += f" (answer to pending decision {decision.decision_id})"
    return decision.model_copy(update={
        "verdict": verdict,
        "action": action,
        "approval": approval,
        "reasons": decision.reasons + (reason,),
    })


def _coerce_policy(policy: PolicyLike) -> Policy:
    if policy is None:
        return policy_from_dict({})
    if isinstance(policy, Policy):
        return policy
    if isinstance(policy, (str, Path)):
        return load_policy_file(policy)
    if isinstance(policy, Mapping):
        return policy_from_dict(dict(policy))
    raise TypeError(f"policy must be a Policy, a dict or a path, got {type(policy).__name__}")


def _state_from_policy(policy: Policy) -> StateBackend:
    if policy.state.backend == "memory":
        return MemoryState()
    from .redis_state import RedisState

    try:
        return RedisState(policy.state.url or "", prefix=policy.state.prefix, flag_refresh=policy.state.flag_refresh)
    except ImportError as exc:
        raise PolicyError(f"{policy.where(('state', 'backend'))} state.backend: {exc}") from None
    except ConnectionError as exc:
        raise PolicyError(f"{policy.where(('state', 'url'))} state.url: {exc}") from None
