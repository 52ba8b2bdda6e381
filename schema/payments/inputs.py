"""Inputs of payments' queries and mutations: one `input` per mutation (graphql.md §2)."""

from __future__ import annotations

from datetime import date

import strawberry

from schema.payments.scalars import Fen
from schema.payments.types import PaymentChannel, PaymentProduct


@strawberry.input(description="查缴: find one of your bills by its number.")
class LookupBillInput:
    bill_no: str = strawberry.field(description="缴款单号, as printed on the notice")


@strawberry.input
class CreatePaymentInput:
    bill_id: strawberry.ID
    channel: PaymentChannel
    product: PaymentProduct
    idempotency_key: str = strawberry.field(
        description="A new UUID per intent to pay, reused on every retry of it: a retry returns the same order and "
        "payload. At most 64 characters."
    )


@strawberry.input(description="Ask the server to check with the channel after the app returns from paying.")
class ConfirmPaymentInput:
    order_id: strawberry.ID


@strawberry.input(description="Give up an unpaid order (closed at the channel first).")
class CancelPaymentInput:
    order_id: strawberry.ID


@strawberry.input
class RequestRefundInput:
    order_id: strawberry.ID
    amount_fen: Fen = strawberry.field(description="Positive; at most what is still refundable")
    reason: str = strawberry.field(description="Why; at most 200 characters")
    expected_available_fen: Fen = strawberry.field(
        description="What you saw as refundable: a refund is refused when it changed meanwhile (AVAILABLE_MISMATCH)"
    )
    idempotency_key: str = strawberry.field(
        description="Reused on every retry of the same refund; at most 64 characters"
    )


@strawberry.input(description="Finance: reconcile one channel's daily bill now (idempotent per channel and date).")
class RunReconciliationInput:
    channel: PaymentChannel
    bill_date: date = strawberry.field(description="A past Beijing-time date within the last 90 days")


@strawberry.input(description="Finance: mark a difference that needed a person as dealt with.")
class ResolveReconciliationDiffInput:
    diff_id: strawberry.ID
