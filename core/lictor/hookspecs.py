"""The plugin contract: every hook a Lictor plugin may implement, and what each must return.

A plugin author learns the contract here and nowhere else. Built-in protections, the rules
engine and the audit trail are ordinary plugins on these same hooks; a user's plugin is called
exactly like them.

A plugin is any object or module with functions named like the hooks below and marked with
``@lictor.hookimpl``. An implementation may accept any subset of a hook's arguments, by name.
Register plugins with ``Governor(policy, plugins=[...])``, ``gov.register(plugin, name=...)`` or,
for installed packages, the ``lictor`` entry-point group::

    [project.entry-points.lictor]
    my_plugin = "my_package.my_module"

Every plugin is registered under a name; a policy can block any of them with
``plugins: {disable: [name]}``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

import pluggy

if TYPE_CHECKING:  # pragma: no cover - imports for type hints only
    from .context import Context
    from .models import Action, Approval, Decision
    from .policy.schema import Policy

hookspec = pluggy.HookspecMarker("lictor")
hookimpl = pluggy.HookimplMarker("lictor")


# -------------------------------------------------------------------------
# Configuration: once, when a Governor is built
# -------------------------------------------------------------------------


@hookspec
def lictor_configure(policy: "Policy", ctx: "Context") -> None:
    """Read this plugin's configuration from the policy and prepare for checks.

    Called once per Governor, after every plugin is registered and before the first check.
    A plugin reads its own section with ``policy.section(name)`` (the ``protections.<name>`` or
    ``plugins.config.<name>`` mapping of the policy file, ``None`` when absent) and does its
    expensive work here (compile patterns, build indexes) so that checks stay fast.

    :param policy: The validated policy (``lictor.policy.Policy``).
    :param ctx: The Governor's context: shared state, clock, the Governor itself.

    Raise ``lictor.PolicyError`` (or ``ValueError``) naming the field when the section is
    invalid; the Governor is then not built (a policy is never half applied). The return value
    is ignored.

    A plugin that has nothing to do under this policy (e.g. its section is absent) may set an
    attribute ``active = False`` here: the Governor then leaves it out of the check and observer
    calls entirely, so an unused built-in costs nothing per check.
    """


# -------------------------------------------------------------------------
# Checks: on every action, on the hot path
# -------------------------------------------------------------------------


@hookspec
def lictor_check_action(action: "Action", ctx: "Context") -> Optional["Decision"]:
    """Vote on an action before it runs.

    Called for every action, in plugin order (``tryfirst`` / ``trylast`` apply). Each plugin may
    vote; the Governor combines the votes: ``deny`` beats ``approve`` beats ``redact`` beats
    ``allow``. A ``redact`` vote carries the rewritten action (``Decision.redact(reason,
    action=...)``) and every later plugin sees that rewritten action. The reasons, rule ids and
    risk ids of every vote that is not a plain allow are kept in the final decision.

    :param action: The action to judge (possibly already rewritten by an earlier plugin).
    :param ctx: The Governor's context.

    :return: A ``Decision`` vote, or ``None`` for no opinion. Must be fast (microseconds) and
        must not block on I/O. Raising an exception denies the action, naming the plugin and
        the error (fail closed), unless the policy lists the plugin in ``plugins.fail_open``.

    ``hookwrapper``/``wrapper`` implementations are not supported on this hook.

    A plugin that judges only some actions may define ``applies_to(kind, name) -> bool`` (a
    plain method, not a hook). When it returns ``False`` for an action's kind and name, the
    Governor does not call this plugin's ``lictor_check_action`` for such actions at all. The
    answer is cached per (kind, name) until the Governor is reconfigured, so it must depend
    only on those two values and the plugin's configuration, never on arguments, agent,
    metadata or state. When in doubt, return ``True``: the check hook can still return ``None``.
    An ``applies_to`` that raises counts as ``True``. Selection uses the action as submitted.
    """


@hookspec
def lictor_check_output(action: "Action", output: Any, ctx: "Context") -> Optional["Decision"]:
    """Vote on what an action produced (a tool result, a model answer) before the agent sees it.

    Same combination and fail-closed rules as :func:`lictor_check_action`. A ``redact`` vote
    carries the rewritten output (``Decision.redact(reason, output=...)``), which later plugins
    see in place of the original.

    :param action: The action that produced the output.
    :param output: The output, usually text; adapters pass what the framework produced.
    :param ctx: The Governor's context.

    :return: A ``Decision`` vote, or ``None`` for no opinion.
    """


# -------------------------------------------------------------------------
# Approvals: when a vote says "approve"
# -------------------------------------------------------------------------


@hookspec(firstresult=True)
def lictor_request_approval(
    action: "Action", decision: "Decision", ctx: "Context"
) -> Optional["Approval"]:
    """Answer an ``approve`` decision (a human approver, a ticketing system, a test).

    Called when the combined verdict is ``approve``, before the decision is returned. The first
    plugin to return an ``Approval`` answers (``firstresult``): approved turns the decision
    into ``allow`` (or ``redact`` when the approver edited the arguments), refused into ``deny``;
    the approval is recorded with the decision.

    :param action: The action waiting for approval.
    :param decision: The combined decision (verdict ``approve``, with reasons and risks).
    :param ctx: The Governor's context.

    It is called synchronously, from ``acheck`` too: an approver that has to wait for a person
    should return ``None`` and let the adapter pause the run the framework's way, rather than
    block the thread (or the event loop).

    :return: An ``Approval``, or ``None`` when this plugin cannot answer now. With no answer the
        decision stays ``approve`` (pending): an adapter pauses the run the framework's way and
        later calls ``Governor.resolve_approval``; a caller that cannot pause treats a pending
        decision as blocked (``Decision.blocked``).
    """


# -------------------------------------------------------------------------
# Observers: after every decision
# -------------------------------------------------------------------------


@hookspec
def lictor_on_decision(action: "Action", decision: "Decision", ctx: "Context") -> None:
    """Observe a final decision: audit trail, metrics, traces.

    Called once for every decision the Governor returns (action checks, output checks and
    approval resolutions), in plugin order, before the decision is handed to the caller: when
    ``check()`` returns, every observer has seen the decision (the audit record is written).

    :param action: The action as submitted (before any rewrite).
    :param decision: The final decision.
    :param ctx: The Governor's context.

    Observers cannot change the verdict. An observer that raises makes the Governor deny the
    action (nothing is allowed unrecorded), unless the policy lists it in ``plugins.fail_open``;
    the observers after it see that deny. The built-in audit trail is ``trylast``, so it records
    the decision the caller actually gets. The return value is ignored.
    """


@hookspec
def lictor_shutdown(ctx: "Context") -> None:
    """Release resources (flush the audit journal, close connections).

    Called once by ``Governor.close()`` (also on ``with Governor(...)`` exit). Must be safe to
    call when no check ever ran. The return value is ignored.
    """
