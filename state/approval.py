"""The approval protocol: what the gate asks (Agent Inbox's schema) and what it accepts.

The interrupt payload follows Agent Inbox's `HumanInterrupt`: a list of
``{action_request: {action, args}, config: {allow_accept, allow_edit, allow_respond,
allow_ignore}, description}``. The resume value may be Agent Inbox's reply (a list holding one
`HumanResponse`), a single response object, or a shorthand string (``"accept"``, ``"reject"``).
Parsed decisions and the audit record are pydantic models; state stores their JSON dumps so
the audit trail reads the same from Python, the SDK and Studio.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from typing_extensions import TypedDict

__all__ = [
    "ActionRequest",
    "ApprovalDecision",
    "ApprovalRecord",
    "DecisionType",
    "HumanInterrupt",
    "RecordedDecision",
    "HumanInterruptConfig",
    "InvalidDecisionError",
    "parse_decision",
]

DecisionType = Literal["accept", "edit", "response", "ignore"]
"""What a reviewer may answer."""
RecordedDecision = Literal["accept", "edit", "response", "ignore", "superseded"]
"""What the audit trail may record: a reviewer's answer, or ``superseded`` (the caller sent a
new message instead of answering, which cancels the request; see the input boundary)."""

_ALIASES: dict[str, DecisionType] = {
    "accept": "accept",
    "approve": "accept",
    "approved": "accept",
    "edit": "edit",
    "response": "response",
    "respond": "response",
    "ignore": "ignore",
    "reject": "ignore",
    "rejected": "ignore",
    "deny": "ignore",
}


class ActionRequest(TypedDict):
    """The action waiting for review: a tool name and its arguments."""

    action: str
    args: dict[str, Any]


class HumanInterruptConfig(TypedDict):
    """Which answers the reviewer may give."""

    allow_ignore: bool
    allow_respond: bool
    allow_edit: bool
    allow_accept: bool


class HumanInterrupt(TypedDict):
    """One request for review, in Agent Inbox's schema."""

    action_request: ActionRequest
    config: HumanInterruptConfig
    description: str


class InvalidDecisionError(ValueError):
    """A resume value that is not a valid decision; the message says what was expected."""


class ApprovalDecision(BaseModel):
    """A reviewer's answer to one request.

    Attributes:
        type: accept (run as requested), edit (run with changed arguments), response (do not
            run; give the model this message instead) or ignore (reject: do not run).
        args: for edit, the new arguments (or Agent Inbox's ``{"action", "args"}``); for
            response, the message text; otherwise unused.
        reviewer: who decided, for callers without a server (Python, the CLI). On a server
            with authentication the gate records the authenticated user and ignores this
            field, so nobody can write another person's name into the audit trail. Absent
            and unauthenticated: "unknown".
        reason: why; recorded in the audit trail and shown to the model on reject.
    """

    model_config = ConfigDict(extra="forbid")

    type: DecisionType
    args: Any = None
    reviewer: str | None = Field(default=None, min_length=1, max_length=200)
    reason: str | None = Field(default=None, max_length=4000)

    @model_validator(mode="before")
    @classmethod
    def _normalise(cls, value: Any) -> Any:
        if isinstance(value, dict) and isinstance(value.get("type"), str):
            kind = _ALIASES.get(value["type"].strip().lower())
            if kind is not None:
                value = {**value, "type": kind}
        return value

    @model_validator(mode="after")
    def _check_args(self) -> ApprovalDecision:
        if self.type == "edit":
            if not isinstance(self.args, dict) or not self.args:
                raise ValueError("an 'edit' decision needs args: the new tool arguments")
            if "args" in self.args:  # Agent Inbox's {"action", "args"} shape
                if not isinstance(self.args["args"], dict):
                    raise ValueError("args.args must be an object: the new tool arguments")
                extra = sorted(set(self.args) - {"action", "args"})
                if extra:
                    raise ValueError(
                        f"an edit is either the new arguments or {{'action', 'args'}}, "
                        f"not both (unexpected {', '.join(extra)})"
                    )
        if self.type == "response" and not (isinstance(self.args, str) and self.args.strip()):
            raise ValueError("a 'response' decision needs args: the message for the model")
        if self.type in ("accept", "ignore") and not (
            self.args is None or isinstance(self.args, dict)
        ):
            raise ValueError(
                f"an '{self.type}' takes no args (to change the arguments, answer 'edit'); "
                f"got {type(self.args).__name__}"
            )
        return self

    def edited_action(self, original_action: str) -> tuple[str, dict[str, Any]]:
        """The (tool name, arguments) an edit (or an accept echoing the request) names.

        Accepts both shapes: Agent Inbox's ``{"action", "args"}`` and bare arguments.
        """
        assert isinstance(self.args, dict)
        if "args" in self.args and isinstance(self.args["args"], dict):
            action = self.args.get("action") or original_action
            return str(action), dict(self.args["args"])
        return original_action, dict(self.args)


class ApprovalRecord(BaseModel):
    """One line of the audit trail: who decided what about which tool call, and when."""

    tool_call_id: str
    action: str
    args: dict[str, Any]
    decision: RecordedDecision
    edited_args: dict[str, Any] | None = None
    response: str | None = None
    reviewer: str
    reason: str | None = None
    decided_at: str = Field(default_factory=lambda: datetime.now(UTC).isoformat())
    policy: str = "side-effects"
    requested_at: str | None = None
    escalated: bool = False
    args_hash: str | None = None
    """Hash of `args` (`checkpointers.ledger.args_hash`): the decision binds to exactly these."""


def parse_decision(value: Any) -> ApprovalDecision:
    """Parse a resume value into a decision.

    Accepts Agent Inbox's reply (a list holding one response), a single response object, an
    `ApprovalDecision`, or a shorthand string such as ``"accept"`` or ``"reject"``.

    Raises:
        InvalidDecisionError: with a message that says what was received and what is expected.
    """
    if isinstance(value, ApprovalDecision):
        return value
    if isinstance(value, list | tuple):
        if len(value) != 1:
            raise InvalidDecisionError(
                f"expected one response for this request, got a list of {len(value)}"
            )
        value = value[0]
    if isinstance(value, str):
        value = {"type": value}
    if not isinstance(value, dict):
        raise InvalidDecisionError(
            f"expected a response object like {{'type': 'accept'}}, got {type(value).__name__}"
        )
    if isinstance(value.get("type"), str) and value["type"].strip().lower() not in _ALIASES:
        raise InvalidDecisionError(
            f"unknown decision type {value['type']!r}; use accept, edit, response or ignore"
        )
    try:
        return ApprovalDecision.model_validate(value)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'decision'}: {e['msg']}" for e in exc.errors()
        )
        raise InvalidDecisionError(f"invalid decision: {problems}") from exc
