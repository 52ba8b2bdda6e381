"""The one generic outbox (architecture §3a), written in the producer's transaction."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class OutboxEvent(Model):
    id = fields.BigIntField(primary_key=True)
    topic = fields.CharField(max_length=64, db_index=True)
    key = fields.CharField(max_length=64)
    state_version = fields.BigIntField()
    payload = fields.JSONField[dict[str, object]]()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "outbox_event"
        unique_together = (("topic", "key", "state_version"),)
        # Every relay reads its topics past its watermark, in id order.
        indexes = (("topic", "id"),)


class OutboxProgress(Model):
    """How far one consumer has read the outbox: every event at or below `last_event_id` is handled."""

    consumer = fields.CharField(max_length=64, primary_key=True)
    last_event_id = fields.BigIntField(default=0)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "outbox_progress"


class OutboxReceipt(Model):
    """One row per (consumer, event) handled, written in the transaction of the handler: at most once per consumer."""

    id = fields.BigIntField(primary_key=True)
    consumer = fields.CharField(max_length=64)
    event_id = fields.BigIntField()
    handled_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "outbox_receipt"
        unique_together = (("consumer", "event_id"),)
