"""ASI03 delegation narrowing: an agent acting for another gets the intersection of their rights.

Adapters say on whose behalf an action is taken with ``metadata["on_behalf_of"]`` (a name or a
list of names) and/or ``metadata["handoff_chain"]`` (the agents a task passed through, first to
last). The action has already been judged as its acting agent by every plugin; this protection
judges it again *as each principal in the chain* — with the principal's own roles from the
policy's ``agents:`` section, never the actor's — against ``tool_access`` and (unless
``rules: false``) the policy's rules. The strictest verdict wins, so a delegate can never do
what any agent in its chain could not do itself. Rate limits are not counted a second time.
"""

from __future__ import annotations

from typing import Any, Optional

from ..hookspecs import hookimpl
from ..models import ACTION_KINDS, Action, Decision
from ..policy.roles import RoleResolver
from ._common import KindScoped, Section

__all__ = ["DelegationPlugin", "principals_of"]


def principals_of(action: Action) -> Optional[tuple[str, ...]]:
    """The agents ``action`` is taken for (without the actor), in chain order; None when the
    metadata is malformed (which is refused: fail closed)."""
    md = action.metadata
    if not md:
        return ()
    out: list[str] = []
    for key in ("handoff_chain", "on_behalf_of"):
        v = md.get(key)
        if v is None:
            continue
        if isinstance(v, str):
            v = [v]
        if not isinstance(v, (list, tuple)) or not all(isinstance(x, str) and x for x in v):
            return None
        out.extend(v)
    actor = action.agent
    return tuple(dict.fromkeys(p for p in out if p != actor))


class DelegationPlugin(KindScoped):
    """Judges delegated actions as each principal in the chain (ASI03).
    Registered as ``delegation``; inactive without a ``protections.delegation`` section."""

    name = "delegation"
    risks = ("ASI03",)

    def __init__(self) -> None:
        self.active = False
        self._kinds: frozenset[str] = frozenset()
        self._max_depth = 4
        self._use_rules = True
        self._unknown_deny = False
        self._roles: Optional[RoleResolver] = None
        self._gov: Any = None
        self._known: Any = None

    @hookimpl
    def lictor_configure(self, policy: Any, ctx: Any) -> None:
        sec = Section(policy, self.name)
        self.active = sec.present
        if not self.active:
            return
        self._kinds = sec.kinds("on", [k for k in ACTION_KINDS if k != "model_output"])
        self._max_depth = sec.integer("max_depth", 4, minimum=1)
        self._use_rules = sec.boolean("rules", True)
        self._unknown_deny = sec.choice("unknown_principal", ("allow", "deny"), "allow") == "deny"
        sec.done(("on", "max_depth", "rules", "unknown_principal"))
        sec.raise_problems()
        self._roles = RoleResolver(policy)
        self._gov = ctx.governor
        import fnmatch
        import re

        pats = [re.compile(fnmatch.translate(p)) for p in policy.agents]
        self._known = lambda name: any(p.match(name) for p in pats)

    def _deny(self, why: str) -> Decision:
        return Decision.deny(why, rule_id="delegation", risks=self.risks)

    @hookimpl
    def lictor_check_action(self, action: Action, ctx: Any) -> Optional[Decision]:
        if not self.active or action.kind not in self._kinds or not action.metadata:
            return None
        md = action.metadata
        if "on_behalf_of" not in md and "handoff_chain" not in md:
            return None
        principals = principals_of(action)
        if principals is None:
            return self._deny("delegation: metadata on_behalf_of / handoff_chain must be a name or a list of names; "
                              "denied (fail closed)")
        if not principals:
            return None
        if len(principals) + 1 > self._max_depth:
            return self._deny(f"delegation chain {' -> '.join(principals + (action.agent,))} is deeper than "
                              f"max_depth {self._max_depth}")
        pm = self._gov.pm
        access = pm.get_plugin("tool_access")
        rules = pm.get_plugin("rules") if self._use_rules else None
        worst: Optional[Decision] = None
        reasons: list[str] = []
        rule_ids: list[str] = []
        for p in principals:
            if self._unknown_deny and not self._known(p):
                return self._deny(f"delegation: principal '{p}' is not an agent the policy knows")
            proles = self._roles.of_name(p)  # type: ignore[union-attr]
            as_p = action.model_copy(update={"agent": p, "metadata": {k: v for k, v in md.items() if k != "roles"}})
            votes: list[tuple[str, str, str]] = []
            if access is not None and getattr(access, "judges", None) is not None and access.judges(action):
                v = access.judge(as_p, p, proles, ctx)
                if v is not None and v.verdict in ("deny", "approve"):
                    votes.append((v.verdict, v.reasons[0] if v.reasons else "", (v.rule_ids or ("tool_access",))[0]))
            if rules is not None:
                for t in rules.explain(as_p, ctx):
                    if t.matched and t.vote in ("deny", "approve"):
                        votes.append((t.vote, f"rule '{t.rule_id}'", t.rule_id))
            for verdict, why, rid in votes:
                reasons.append(f"acting for '{p}' (chain {' -> '.join(principals + (action.agent,))}), "
                               f"which may not do this: {why}")
                rule_ids.append(f"delegation:{rid}")
                if verdict == "deny":
                    worst = Decision.deny(reasons[-1], rule_id="delegation", risks=self.risks)
                elif worst is None:
                    worst = Decision.approve(reasons[-1], rule_id="delegation", risks=self.risks)
        if worst is None:
            return None
        object.__setattr__(worst, "reasons", tuple(reasons))
        object.__setattr__(worst, "rule_ids", ("delegation",) + tuple(dict.fromkeys(rule_ids)))
        return worst
