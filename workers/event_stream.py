"""The fraud agent's event stream on RabbitMQ: its topology, publishing, reading, parsing.

Topology (every name takes an optional prefix, which the tests use to stay apart):

- exchange ``transactions`` (direct, durable) → queue ``transactions`` (routing key
  ``transaction``, durable, dead-letter exchange ``transactions.dead`` for anything the
  broker itself rejects);
- exchange ``fraud.decisions`` (fanout, durable) → queue ``fraud.decisions.log`` (durable, so
  decisions wait for whoever reads them);
- exchange ``transactions.dead`` (fanout, durable) → queue ``transactions.dead``.

The consumer that decides the events is `workers.events`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kombu import Connection, Exchange, Producer, Queue
from pydantic import ValidationError

from nodes.ask import describe_error
from state.fraud_events import TransactionEvent
from workers.settings import broker_url as settings_broker_url

__all__ = [
    "ROUTING_KEY",
    "EventTopology",
    "broker_url",
    "parse_event_body",
    "publish_events",
    "read_queue",
]


ROUTING_KEY = "transaction"


def broker_url(url: str | None = None) -> str:
    """`url`, else the workers' broker (``AGENT_PATTERNS_BROKER_URL``, else local RabbitMQ)."""
    return url or settings_broker_url()


@dataclass(frozen=True)
class EventTopology:
    """The exchanges and queues of the event stream, and the dead-letter rule.

    Attributes:
        prefix: prepended to every exchange and queue name (empty in production).
        max_attempts: deliveries of a failing event before it is dead-lettered.
    """

    prefix: str = ""
    max_attempts: int = 3

    def __post_init__(self) -> None:
        if not 1 <= self.max_attempts <= 20:
            raise ValueError(f"max_attempts must be between 1 and 20, got {self.max_attempts}")

    @property
    def transactions(self) -> Exchange:
        """Where transaction events are published."""
        return Exchange(f"{self.prefix}transactions", "direct", durable=True)

    @property
    def decisions(self) -> Exchange:
        """Where decisions are published (fanout: every bound queue gets each one)."""
        return Exchange(f"{self.prefix}fraud.decisions", "fanout", durable=True)

    @property
    def dead(self) -> Exchange:
        """Where dead events go."""
        return Exchange(f"{self.prefix}transactions.dead", "fanout", durable=True)

    @property
    def transactions_queue(self) -> Queue:
        """The queue consumers read events from."""
        return Queue(
            f"{self.prefix}transactions",
            self.transactions,
            routing_key=ROUTING_KEY,
            durable=True,
            queue_arguments={"x-dead-letter-exchange": self.dead.name},
        )

    @property
    def decisions_queue(self) -> Queue:
        """The durable log of published decisions."""
        return Queue(f"{self.prefix}fraud.decisions.log", self.decisions, durable=True)

    @property
    def dead_queue(self) -> Queue:
        """The dead-letter queue (each message with ``x-reason`` and ``x-attempts``)."""
        return Queue(f"{self.prefix}transactions.dead", self.dead, durable=True)

    def queues(self) -> list[Queue]:
        """Every queue of the topology."""
        return [self.transactions_queue, self.decisions_queue, self.dead_queue]

    def declare(self, channel: Any) -> None:
        """Declare every exchange, queue and binding (idempotent)."""
        for queue in self.queues():
            queue.bind(channel).declare()

    def delete(self, channel: Any) -> None:
        """Delete every queue and exchange (tests clean up with it)."""
        for queue in self.queues():
            queue.bind(channel).delete()
        for exchange in (self.transactions, self.decisions, self.dead):
            exchange.bind(channel).delete()


def parse_event_body(body: bytes | str) -> TransactionEvent | str:
    """The event in a message body, or why it is malformed (one line)."""
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
        return TransactionEvent.model_validate_json(text)
    except UnicodeDecodeError as exc:
        return f"not UTF-8 text ({exc.reason})"
    except ValidationError as exc:
        return describe_error(exc)


def _body_bytes(item: bytes | str | Mapping[str, Any]) -> bytes:
    if isinstance(item, bytes):
        return item
    if isinstance(item, str):
        return item.encode("utf-8")
    return json.dumps(item).encode("utf-8")


def publish_events(
    items: Iterable[bytes | str | Mapping[str, Any]],
    *,
    topology: EventTopology | None = None,
    url: str | None = None,
) -> int:
    """Publish events (dicts as JSON; bytes and text as they are) with publisher confirms.

    Returns:
        How many were published (each confirmed by the broker).
    """
    topo = topology or EventTopology()
    count = 0
    with Connection(broker_url(url), transport_options={"confirm_publish": True}) as conn:
        channel = conn.channel()
        topo.declare(channel)
        producer = Producer(channel, exchange=topo.transactions, routing_key=ROUTING_KEY)
        for item in items:
            body = _body_bytes(item)
            producer.publish(
                body,
                content_type="application/json",
                content_encoding="binary",
                delivery_mode=2,
            )
            count += 1
    return count


def read_queue(
    queue_name: str, *, url: str | None = None, limit: int = 10_000
) -> list[tuple[dict[str, Any], bytes]]:
    """Take every message waiting in a queue: ``(headers, body)`` pairs, acknowledged."""
    taken: list[tuple[dict[str, Any], bytes]] = []
    with Connection(broker_url(url)) as conn:
        queue = Queue(queue_name, no_declare=True).bind(conn.channel())
        while len(taken) < limit:
            message = queue.get(no_ack=False, accept=["json", "application/data"])
            if message is None:
                break
            body = message.body
            raw = body.encode("utf-8") if isinstance(body, str) else bytes(body)
            taken.append((dict(message.headers or {}), raw))
            message.ack()
    return taken
