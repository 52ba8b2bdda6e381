"""Payments' mutations (payments.md §10, §13): pay a bill, confirm or cancel the attempt, and (finance) refund.

Adapters only: parse the input, call one `payments.service` function, map its refusal to a member of the result
union (`schema.payments.errors.payments_error`). Amounts come from the bill on the server, never from the client.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import strawberry

from api.identity.tokens import AccessClaims
from api.kit.errors import AppError, InvalidInput, NotFound
from api.kit.ids import parse_uuid
from api.models import OperatorRole
from api.models.payment import Channel, Product
from api.models.payment import PaymentOrder as OrderRow
from payments import service
from payments.deps import PaymentsDeps
from payments.errors import PaymentsError, PaymentsErrorCode
from payments.reconcile import manual as reconciliation
from schema.access import CitizenOnly, operator_with
from schema.context import Info
from schema.errors import ConflictError, InvalidInputError, NotFoundError
from schema.payments import inputs
from schema.payments.errors import (
    AssuranceTooLowError,
    AvailableMismatchError,
    BillNotPayableError,
    ChannelBindingMissingError,
    ChannelUnavailableError,
    ExceedsAvailableError,
    IdempotencyKeyReusedError,
    OrderNotRefundableError,
    PaymentInProgressError,
    payments_error,
)
from schema.payments.types import PaymentChannel, PaymentOrder, ReconciliationDiff, ReconciliationRun, Refund

MAX_REASON = 200

_CREATE = (
    PaymentOrder,
    IdempotencyKeyReusedError,
    PaymentInProgressError,
    BillNotPayableError,
    ChannelUnavailableError,
    AssuranceTooLowError,
    ChannelBindingMissingError,
    NotFoundError,
    InvalidInputError,
    ConflictError,
)
CreatePaymentResult = Annotated[
    PaymentOrder
    | IdempotencyKeyReusedError
    | PaymentInProgressError
    | BillNotPayableError
    | ChannelUnavailableError
    | AssuranceTooLowError
    | ChannelBindingMissingError
    | NotFoundError
    | InvalidInputError
    | ConflictError,
    strawberry.union("CreatePaymentResult"),
]

_CONFIRM = (
    PaymentOrder,
    PaymentInProgressError,
    ChannelUnavailableError,
    NotFoundError,
    InvalidInputError,
    ConflictError,
)
ConfirmPaymentResult = Annotated[
    PaymentOrder | PaymentInProgressError | ChannelUnavailableError | NotFoundError | InvalidInputError | ConflictError,
    strawberry.union("ConfirmPaymentResult"),
]
CancelPaymentResult = Annotated[
    PaymentOrder | PaymentInProgressError | ChannelUnavailableError | NotFoundError | InvalidInputError | ConflictError,
    strawberry.union("CancelPaymentResult"),
]

_REFUND = (
    Refund,
    AvailableMismatchError,
    ExceedsAvailableError,
    IdempotencyKeyReusedError,
    OrderNotRefundableError,
    PaymentInProgressError,
    ChannelUnavailableError,
    NotFoundError,
    InvalidInputError,
    ConflictError,
)
RequestRefundResult = Annotated[
    Refund
    | AvailableMismatchError
    | ExceedsAvailableError
    | IdempotencyKeyReusedError
    | OrderNotRefundableError
    | PaymentInProgressError
    | ChannelUnavailableError
    | NotFoundError
    | InvalidInputError
    | ConflictError,
    strawberry.union("RequestRefundResult"),
]


_RECONCILE = (ReconciliationRun, InvalidInputError, ChannelUnavailableError, ConflictError)
RunReconciliationResult = Annotated[
    ReconciliationRun | InvalidInputError | ChannelUnavailableError | ConflictError,
    strawberry.union("RunReconciliationResult"),
]
_RESOLVE = (ReconciliationDiff, NotFoundError, ConflictError, InvalidInputError)
ResolveReconciliationDiffResult = Annotated[
    ReconciliationDiff | NotFoundError | ConflictError | InvalidInputError,
    strawberry.union("ResolveReconciliationDiffResult"),
]


def _claims(info: Info) -> AccessClaims:
    claims = info.context.principal.claims
    assert claims is not None  # the field's permission class guarantees it
    return claims


def _deps(info: Info) -> PaymentsDeps:
    deps = info.context.payments
    if deps is None:
        raise PaymentsError(PaymentsErrorCode.CHANNEL_UNAVAILABLE, "payments are not available in this process")
    return deps


def _uuid(value: strawberry.ID, code: PaymentsErrorCode, field: str) -> uuid.UUID:
    """A malformed id is as unknown as a well-formed one that names nothing of the caller's."""
    parsed = parse_uuid(str(value))
    if parsed is None:
        what = "bill" if code is PaymentsErrorCode.BILL_NOT_FOUND else "payment"
        raise NotFound(f"no such {what} among yours", path=[field], code=code.value)
    return parsed


def _order(deps: PaymentsDeps, row: OrderRow) -> PaymentOrder:
    cashier = deps.cashier_url(row) if deps.cashier_url is not None else None
    return PaymentOrder.from_row(row, cashier)


async def _guard(
    call: Callable[[], Awaitable[Any]], allowed: tuple[type[Any], ...], channel: PaymentChannel | None = None
) -> Any:
    try:
        return await call()
    except AppError as exc:
        return payments_error(exc, allowed, channel=channel)


@strawberry.type
class PaymentsMutation:
    @strawberry.mutation(
        permission_classes=[CitizenOnly],
        description="Pay one of your bills (or one of the enterprise's you act for) on a channel and product: returns "
        "the order with what the phone needs to pay. Reusing the idempotency key returns the same order and payload; "
        "a live attempt on another channel or product is closed first. Needs assurance level L2 (a bill may ask for "
        "more); mini-program (JSAPI) orders need your account bound to that channel.",
    )
    async def create_payment(self, info: Info, input: inputs.CreatePaymentInput) -> CreatePaymentResult:
        async def run() -> PaymentOrder:
            deps = _deps(info)
            bill_id = _uuid(input.bill_id, PaymentsErrorCode.BILL_NOT_FOUND, "billId")
            row = await service.create_payment(
                deps,
                _claims(info),
                bill_id=bill_id,
                channel=Channel(input.channel.value),
                product=Product(input.product.value),
                idempotency_key=input.idempotency_key,
                client_ip=info.context.principal.ip,
            )
            return _order(deps, row)

        return await _guard(run, _CREATE, input.channel)  # type: ignore[no-any-return]

    @strawberry.mutation(
        permission_classes=[CitizenOnly],
        description="After the app returns from Alipay or WeChat: the server asks the channel (at most once per "
        "order every 2 seconds) and answers the order's status. The client-side result is only a hint.",
    )
    async def confirm_payment(self, info: Info, input: inputs.ConfirmPaymentInput) -> ConfirmPaymentResult:
        async def run() -> PaymentOrder:
            deps = _deps(info)
            order_id = _uuid(input.order_id, PaymentsErrorCode.ORDER_NOT_FOUND, "orderId")
            return _order(deps, await service.confirm_payment(deps, _claims(info), order_id))

        return await _guard(run, _CONFIRM)  # type: ignore[no-any-return]

    @strawberry.mutation(
        permission_classes=[CitizenOnly],
        description="Give up an unpaid order: it is closed at the channel first; if that reveals a payment, the "
        "order comes back PAID instead.",
    )
    async def cancel_payment(self, info: Info, input: inputs.CancelPaymentInput) -> CancelPaymentResult:
        async def run() -> PaymentOrder:
            deps = _deps(info)
            order_id = _uuid(input.order_id, PaymentsErrorCode.ORDER_NOT_FOUND, "orderId")
            return _order(deps, await service.cancel_payment(deps, _claims(info), order_id))

        return await _guard(run, _CONFIRM)  # type: ignore[no-any-return]

    @strawberry.mutation(
        permission_classes=[operator_with(OperatorRole.FINANCE)],
        description="Finance: refund (part of) a paid order. `expectedAvailableFen` must equal what is still "
        "refundable (in-flight refunds count as spent), so a blind retry of a refund that already happened is "
        "refused; reusing the idempotency key returns the same refund.",
    )
    async def request_refund(self, info: Info, input: inputs.RequestRefundInput) -> RequestRefundResult:
        async def run() -> Refund:
            deps = _deps(info)
            order_id = _uuid(input.order_id, PaymentsErrorCode.ORDER_NOT_FOUND, "orderId")
            reason = input.reason.strip()
            if not reason or len(reason) > MAX_REASON:
                message = f"give a reason of 1 to {MAX_REASON} characters"
                raise InvalidInput(message, path=["reason"], code="INVALID_REASON")
            if input.amount_fen <= 0:
                message = "a refund is a positive amount of fen"
                raise InvalidInput(message, path=["amountFen"], code=PaymentsErrorCode.INVALID_AMOUNT.value)
            row = await service.request_refund(
                deps,
                requested_by=str(_claims(info).subject),
                order_id=order_id,
                amount_fen=int(input.amount_fen),
                reason=reason,
                expected_available_fen=int(input.expected_available_fen),
                idempotency_key=input.idempotency_key,
            )
            return Refund.from_row(row)

        return await _guard(run, _REFUND)  # type: ignore[no-any-return]

    @strawberry.mutation(
        permission_classes=[operator_with(OperatorRole.FINANCE)],
        description="Finance: reconcile a channel's daily bill of a past date now (the workers do it every morning). "
        "Re-running a date returns its run and adds only differences not yet recorded.",
    )
    async def run_reconciliation(self, info: Info, input: inputs.RunReconciliationInput) -> RunReconciliationResult:
        async def run() -> ReconciliationRun:
            channel = Channel(input.channel.value)
            row = await reconciliation.run_reconciliation(_deps(info), channel, input.bill_date)
            return ReconciliationRun.from_row(row)

        return await _guard(run, _RECONCILE, input.channel)  # type: ignore[no-any-return]

    @strawberry.mutation(
        permission_classes=[operator_with(OperatorRole.FINANCE)],
        description="Finance: mark a difference that waited for a person (MANUAL) as RESOLVED, under your name.",
    )
    async def resolve_reconciliation_diff(
        self, info: Info, input: inputs.ResolveReconciliationDiffInput
    ) -> ResolveReconciliationDiffResult:
        async def run() -> ReconciliationDiff:
            diff_id = parse_uuid(str(input.diff_id))
            if diff_id is None:
                raise NotFound("no such reconciliation difference", path=["diffId"], code="DIFF_NOT_FOUND")
            row = await reconciliation.resolve_diff(diff_id, resolved_by=str(_claims(info).subject))
            return ReconciliationDiff.from_row(row)

        return await _guard(run, _RESOLVE)  # type: ignore[no-any-return]
