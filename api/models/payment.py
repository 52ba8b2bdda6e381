"""缴 (payments.md §8): bills, receipts, payment orders, their audit trail, refunds and reconciliation.

Every state change is a compare-and-set on `version`/`status`; unique indexes are the last word on duplicates.
Cross-package references are plain UUID columns, as in the applications models.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model

from api.models.base import Entity


class Channel(StrEnum):
    ALIPAY = "ALIPAY"
    WECHAT = "WECHAT"


class Product(StrEnum):
    APP = "APP"
    WAP = "WAP"
    NATIVE = "NATIVE"
    JSAPI = "JSAPI"
    H5 = "H5"


class BillKind(StrEnum):
    APPLICATION_FEE = "APPLICATION_FEE"
    FINE = "FINE"
    UTILITY = "UTILITY"
    SOCIAL_INSURANCE = "SOCIAL_INSURANCE"
    OTHER = "OTHER"


class BillStatus(StrEnum):
    UNPAID = "UNPAID"
    PAID = "PAID"
    PARTIALLY_REFUNDED = "PARTIALLY_REFUNDED"
    REFUNDED = "REFUNDED"
    CANCELLED = "CANCELLED"


class OrderStatus(StrEnum):
    CREATED = "CREATED"
    PAYING = "PAYING"
    PAID = "PAID"
    CLOSED = "CLOSED"
    FAILED = "FAILED"


LIVE_ORDER_STATUSES = (OrderStatus.CREATED, OrderStatus.PAYING)


class Anomaly(StrEnum):
    AMOUNT_MISMATCH = "AMOUNT_MISMATCH"
    MERCHANT_MISMATCH = "MERCHANT_MISMATCH"
    PAID_AFTER_CLOSE = "PAID_AFTER_CLOSE"
    DUPLICATE_PAYMENT = "DUPLICATE_PAYMENT"


class RefundStatus(StrEnum):
    CREATED = "CREATED"
    SUBMITTED = "SUBMITTED"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    UNKNOWN = "UNKNOWN"
    ABNORMAL = "ABNORMAL"


# In-flight refunds reserve money (payments.md §13): only FAILED gives it back.
RESERVING_REFUND_STATUSES = (
    RefundStatus.CREATED,
    RefundStatus.SUBMITTED,
    RefundStatus.UNKNOWN,
    RefundStatus.ABNORMAL,
    RefundStatus.SUCCEEDED,
)


class EventSource(StrEnum):
    NOTIFY = "NOTIFY"
    QUERY = "QUERY"
    CLIENT_CONFIRM = "CLIENT_CONFIRM"
    SWEEP = "SWEEP"
    RECONCILE = "RECONCILE"
    ADMIN = "ADMIN"


class ReconciliationStatus(StrEnum):
    RUNNING = "RUNNING"
    DONE = "DONE"
    FAILED = "FAILED"


class DiffKind(StrEnum):
    STATUS_MISMATCH_THEY_PAID = "STATUS_MISMATCH_THEY_PAID"
    LOCAL_MISSING = "LOCAL_MISSING"
    WE_PAID_THEY_DIDNT = "WE_PAID_THEY_DIDNT"
    AMOUNT_MISMATCH = "AMOUNT_MISMATCH"
    REFUND_MISMATCH = "REFUND_MISMATCH"


class DiffResolution(StrEnum):
    APPLIED = "APPLIED"  # corrected through the normal transition (source RECONCILE)
    MANUAL = "MANUAL"  # waits for a person
    RESOLVED = "RESOLVED"  # a person closed it


class Bill(Entity):
    """缴款单: what a person or an enterprise pays. The bill of an application fee is what 待缴费 waits on."""

    bill_no = fields.CharField(max_length=32, unique=True)
    kind = fields.CharEnumField(BillKind, max_length=20)
    application_id = fields.UUIDField(null=True, db_index=True)
    # The outbox event (topic:key:state_version) a relay created this bill from: a replay finds it again.
    source_key = fields.CharField(max_length=160, null=True, unique=True)
    person_id = fields.UUIDField(null=True, db_index=True)
    enterprise_id = fields.UUIDField(null=True, db_index=True)
    issuer = fields.CharField(max_length=100)  # the issuing org, also the payee
    issuer_code = fields.CharField(max_length=18, default="")
    subject = fields.CharField(max_length=128)  # what the channel shows the payer
    lines = fields.JSONField[list[dict[str, Any]]](default=list)
    amount_fen = fields.BigIntField()
    min_assurance = fields.SmallIntField(default=2)
    due_at = fields.DatetimeField(null=True)
    status = fields.CharEnumField(BillStatus, max_length=20, default=BillStatus.UNPAID, db_index=True)
    paid_order_id = fields.UUIDField(null=True)
    paid_at = fields.DatetimeField(null=True)
    refunded_fen = fields.BigIntField(default=0)
    cancelled_at = fields.DatetimeField(null=True)
    due_soon_sent_for = fields.DateField(null=True)
    version = fields.IntField(default=0)

    class Meta:
        table = "bill"
        indexes = (("person_id", "status"), ("enterprise_id", "status"), ("status", "due_at"))


class Receipt(Entity):
    """电子票据, one per paid bill, written with the PAID transition of the bill."""

    bill_id = fields.UUIDField(unique=True)
    receipt_no = fields.CharField(max_length=40, unique=True)
    issuer = fields.CharField(max_length=100)
    amount_fen = fields.BigIntField()
    issued_at = fields.DatetimeField()
    file_ref = fields.CharField(max_length=200)

    class Meta:
        table = "receipt"


class PaymentOrder(Entity):
    """One attempt on one channel. At most one live attempt per bill (a partial unique index, migration 0005)."""

    bill_id = fields.UUIDField(db_index=True)
    payer_id = fields.UUIDField(db_index=True)
    channel = fields.CharEnumField(Channel, max_length=10)
    product = fields.CharEnumField(Product, max_length=10)
    out_trade_no = fields.CharField(max_length=32, unique=True)
    amount_fen = fields.BigIntField()
    currency = fields.CharField(max_length=3, default="CNY")
    paid_fen = fields.BigIntField(default=0)
    refunded_fen = fields.BigIntField(default=0)
    status = fields.CharEnumField(OrderStatus, max_length=10, default=OrderStatus.CREATED)
    channel_trade_no = fields.CharField(max_length=64, null=True, unique=True)
    prepay_payload = fields.JSONField[dict[str, Any]](null=True)
    expires_at = fields.DatetimeField()
    paid_at = fields.DatetimeField(null=True)
    closed_at = fields.DatetimeField(null=True)
    next_query_at = fields.DatetimeField(null=True)
    query_attempts = fields.IntField(default=0)
    confirm_queried_at = fields.DatetimeField(null=True)
    version = fields.IntField(default=0)
    idempotency_key = fields.CharField(max_length=64)
    request_hash = fields.CharField(max_length=64)
    anomaly = fields.CharEnumField(Anomaly, max_length=20, null=True)

    class Meta:
        table = "payment_order"
        unique_together = (("payer_id", "idempotency_key"),)
        indexes = (("status", "next_query_at"), ("status", "expires_at"))


class PaymentEvent(Model):
    """Append-only audit trail of every fact received or decided, and the notify dedupe table."""

    id = fields.BigIntField(primary_key=True)
    order_id = fields.UUIDField(null=True, db_index=True)
    refund_id = fields.UUIDField(null=True, db_index=True)
    source = fields.CharEnumField(EventSource, max_length=16)
    channel = fields.CharEnumField(Channel, max_length=10)
    channel_event_id = fields.CharField(max_length=128, null=True)
    dedupe_key = fields.CharField(max_length=160, null=True)
    verified = fields.BooleanField()
    from_status = fields.CharField(max_length=20, null=True)
    to_status = fields.CharField(max_length=20, null=True)
    payload_redacted = fields.JSONField[dict[str, Any]](default=dict)
    created_at = fields.DatetimeField()

    class Meta:
        table = "payment_event"
        unique_together = (("channel", "dedupe_key"),)


class Refund(Entity):
    order_id = fields.UUIDField(db_index=True)
    bill_id = fields.UUIDField(db_index=True)
    out_refund_no = fields.CharField(max_length=64, unique=True)
    amount_fen = fields.BigIntField()
    reason = fields.CharField(max_length=200, default="")
    status = fields.CharEnumField(RefundStatus, max_length=10, default=RefundStatus.CREATED)
    channel_refund_id = fields.CharField(max_length=64, null=True)
    requested_by = fields.CharField(max_length=64)  # an operator id, or `service:<name>` for automatic refunds
    idempotency_key = fields.CharField(max_length=64)
    request_hash = fields.CharField(max_length=64)
    next_query_at = fields.DatetimeField(null=True)
    query_attempts = fields.IntField(default=0)
    succeeded_at = fields.DatetimeField(null=True)
    version = fields.IntField(default=0)

    class Meta:
        table = "refund"
        unique_together = (("requested_by", "idempotency_key"),)
        indexes = (("status", "next_query_at"),)


class ReconciliationRun(Entity):
    channel = fields.CharEnumField(Channel, max_length=10)
    bill_date = fields.DateField()
    status = fields.CharEnumField(ReconciliationStatus, max_length=10, default=ReconciliationStatus.RUNNING)
    counts = fields.JSONField[dict[str, int]](default=dict)
    finished_at = fields.DatetimeField(null=True)
    error = fields.CharField(max_length=300, default="")

    class Meta:
        table = "reconciliation_run"
        unique_together = (("channel", "bill_date"),)


class ReconciliationDiff(Entity):
    run_id = fields.UUIDField(db_index=True)
    kind = fields.CharEnumField(DiffKind, max_length=32)
    diff_key = fields.CharField(max_length=80)  # `trade:<out_trade_no>` or `refund:<out_refund_no>`
    out_trade_no = fields.CharField(max_length=32, null=True)
    out_refund_no = fields.CharField(max_length=64, null=True)
    ours = fields.JSONField[dict[str, Any]](default=dict)
    theirs = fields.JSONField[dict[str, Any]](default=dict)
    critical = fields.BooleanField(default=False)
    resolution = fields.CharEnumField(DiffResolution, max_length=10, default=DiffResolution.MANUAL)
    resolved_by = fields.CharField(max_length=64, null=True)

    class Meta:
        table = "reconciliation_diff"
        unique_together = (("run_id", "diff_key"),)
