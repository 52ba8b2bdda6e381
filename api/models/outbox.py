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
