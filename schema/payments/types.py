"""GraphQL types of 缴 (payments.md §8, §10, §13): bills with their receipt, payment orders with what the phone
needs to pay, refunds, and the finance views (reconciliation runs and diffs, anomalies).

Every type is built from a plain row or view handed over by a `payments.service` read (`from_row`), so that no type
loads data itself. Amounts are `Fen` with a display string in yuan beside them.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, datetime
from enum import Enum
from typing import Annotated, Any, cast

import strawberry
from strawberry.scalars import JSON

from api.models.payment import Bill as BillRow
from api.models.payment import Channel, Product
from api.models.payment import PaymentOrder as OrderRow
from api.models.payment import Receipt as ReceiptRow
from api.models.payment import ReconciliationDiff as DiffRow
from api.models.payment import ReconciliationRun as RunRow
from api.models.payment import Refund as RefundRow
from api.settings import active
from payments.money import fen_to_yuan
from schema.payments.scalars import Fen

MAX_BILL_LINES = 20


def _id(value: uuid.UUID | str | None) -> strawberry.ID | None:
    return None if value is None else strawberry.ID(str(value))


def _fen(value: int | None) -> Fen:
    return Fen(int(value or 0))


def _yuan(value: int | None) -> str:
    return fen_to_yuan(int(value or 0))


@strawberry.enum(description="What a bill is for: an application's fee (行政事业性收费) or a standalone bill.")
class BillKind(Enum):
    APPLICATION_FEE = "APPLICATION_FEE"
    FINE = "FINE"  # 交通违法罚款 and other 罚没
    UTILITY = "UTILITY"  # 水费, 电费, 燃气费
    SOCIAL_INSURANCE = "SOCIAL_INSURANCE"  # 城乡居民社保
    OTHER = "OTHER"


@strawberry.enum(description="缴款单状态: UNPAID → PAID → PARTIALLY_REFUNDED → REFUNDED, or UNPAID → CANCELLED.")
class BillStatus(Enum):
    UNPAID = "UNPAID"
    PAID = "PAID"
    PARTIALLY_REFUNDED = "PARTIALLY_REFUNDED"
    REFUNDED = "REFUNDED"
    CANCELLED = "CANCELLED"


@strawberry.enum(description="Where a payment is made.")
class PaymentChannel(Enum):
    ALIPAY = "ALIPAY"
    WECHAT = "WECHAT"


@strawberry.enum(
    description="How the phone pays: APP (the channel's app SDK), WAP (mobile web redirect), NATIVE (a QR code), "
    "JSAPI (inside the channel's mini-program), H5 (WeChat mobile web redirect)."
)
class PaymentProduct(Enum):
    APP = "APP"
    WAP = "WAP"
    NATIVE = "NATIVE"
    JSAPI = "JSAPI"
    H5 = "H5"


@strawberry.enum(
    description="One payment attempt: CREATED (recorded, not yet at the channel), PAYING (waiting for the payer), "
    "PAID, CLOSED (expired or cancelled, nothing paid), FAILED (the channel refused)."
)
class PaymentOrderStatus(Enum):
    CREATED = "CREATED"
    PAYING = "PAYING"
    PAID = "PAID"
    CLOSED = "CLOSED"
    FAILED = "FAILED"


@strawberry.enum(
    description="A refund: CREATED, SUBMITTED (the channel is processing), SUCCEEDED, FAILED, UNKNOWN (the channel's "
    "answer was lost: only a query resolves it) or ABNORMAL (the channel needs manual handling)."
)
class RefundStatus(Enum):
    CREATED = "CREATED"
    SUBMITTED = "SUBMITTED"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    UNKNOWN = "UNKNOWN"
    ABNORMAL = "ABNORMAL"


@strawberry.enum(
    description="What needs a person's attention: an order's anomaly (AMOUNT_MISMATCH, MERCHANT_MISMATCH, "
    "PAID_AFTER_CLOSE, DUPLICATE_PAYMENT) or a refund the channel reported ABNORMAL (REFUND_ABNORMAL)."
)
class PaymentAnomalyKind(Enum):
    AMOUNT_MISMATCH = "AMOUNT_MISMATCH"
    MERCHANT_MISMATCH = "MERCHANT_MISMATCH"
    PAID_AFTER_CLOSE = "PAID_AFTER_CLOSE"
    DUPLICATE_PAYMENT = "DUPLICATE_PAYMENT"
    REFUND_ABNORMAL = "REFUND_ABNORMAL"


@strawberry.enum(description="A daily reconciliation of one channel's bill: RUNNING, DONE or FAILED.")
class ReconciliationStatus(Enum):
    RUNNING = "RUNNING"
    DONE = "DONE"
    FAILED = "FAILED"


@strawberry.enum(description="How our records and the channel's bill differ (payments.md §13).")
class ReconciliationDiffKind(Enum):
    STATUS_MISMATCH_THEY_PAID = "STATUS_MISMATCH_THEY_PAID"
    LOCAL_MISSING = "LOCAL_MISSING"
    WE_PAID_THEY_DIDNT = "WE_PAID_THEY_DIDNT"
    AMOUNT_MISMATCH = "AMOUNT_MISMATCH"
    REFUND_MISMATCH = "REFUND_MISMATCH"


@strawberry.enum(
    description="APPLIED (corrected through the normal transition), MANUAL (waits for a person), RESOLVED (a person "
    "closed it)."
)
class ReconciliationDiffResolution(Enum):
    APPLIED = "APPLIED"
    MANUAL = "MANUAL"
    RESOLVED = "RESOLVED"


# ------------------------------------------------------------------------------------------------ bills


@strawberry.type(description="电子票据: the receipt of a paid bill.")
class Receipt:
    id: strawberry.ID
    receipt_no: str = strawberry.field(description="票据号码")
    issuer: str
    amount_fen: Fen
    amount_yuan: str
    issued_at: datetime
    file_ref: str = strawberry.field(description="Reference of the stored receipt file")

    @classmethod
    def from_row(cls, row: ReceiptRow) -> Receipt:
        return cls(
            id=strawberry.ID(str(row.id)),
            receipt_no=row.receipt_no,
            issuer=row.issuer,
            amount_fen=_fen(row.amount_fen),
            amount_yuan=_yuan(row.amount_fen),
            issued_at=row.issued_at,
            file_ref=row.file_ref,
        )


@strawberry.type(description="One line of a bill (a fee item, a fine, a period's usage).")
class BillLine:
    name: str
    amount_fen: Fen
    amount_yuan: str

    @classmethod
    def from_dict(cls, line: Mapping[str, Any]) -> BillLine:
        amount = line.get("amountFen", line.get("amount_fen", 0))
        fen = int(amount) if isinstance(amount, int | str) and str(amount).isascii() and str(amount).isdigit() else 0
        return cls(name=str(line.get("name", "")), amount_fen=Fen(fen), amount_yuan=fen_to_yuan(fen))


@strawberry.type(description="缴款单: what you (or an enterprise you act for) pay, with its receipt once paid.")
class Bill:
    id: strawberry.ID
    bill_no: str = strawberry.field(description="缴款单号: what lookupBill finds")
    kind: BillKind
    subject: str = strawberry.field(description="What is paid for, as the payment channel shows it")
    issuer: str = strawberry.field(description="The issuing organisation, also the payee")
    issuer_code: str = strawberry.field(description="The issuer's 统一社会信用代码, when known")
    amount_fen: Fen
    amount_yuan: str = strawberry.field(description="The amount in yuan, e.g. 50.00")
    status: BillStatus
    due_at: datetime | None
    paid_at: datetime | None
    refunded_fen: Fen
    refunded_yuan: str
    min_assurance_level: int = strawberry.field(
        description="The real-name level a sign-in needs to pay it (2: L2); below it createPayment answers "
        "AssuranceTooLowError"
    )
    lines: list[BillLine] = strawberry.field(description=f"Its lines, at most {MAX_BILL_LINES}")
    receipt: Receipt | None = strawberry.field(description="电子票据, once paid")
    application_id: strawberry.ID | None = strawberry.field(description="The application whose fee this is")
    application_project_no: str | None = strawberry.field(description="办件编号 of that application")
    enterprise_id: strawberry.ID | None = strawberry.field(description="The enterprise holding it; null: a person")

    @classmethod
    def from_row(cls, row: BillRow, receipt: ReceiptRow | None = None, project_no: str | None = None) -> Bill:
        return cls(
            id=strawberry.ID(str(row.id)),
            bill_no=row.bill_no,
            kind=BillKind(str(getattr(row.kind, "value", row.kind))),
            subject=row.subject,
            issuer=row.issuer,
            issuer_code=row.issuer_code,
            amount_fen=_fen(row.amount_fen),
            amount_yuan=_yuan(row.amount_fen),
            status=BillStatus(str(getattr(row.status, "value", row.status))),
            due_at=row.due_at,
            paid_at=row.paid_at,
            refunded_fen=_fen(row.refunded_fen),
            refunded_yuan=_yuan(row.refunded_fen),
            # What paying needs here: the bill's own level, or the deployment's floor when that is higher.
            min_assurance_level=max(int(row.min_assurance), active().payments.min_assurance_level),
            lines=[BillLine.from_dict(line) for line in (row.lines or [])[:MAX_BILL_LINES] if isinstance(line, dict)],
            receipt=Receipt.from_row(receipt) if receipt is not None else None,
            application_id=_id(row.application_id),
            application_project_no=project_no,
            enterprise_id=_id(row.enterprise_id),
        )


# ------------------------------------------------------------------------------------------------ orders


@strawberry.type(description="Alipay APP: the signed order string for the Alipay SDK's pay call.")
class AlipayAppPayload:
    order_string: str


@strawberry.type(description="Alipay mini-program (JSAPI): the trade number for my.tradePay({tradeNO}).")
class AlipayJsapiPayload:
    trade_no: str


@strawberry.type(description="Alipay WAP or WeChat H5: open this URL in the browser to pay.")
class RedirectPayload:
    url: str


@strawberry.type(description="NATIVE: show this URL as a QR code to be scanned with the channel's app.")
class QrCodePayload:
    code_url: str


@strawberry.type(description="WeChat APP: the parameters of the WeChat SDK's PayReq, signed by the server.")
class WechatAppPayload:
    app_id: str
    partner_id: str
    prepay_id: str
    package: str
    nonce_str: str
    timestamp: str
    sign: str


@strawberry.type(description="WeChat mini-program (JSAPI): the parameters of wx.requestPayment, signed by the server.")
class WechatJsapiPayload:
    app_id: str
    time_stamp: str
    nonce_str: str
    package: str
    sign_type: str
    pay_sign: str


PaymentPayload = Annotated[
    AlipayAppPayload | AlipayJsapiPayload | RedirectPayload | QrCodePayload | WechatAppPayload | WechatJsapiPayload,
    strawberry.union("PaymentPayload", description="What the phone needs to start paying, by channel and product."),
]


def _pick(payload: Mapping[str, Any], *names: str) -> str:
    """The first of `names` present: the channel adapters store the channel's own spelling (Alipay and WeChat
    differ, WeChat APP and JSAPI too), the API answers in one spelling."""
    for name in names:
        value = payload.get(name)
        if value is not None:
            return str(value)
    return ""


def payment_payload(channel: Channel, product: Product, payload: Mapping[str, Any] | None) -> PaymentPayload | None:
    """The stored `prepay_payload` of an order as the union member its channel and product call for."""
    if not payload:
        return None
    if channel is Channel.ALIPAY:
        if product is Product.APP:
            return AlipayAppPayload(order_string=_pick(payload, "orderString", "order_string"))
        if product is Product.JSAPI:
            return AlipayJsapiPayload(trade_no=_pick(payload, "tradeNo", "trade_no"))
        if product is Product.NATIVE:
            return QrCodePayload(code_url=_pick(payload, "codeUrl", "code_url", "qr_code", "qrCode"))
        return RedirectPayload(url=_pick(payload, "url", "redirectUrl", "redirect_url"))
    if product is Product.NATIVE:
        return QrCodePayload(code_url=_pick(payload, "codeUrl", "code_url"))
    if product is Product.APP:
        return WechatAppPayload(
            app_id=_pick(payload, "appid", "appId", "app_id"),
            partner_id=_pick(payload, "partnerid", "partnerId", "partner_id"),
            prepay_id=_pick(payload, "prepayid", "prepayId", "prepay_id"),
            package=_pick(payload, "package"),
            nonce_str=_pick(payload, "noncestr", "nonceStr", "nonce_str"),
            timestamp=_pick(payload, "timestamp", "timeStamp"),
            sign=_pick(payload, "sign"),
        )
    if product is Product.JSAPI:
        return WechatJsapiPayload(
            app_id=_pick(payload, "appId", "appid", "app_id"),
            time_stamp=_pick(payload, "timeStamp", "timestamp"),
            nonce_str=_pick(payload, "nonceStr", "noncestr", "nonce_str"),
            package=_pick(payload, "package"),
            sign_type=_pick(payload, "signType", "sign_type"),
            pay_sign=_pick(payload, "paySign", "pay_sign"),
        )
    return RedirectPayload(url=_pick(payload, "url", "h5_url", "h5Url", "redirectUrl"))


@strawberry.type(description="One payment attempt on one channel for one bill.")
class PaymentOrder:
    id: strawberry.ID
    bill_id: strawberry.ID
    status: PaymentOrderStatus
    channel: PaymentChannel
    product: PaymentProduct
    out_trade_no: str = strawberry.field(description="商户订单号, as the payer's channel app shows it")
    payload: PaymentPayload | None = strawberry.field(
        description="What the phone needs to pay; the same on every retry of the same request. Null before the "
        "channel accepted the order and once it is no longer payable."
    )
    expires_at: datetime = strawberry.field(description="After this the channel refuses payment")
    paid_at: datetime | None
    amount_fen: Fen
    amount_yuan: str
    sandbox_cashier_url: str | None = strawberry.field(
        description="The sandbox cashier page where this order can be paid (APP_SANDBOX only; null in production)"
    )

    @classmethod
    def from_row(cls, row: OrderRow, cashier_url: str | None = None, *, for_payer: bool = True) -> PaymentOrder:
        """`for_payer=False`: someone else's view (finance), without what would let them pay it."""
        status = PaymentOrderStatus(str(getattr(row.status, "value", row.status)))
        channel, product = Channel(row.channel), Product(row.product)
        payable = for_payer and status in (PaymentOrderStatus.CREATED, PaymentOrderStatus.PAYING)
        return cls(
            id=strawberry.ID(str(row.id)),
            bill_id=strawberry.ID(str(row.bill_id)),
            status=status,
            channel=PaymentChannel(channel.value),
            product=PaymentProduct(product.value),
            out_trade_no=row.out_trade_no,
            payload=payment_payload(channel, product, row.prepay_payload) if payable else None,
            expires_at=row.expires_at,
            paid_at=row.paid_at,
            amount_fen=_fen(row.amount_fen),
            amount_yuan=_yuan(row.amount_fen),
            sandbox_cashier_url=cashier_url if payable else None,
        )


# ------------------------------------------------------------------------------------------------ refunds


@strawberry.type(description="A refund of (part of) a paid order.")
class Refund:
    id: strawberry.ID
    order_id: strawberry.ID
    bill_id: strawberry.ID
    out_refund_no: str = strawberry.field(description="退款单号 sent to the channel; retries reuse it")
    amount_fen: Fen
    amount_yuan: str
    reason: str
    status: RefundStatus
    requested_by: str = strawberry.field(description="The operator, or service:<name> for automatic refunds")
    requested_at: datetime
    succeeded_at: datetime | None

    @classmethod
    def from_row(cls, row: RefundRow) -> Refund:
        return cls(
            id=strawberry.ID(str(row.id)),
            order_id=strawberry.ID(str(row.order_id)),
            bill_id=strawberry.ID(str(row.bill_id)),
            out_refund_no=row.out_refund_no,
            amount_fen=_fen(row.amount_fen),
            amount_yuan=_yuan(row.amount_fen),
            reason=row.reason,
            status=RefundStatus(str(getattr(row.status, "value", row.status))),
            requested_by=row.requested_by,
            requested_at=row.created_at,
            succeeded_at=row.succeeded_at,
        )


# ------------------------------------------------------------------------------------------------ finance


@strawberry.type(description="One daily reconciliation of a channel's bill against our orders and refunds.")
class ReconciliationRun:
    id: strawberry.ID
    channel: PaymentChannel
    bill_date: date = strawberry.field(description="The channel's bill date (Beijing time)")
    status: ReconciliationStatus
    counts: JSON = strawberry.field(description="Lines read and diffs found, by kind")
    started_at: datetime
    finished_at: datetime | None
    error: str

    @classmethod
    def from_row(cls, row: RunRow) -> ReconciliationRun:
        return cls(
            id=strawberry.ID(str(row.id)),
            channel=PaymentChannel(str(getattr(row.channel, "value", row.channel))),
            bill_date=row.bill_date,
            status=ReconciliationStatus(str(getattr(row.status, "value", row.status))),
            counts=cast(JSON, dict(row.counts or {})),
            started_at=row.created_at,
            finished_at=row.finished_at,
            error=row.error,
        )


@strawberry.type(description="One key (trade or refund) on which our records and the channel's bill differ.")
class ReconciliationDiff:
    id: strawberry.ID
    run_id: strawberry.ID
    kind: ReconciliationDiffKind
    out_trade_no: str | None
    out_refund_no: str | None
    ours: JSON = strawberry.field(description="What we recorded")
    theirs: JSON = strawberry.field(description="What the channel's bill says")
    critical: bool
    resolution: ReconciliationDiffResolution
    resolved_by: str | None
    found_at: datetime

    @classmethod
    def from_row(cls, row: DiffRow) -> ReconciliationDiff:
        return cls(
            id=strawberry.ID(str(row.id)),
            run_id=strawberry.ID(str(row.run_id)),
            kind=ReconciliationDiffKind(str(getattr(row.kind, "value", row.kind))),
            out_trade_no=row.out_trade_no,
            out_refund_no=row.out_refund_no,
            ours=cast(JSON, dict(row.ours or {})),
            theirs=cast(JSON, dict(row.theirs or {})),
            critical=row.critical,
            resolution=ReconciliationDiffResolution(str(getattr(row.resolution, "value", row.resolution))),
            resolved_by=row.resolved_by,
            found_at=row.created_at,
        )


@strawberry.type(description="An order with an anomaly, or a refund the channel reported ABNORMAL.")
class PaymentAnomaly:
    kind: PaymentAnomalyKind
    bill_id: strawberry.ID
    order: PaymentOrder
    refund: Refund | None = strawberry.field(description="For REFUND_ABNORMAL")
    noticed_at: datetime
