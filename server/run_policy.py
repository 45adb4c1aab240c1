"""What a run may carry: the operator's safeguards, and who may send input or decide approvals.

The ``threads.create_run`` handler (every ``/runs`` and ``/threads/{id}/runs`` route) applies:

1. **Operator policy** (`state.policy.OperatorPolicy`, from the environment): a run whose
   ``context`` or ``config.configurable`` (LangGraph turns the latter into the context) asks
   for a looser safeguard than the operator's is refused with 403 naming the field, the value
   asked for and the operator's; a stricter one passes. Where the operator is stricter than a
   graph's default and the run names nothing, the operator's value is put into the context.
2. **Deciding an approval** (a run whose ``command`` carries ``resume``: the approval gate is
   the only place the graphs interrupt) needs the ``reviewer`` or ``admin`` role, on any
   thread, including the caller's own: a customer cannot approve their own refund. The
   owner may still cancel a pending request by sending a new message. A resume needs an
   existing thread (``if_not_exists="create"`` is refused), so an unknown thread id is a 404.
3. **A reviewer's run on a thread** may only resume: no input, no ``update`` or ``goto``, no
   webhook (which would send another user's conversation elsewhere), no checkpoint to fork
   from, and no ``interrupt``/``rollback`` of the runs in flight.
4. **A command's ``update`` or ``goto``** (which write the thread's state or skip the graph's
   routing) only for admins.
5. **Anything else** (new input, resumes) only on the caller's own threads (admins: any); a
   new thread is stamped with the caller as owner.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from langgraph_sdk import Auth

from server.caller import Caller, forbidden
from state.policy import OperatorPolicy, PolicyError

__all__ = ["enforce_operator_policy", "operator_policy", "threads_create_run"]

_REVIEWER_FORBIDDEN_KEYS = ("webhook", "interrupt_before", "interrupt_after")


@functools.cache
def operator_policy() -> OperatorPolicy:
    """The operator's policy, read from the environment once per server process."""
    return OperatorPolicy.from_env()


def _present(mapping: Mapping[str, Any] | None) -> dict[str, Any]:
    """The entries of `mapping` that carry a value (clients send explicit nulls)."""
    return {k: v for k, v in (mapping or {}).items() if v is not None}


def enforce_operator_policy(kwargs: dict[str, Any], policy: OperatorPolicy | None = None) -> None:
    """Refuse a run (or cron payload) asking for looser safeguards; fill in stricter defaults.

    Args:
        kwargs: the run's kwargs (``context``, ``config``, ...); its context may be filled in.
        policy: the operator's policy; None reads it from the environment.

    Raises:
        HTTPException: 422 for a value that is not valid at all, 403 for a looser one.
    """
    policy = policy or operator_policy()
    configurable = (kwargs.get("config") or {}).get("configurable") or {}
    for source, requested in (("context", kwargs.get("context")), ("configurable", configurable)):
        try:
            violations = policy.violations(_present(requested))
        except PolicyError as exc:
            raise forbidden(f"run {source}: {exc}", status_code=422) from None
        if violations:
            reasons = "; ".join(str(v) for v in violations)
            raise forbidden(f"refused by the operator's policy: run {source} {reasons}")
    tightened = policy.tightened_defaults()
    if tightened:
        context = kwargs.get("context")
        if not isinstance(context, dict):
            context = kwargs["context"] = {}
        for name, value in tightened.items():
            if context.get(name) is None and configurable.get(name) is None:
                context[name] = value


def _check_reviewer_resume(value: dict[str, Any], command: dict[str, Any]) -> None:
    """A reviewer's run may only answer the pending approval, nothing else."""
    kwargs = value.get("kwargs") or {}
    extra = sorted(set(command) - {"resume"})
    if extra:
        raise forbidden(f"a reviewer may only resume (the command also has {', '.join(extra)})")
    if kwargs.get("input") is not None:
        raise forbidden("a reviewer may resume a thread, not send it new input")
    for key in _REVIEWER_FORBIDDEN_KEYS:
        if kwargs.get(key):
            raise forbidden(f"a reviewer's resume may not set {key}")
    if ((kwargs.get("config") or {}).get("configurable") or {}).get("checkpoint_id"):
        raise forbidden("a reviewer's resume may not fork from an earlier checkpoint")
    if value.get("multitask_strategy") in ("interrupt", "rollback"):
        raise forbidden("a reviewer's resume may not interrupt or roll back runs in flight")


async def threads_create_run(
    ctx: Auth.types.AuthContext, value: dict[str, Any]
) -> dict[str, Any] | None:
    """Authorize a new run; return the owner filter its thread must match (None: any)."""
    caller = Caller.of(ctx)
    kwargs = value.get("kwargs") or {}
    command = _present(kwargs.get("command"))
    enforce_operator_policy(kwargs)
    written = sorted({"update", "goto"} & set(command))
    if written and not caller.is_admin:
        raise forbidden(
            f"a run's command may not carry {' or '.join(written)} (it writes the thread's "
            "state or jumps past the graph's own routing): only an admin may"
        )
    if "resume" not in command:
        if value.get("metadata") is None:
            value["metadata"] = {}
        caller.stamp_owner(value)
        return None if caller.is_admin else caller.owned()
    owner = (value.get("metadata") or {}).get("owner")
    if owner is not None and not caller.is_admin:  # run metadata is stamped on the checkpoints
        raise forbidden("a resume may not set metadata.owner: the thread keeps its owner")
    if not caller.may_decide:
        raise forbidden(
            "deciding an approval needs the reviewer or admin role; to withdraw your request, "
            'send a new message with "cancel_pending": true in the input'
        )
    if value.get("if_not_exists") == "create":
        raise forbidden(
            "a resume needs an existing thread waiting for a decision; "
            "if_not_exists='create' would start an empty one",
            status_code=422,
        )
    if caller.role == "reviewer":
        _check_reviewer_resume(value, command)
    return None
