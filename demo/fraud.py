"""Demo card-fraud desk: read-only enrichment tools, the ``block_card`` action, demo events.

The data is a small fixed set of users, merchants and devices so every demo, test and
notebook is deterministic and offline. Three tools only read (a user's history, a merchant's
reputation, device and geo signals); ``block_card`` changes the world (it blocks the user's
card at the demo issuer, `demo.effects`) and so declares side effects.

One merchant, ``Unreachable Payments``, plays an outage: its reputation lookup always fails,
which is how the event tests make an event fail on every attempt.

Example:
    >>> user_history.invoke({"user_id": "u-100"})["home_country"]
    'US'
    >>> merchant_reputation.invoke({"merchant": "QuickGift Cards Ltd"})["reputation"]
    0.1
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from langchain_core.tools import BaseTool
from pydantic import BaseModel, Field

from demo.effects import DuplicateEffectError, record_effect
from demo.fraud_stand_ins import register_stand_ins
from tools.registry import agent_tool

__all__ = [
    "FRAUD_EVENT",
    "FRAUD_REQUEST",
    "MERCHANTS",
    "OUTAGE_MERCHANT",
    "USERS",
    "block_card",
    "card_desk_tools",
    "demo_event",
    "demo_stream",
    "device_signals",
    "merchant_reputation",
    "register_stand_ins",
    "user_history",
]

USERS: dict[str, dict[str, Any]] = {
    "u-100": {"name": "Dana Reyes", "home_country": "US", "devices": ["d-100a", "d-100b"],
              "avg_amount": 62.0, "transactions": 412, "chargebacks": 0},
    "u-200": {"name": "Sam Okafor", "home_country": "DE", "devices": ["d-200a"],
              "avg_amount": 310.0, "transactions": 158, "chargebacks": 0},
    "u-300": {"name": "Lee Park", "home_country": "GB", "devices": ["d-300a"],
              "avg_amount": 41.0, "transactions": 9, "chargebacks": 1},
    "u-400": {"name": "Kim Novak", "home_country": "FR", "devices": ["d-400a"],
              "avg_amount": 95.0, "transactions": 230, "chargebacks": 0},
}  # fmt: skip

MERCHANTS: dict[str, dict[str, Any]] = {
    "Corner Coffee": {"category": "cafe", "reputation": 0.97, "fraud_reports": 0},
    "Acme Electronics": {"category": "electronics", "reputation": 0.85, "fraud_reports": 2},
    "City Grocers": {"category": "grocery", "reputation": 0.95, "fraud_reports": 0},
    "NightOwl Travel": {"category": "travel", "reputation": 0.55, "fraud_reports": 6},
    "QuickGift Cards Ltd": {"category": "gift cards", "reputation": 0.1, "fraud_reports": 41},
    "CryptoFastSwap": {"category": "crypto exchange", "reputation": 0.15, "fraud_reports": 29},
}

OUTAGE_MERCHANT = "Unreachable Payments"
"""The merchant whose reputation lookup always fails (a poison event for the tests)."""


class UserArgs(BaseModel):
    """Arguments of `user_history`."""

    user_id: str = Field(description="the card holder's id, e.g. u-100")


class MerchantArgs(BaseModel):
    """Arguments of `merchant_reputation`."""

    merchant: str = Field(description="the merchant's name as on the transaction")


class DeviceArgs(BaseModel):
    """Arguments of `device_signals`."""

    user_id: str = Field(description="the card holder's id")
    device_id: str | None = Field(default=None, description="the paying device, if known")
    country: str | None = Field(default=None, description="the paying country, if known")


class BlockCardArgs(BaseModel):
    """Arguments of `block_card`."""

    user_id: str = Field(description="whose card to block")
    event_id: str = Field(description="the transaction event that justifies the block")
    reason: str = Field(min_length=1, max_length=500, description="why, for the card holder")


@agent_tool(args_schema=UserArgs, side_effects=False)
def user_history(user_id: str) -> dict[str, Any]:
    """A card holder's history: home country, usual amount, transactions, chargebacks."""
    user = USERS.get(user_id)
    if user is None:
        return {"user_id": user_id, "known": False, "transactions": 0, "avg_amount": None,
                "home_country": None, "chargebacks": 0}  # fmt: skip
    fields = ("home_country", "avg_amount", "transactions", "chargebacks")
    return {"user_id": user_id, "known": True, **{key: user[key] for key in fields}}


@agent_tool(args_schema=MerchantArgs, side_effects=False)
def merchant_reputation(merchant: str) -> dict[str, Any]:
    """A merchant's reputation (0 bad to 1 good), category and fraud reports this year."""
    if merchant == OUTAGE_MERCHANT:
        raise ConnectionError("the merchant reputation service is unavailable")
    found = MERCHANTS.get(merchant)
    if found is None:
        return {"merchant": merchant, "known": False, "reputation": 0.5, "fraud_reports": 0}
    return {"merchant": merchant, "known": True, **found}


@agent_tool(args_schema=DeviceArgs, side_effects=False)
def device_signals(
    user_id: str, device_id: str | None = None, country: str | None = None
) -> dict[str, Any]:
    """Whether the paying device is one of the user's and the country is their home."""
    user = USERS.get(user_id, {})
    home = user.get("home_country")
    return {
        "device_id": device_id,
        "known_device": device_id is not None and device_id in user.get("devices", []),
        "country": country,
        "home_country": home,
        "abroad": country is not None and home is not None and country != home,
    }


@agent_tool(args_schema=BlockCardArgs, side_effects=True, idempotent=True, locked_args=("user_id",))
def block_card(user_id: str, event_id: str, reason: str) -> dict[str, Any]:
    """Block the card holder's card at the issuer: every further payment is declined."""
    try:
        recorded = record_effect(
            "card_block", {"user_id": user_id, "event_id": event_id, "reason": reason},
            unique_on="user_id",
        )  # fmt: skip
    except DuplicateEffectError as exc:
        return {"user_id": user_id, "status": "already_blocked",
                "since_event": exc.earlier.get("event_id")}  # fmt: skip
    return {"user_id": user_id, "event_id": recorded["event_id"], "status": "blocked"}


def card_desk_tools() -> list[BaseTool]:
    """The read-only tools every event is enriched with."""
    return [user_history, merchant_reputation, device_signals]


def demo_event(event_id: str, **fields: Any) -> dict[str, Any]:
    """A valid demo event: a small coffee purchase at home unless `fields` say otherwise."""
    event = {
        "event_id": event_id,
        "user_id": "u-100",
        "amount": 4.8,
        "currency": "USD",
        "merchant": "Corner Coffee",
        "time": "2026-11-20T08:15:00+00:00",
        "risk_signal": 0.05,
        "device_id": "d-100a",
        "country": "US",
    }
    return {**event, **fields}


FRAUD_EVENT = demo_event(
    "evt-demo-1",
    user_id="u-300",
    amount=950.0,
    currency="GBP",
    merchant="QuickGift Cards Ltd",
    time="2026-11-20T03:12:00+00:00",
    risk_signal=0.91,
    device_id="d-unknown-77",
    country="NG",
)
"""The scenario's event: a gift-card burst from an unknown device abroad (a block)."""

FRAUD_REQUEST = json.dumps(FRAUD_EVENT)
"""The scenario's input text (the event as JSON)."""

_KINDS: list[dict[str, Any]] = [
    {},  # allow: a coffee at home
    {"user_id": "u-200", "amount": 280.0, "merchant": "Acme Electronics", "device_id": "d-200a",
     "country": "DE", "currency": "EUR"},  # allow
    {"user_id": "u-400", "amount": 640.0, "merchant": "NightOwl Travel", "device_id": "d-400a",
     "country": "FR", "risk_signal": 0.55, "currency": "EUR"},  # flag: weaker signals
    {"user_id": "u-200", "amount": 1900.0, "merchant": "CryptoFastSwap", "device_id": "d-x9",
     "country": "RU", "risk_signal": 0.88, "currency": "EUR"},  # block: strong evidence
    {"user_id": "u-100", "amount": 75.0, "merchant": "QuickGift Cards Ltd", "risk_signal": 0.3},
]  # fmt: skip


def demo_stream(count: int, *, seed: int = 7, prefix: str = "evt") -> list[dict[str, Any]]:
    """`count` valid, distinct demo events of every kind (allow, flag, block), deterministic.

    Args:
        count: how many events.
        seed: the random seed (same seed, same events).
        prefix: the event ids' prefix (ids are ``<prefix>-<n>``).
    """
    rng = random.Random(seed)
    start = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    events = []
    for number in range(count):
        kind = dict(rng.choice(_KINDS))
        when = (start + timedelta(minutes=number)).isoformat()
        events.append(demo_event(f"{prefix}-{number}", time=when, **kind))
    return events
