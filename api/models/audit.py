"""Every read of a person's data by an operator (house rule 12): who read whose data, which record, why."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class PersonalDataRead(Model):
    id = fields.UUIDField(primary_key=True)
    reader_operator_id = fields.UUIDField(db_index=True)
    subject_type = fields.CharField(max_length=20)  # APPLICATION | RECTIFICATION
    subject_id = fields.UUIDField(db_index=True)
    person_id = fields.UUIDField(null=True, db_index=True)
    enterprise_id = fields.UUIDField(null=True)
    purpose = fields.CharField(max_length=32)
    read_at = fields.DatetimeField()

    class Meta:
        table = "personal_data_read"
