"""The event plumbing of the fraud agent: RabbitMQ in, one durable decision per event out.

The exchanges and queues, publishing and reading are `workers.event_stream`; the audit log
of decisions is `workers.decision_audit`.

**At-least-once delivery, exactly-once decisions.** The consumer (`EventConsumer`) takes one
message at a time (prefetch 1, manual acknowledgement) and acknowledges it only after:

1. the event was decided on its own thread (the event id is the thread id) by the fraud
   graph, with ``durability="sync"``, so the decision is in the Postgres checkpoint; the run
   goes on until the thread finished or waits at an interrupt (a block awaiting approval);
2. the decision is in the audit log (table ``fraud_decision_audit``, one row per event id);
3. the decision is published to ``fraud.decisions`` with publisher confirms, and the audit
   row marked published.

A per-event Postgres advisory lock (the workers' thread lock key, `workers.locks`, taken as a
waiting session lock on the consumer's own connection and released by Postgres when a killed
consumer's connection drops) keeps two consumers, or a consumer and a Celery worker resuming
the thread, from running one event's thread at once.

A redelivered message (the consumer died before acknowledging) or a duplicate event (same
id) finds its state and never gets a second decision: a thread that already has a settled
decision is not run again; an attempt that stopped half-way continues from its
checkpoint (input ``None``); a decision in the audit log but not yet published is published;
one published already is acknowledged as a duplicate. The one window left: a consumer killed
after the broker confirmed the decision but before the audit row was marked published makes
the next delivery publish it again; every decision message carries the event id as its
``message_id`` so readers de-duplicate on it.

**Dead letters: a republish with an attempts header** (portable, and the reason travels
with the message). A malformed event (not UTF-8 JSON, or not a `TransactionEvent`) is
dead-lettered at once: it will never get better. An event whose run fails is republished to
``transactions`` with ``x-attempts`` (and ``x-last-error``) and the original acknowledged;
when ``x-attempts`` reaches ``max_attempts`` (default 3) it goes to ``transactions.dead``
with ``x-reason``, ``x-attempts`` and ``x-event-id`` instead. Every dead-lettered message is
also a row of the dead-letter table (`checkpointers.dead_letters`, source ``event``, the raw
body kept), where ``agent-patterns dlq`` lists, inspects and discards it. Infrastructure failures
(Postgres, the broker) are not the event's fault: the consumer stops without acknowledging,
and the broker redelivers the message to whichever consumer is alive.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from kombu import Connection, Consumer, Exchange, Message, Producer
from langchain_core.messages import HumanMessage
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.pregel import Pregel

from checkpointers.factory import open_checkpointer
from graphs.fraud_events import SERVED_OPTIONS, build_fraud_events_graph
from nodes.ask import describe_error
from state.fraud_events import TransactionEvent
from workers.decision_audit import DecisionAudit
from workers.event_stream import (
    ROUTING_KEY,
    EventTopology,
    broker_url,
    parse_event_body,
    publish_events,
    read_queue,
)

__all__ = [
    "DecisionAudit",
    "EventConsumer",
    "EventFailed",
    "EventTopology",
    "Outcome",
    "broker_url",
    "fraud_consumer",
    "parse_event_body",
    "publish_events",
    "read_queue",
]


class EventFailed(RuntimeError):
    """The event's run failed (the event is retried, then dead-lettered)."""


@dataclass(frozen=True)
class Outcome:
    """What became of one message.

    Attributes:
        kind: ``decided``, ``duplicate``, ``retried`` or ``dead``.
        event_id: the event's id (None for a body that is not an event).
        detail: the decision's action and outcome, or the reason.
        attempts: this delivery's attempt number.
    """

    kind: str
    event_id: str | None
    detail: str
    attempts: int = 1

    def as_json(self) -> str:
        """One JSON line for logs."""
        return json.dumps(self.__dict__, sort_keys=True)


def _settled(snapshot: Any) -> bool:
    """The thread's run has finished, or waits for a person."""
    return not snapshot.next or bool(snapshot.interrupts)


@dataclass
class EventConsumer:
    """Consumes transaction events and decides each exactly once (see the module docs).

    Attributes:
        graph: the fraud graph, compiled with the Postgres checkpointer.
        database_url: Postgres for the audit log and the per-event locks.
        topology: the exchanges and queues.
        url: the broker URL (None: `broker_url`).
        context: the runs' context (``FraudEventsContext`` fields).
        name: this consumer's name in the audit log.
    """

    graph: Pregel[Any, Any, Any, Any]
    database_url: str
    topology: EventTopology = field(default_factory=EventTopology)
    url: str | None = None
    context: dict[str, Any] = field(default_factory=dict)
    name: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    _producer: Producer | None = field(default=None, init=False, repr=False)
    _audit: DecisionAudit | None = field(default=None, init=False, repr=False)

    def close(self) -> None:
        """Close the audit log's connection."""
        if self._audit is not None:
            self._audit.close()
            self._audit = None

    @property
    def audit(self) -> DecisionAudit:
        """The audit log (opened on first use)."""
        if self._audit is None:
            self._audit = DecisionAudit(self.database_url)
        return self._audit

    def _run_thread(self, event: TransactionEvent, text: str) -> dict[str, Any]:
        """Run the event's thread until it is settled; its durable decision."""
        config: RunnableConfig = {"configurable": {"thread_id": event.event_id}}
        snapshot = self.graph.get_state(config)
        if not (snapshot.values.get("decision") and _settled(snapshot)):
            resuming = bool(snapshot.next) and not snapshot.interrupts
            run_input = None if resuming else {"messages": [HumanMessage(text)]}
            try:
                self.graph.invoke(run_input, config, context=self.context, durability="sync")
            except Exception as exc:
                raise EventFailed(describe_error(exc)) from exc
            snapshot = self.graph.get_state(config)
        decision = snapshot.values.get("decision")
        if not decision:
            messages = snapshot.values.get("messages") or []
            said = messages[-1].text if messages else "the run ended without a decision"
            raise EventFailed(f"no decision: {said[:300]}")
        return {**decision, "user_id": event.user_id, "amount": event.amount}

    def _publish(self, exchange: Exchange, body: bytes | dict[str, Any], **options: Any) -> None:
        assert self._producer is not None, "publishing needs the consumer's connection"
        raw = isinstance(body, bytes)
        self._producer.publish(
            body,
            exchange=exchange,
            routing_key=ROUTING_KEY,
            delivery_mode=2,
            serializer=None if raw else "json",
            content_type="application/json" if raw else None,
            content_encoding="binary" if raw else None,
            **options,
        )

    def _decide_once(self, event: TransactionEvent, text: str) -> Outcome:
        """Under the event's lock: decide (unless decided), audit, publish, or a duplicate."""
        row = self.audit.get(event.event_id)
        if row is not None and row["published_at"] is not None:
            detail = f"already decided: {row['action']} ({row['outcome']})"
            return Outcome("duplicate", event.event_id, detail)
        if row is None:
            row = self.audit.record(self._run_thread(event, text), self.name)
        decision = dict(row["decision"])
        self._publish(self.topology.decisions, decision, message_id=event.event_id)
        self.audit.mark_published(event.event_id)
        return Outcome("decided", event.event_id, f"{decision['action']} ({decision['outcome']})")

    def _dead(self, body: bytes, event_id: str | None, reason: str, attempts: int) -> Outcome:
        headers = {"x-reason": reason[:1000], "x-attempts": attempts, "x-event-id": event_id}
        self._publish(self.topology.dead, body, headers=headers)
        self._dead_letter(body, event_id, reason, attempts)
        return Outcome("dead", event_id, reason, attempts)

    def _dead_letter(self, body: bytes, event_id: str | None, reason: str, attempts: int) -> None:
        """Also keep the poison event in the dead-letter table, raw body included."""
        from checkpointers.dead_letters import postgres_dead_letters
        from nodes.dead_letter import record_failure

        saver = self.graph.checkpointer
        record_failure(
            postgres_dead_letters(self.database_url),
            None,
            source="event",
            thread_id=event_id,
            checkpointer=saver if isinstance(saver, BaseCheckpointSaver) and event_id else None,
            graph_id="fraud_events",
            attempts=attempts,
            error=reason,
            error_class="malformed" if event_id is None else "event_failed",
            payload=body.decode("utf-8", errors="replace"),
        )

    def handle(self, body: bytes, headers: Mapping[str, Any] | None = None) -> Outcome:
        """Process one message body; the caller acknowledges it afterwards.

        Raises:
            psycopg.Error, kombu/amqp errors: infrastructure failures (do not acknowledge).
        """
        attempts = int((headers or {}).get("x-attempts", 0)) + 1
        event = parse_event_body(body)
        if isinstance(event, str):
            return self._dead(body, None, f"malformed event: {event}", attempts)
        try:
            with self.audit.event_lock(event.event_id):
                return self._decide_once(event, body.decode("utf-8"))
        except EventFailed as exc:
            reason = str(exc)
        if attempts >= self.topology.max_attempts:
            return self._dead(body, event.event_id, f"failed {attempts} times: {reason}", attempts)
        headers_out = {"x-attempts": attempts, "x-last-error": reason[:1000]}
        self._publish(self.topology.transactions, body, headers=headers_out)
        return Outcome("retried", event.event_id, reason, attempts)

    def run(
        self,
        *,
        idle_exit_s: float | None = None,
        limit: int | None = None,
        on_outcome: Callable[[Outcome], None] | None = None,
    ) -> Counter[str]:
        """Consume until stopped, `limit` messages were handled, or idle for `idle_exit_s`.

        Returns:
            How many messages ended each way (``decided``, ``duplicate``, ``retried``,
            ``dead``).
        """
        counts: Counter[str] = Counter()
        url = broker_url(self.url)
        with (
            Connection(url) as conn,
            Connection(url, transport_options={"confirm_publish": True}) as out,
        ):
            channel = conn.channel()
            self.topology.declare(channel)
            self._producer = Producer(out.channel())

            def on_message(message: Message) -> None:
                body = message.body
                raw = body.encode("utf-8") if isinstance(body, str) else bytes(body)
                outcome = self.handle(raw, message.headers)
                message.ack()
                counts[outcome.kind] += 1
                if on_outcome is not None:
                    on_outcome(outcome)

            queue = self.topology.transactions_queue
            with Consumer(channel, queues=[queue], on_message=on_message, prefetch_count=1):
                self._drain(conn, counts, idle_exit_s, limit)
        return counts

    @staticmethod
    def _drain(
        conn: Connection, counts: Counter[str], idle_exit_s: float | None, limit: int | None
    ) -> None:
        last = time.monotonic()
        while limit is None or sum(counts.values()) < limit:
            try:
                conn.drain_events(timeout=1.0)
                last = time.monotonic()
            except TimeoutError:
                if idle_exit_s is not None and time.monotonic() - last >= idle_exit_s:
                    return


@contextmanager
def fraud_consumer(
    database_url: str,
    *,
    topology: EventTopology | None = None,
    url: str | None = None,
    context: Mapping[str, Any] | None = None,
    name: str | None = None,
) -> Iterator[EventConsumer]:
    """A consumer running the served fraud graph on a Postgres checkpointer; closed on exit.

    Args:
        database_url: Postgres (``postgresql://...``): checkpoints, ledger, audit log, locks.
        topology: the exchanges and queues (default names, 3 attempts).
        url: the broker URL (None: `broker_url`).
        context: the runs' context (e.g. ``{"model": "demo"}``).
        name: the consumer's name in the audit log (default host:pid).
    """
    if not database_url.startswith(("postgresql://", "postgres://")):
        raise ValueError(f"the event consumer needs Postgres (DATABASE_URL), got {database_url!r}")
    with open_checkpointer(database_url) as saver:
        graph = build_fraud_events_graph(**SERVED_OPTIONS, checkpointer=saver)
        consumer = EventConsumer(
            graph,
            database_url,
            topology=topology or EventTopology(),
            url=url,
            context=dict(context or {}),
        )
        if name:
            consumer.name = name
        try:
            yield consumer
        finally:
            consumer.close()
