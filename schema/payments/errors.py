"""The typed errors of payments' mutations, one per `PaymentsErrorCode` family (payments.md §10, §13).

`payments_error(exc, allowed)` is the one mapping from a refusal to the member of a mutation's result union. A code
whose type a union lacks becomes that union's `ConflictError` with the same stable `code`, so that a refusal never
reaches the client as a masked "Unexpected error.".
"""

from __future__ import annotations

from typing import Any

import strawberry

from api.kit.errors import AppError
from payments.errors import PaymentsError, PaymentsErrorCode
from schema.errors import ConflictError, Error, InvalidInputError, NotFoundError, to_error
from schema.payments.scalars import Fen
from schema.payments.types import PaymentChannel


@strawberry.type(description="This idempotency key was used for another request. Nothing was created.")
class IdempotencyKeyReusedError(Error):
    pass


@strawberry.type(
    description="The same request (or another device's) is still being handled. Retry with the same idempotency key."
)
class PaymentInProgressError(Error):
    retryable: bool = True


@strawberry.type(description="The bill cannot be paid: already paid, cancelled or refunded.")
class BillNotPayableError(Error):
    pass


@strawberry.type(
    description="The channel or product is not available for this bill now (not configured, or not answering). "
    "Nothing was charged."
)
class ChannelUnavailableError(Error):
    pass


@strawberry.type(description="Paying this bill needs a higher real-name level (L2 by default). Nothing was created.")
class AssuranceTooLowError(Error):
    required_level: int


@strawberry.type(
    description="A mini-program (JSAPI) payment needs your account bound to that channel (bindWechat / bindAlipay)."
)
class ChannelBindingMissingError(Error):
    channel: PaymentChannel


@strawberry.type(
    description="`expectedAvailableFen` is not what can be refunded now (a refund already happened or is in flight). "
    "Nothing was created; check `availableFen` before asking again."
)
class AvailableMismatchError(Error):
    available_fen: Fen


@strawberry.type(description="The refund is larger than what can still be refunded (`availableFen`).")
class ExceedsAvailableError(Error):
    available_fen: Fen


@strawberry.type(description="The order cannot be refunded: it was never paid.")
class OrderNotRefundableError(Error):
    pass


def _fen(value: object) -> Fen | None:
    return Fen(value) if type(value) is int and value >= 0 else None


def _channel(value: object) -> PaymentChannel | None:
    text = str(getattr(value, "value", value))
    return PaymentChannel(text) if text in PaymentChannel.__members__ else None


def _required_level(value: object) -> int:
    return value if type(value) is int else 2


def _typed(exc: PaymentsError, channel: PaymentChannel | None) -> Error | None:
    """The error type of a refusal; None when the refusal lacks what its type must carry."""
    code, message, path, extra = exc.code, exc.message, exc.path, exc.extra
    match exc.payments_code:
        case PaymentsErrorCode.IDEMPOTENCY_KEY_REUSED:
            return IdempotencyKeyReusedError(code=code, message=message, path=path)
        case PaymentsErrorCode.PAYMENT_IN_PROGRESS:
            return PaymentInProgressError(code=code, message=message, path=path)
        case PaymentsErrorCode.BILL_NOT_PAYABLE:
            return BillNotPayableError(code=code, message=message, path=path)
        case PaymentsErrorCode.CHANNEL_UNAVAILABLE | PaymentsErrorCode.PRODUCT_NOT_SUPPORTED:
            return ChannelUnavailableError(code=code, message=message, path=path)
        case PaymentsErrorCode.ASSURANCE_TOO_LOW:
            level = extra.get("required_level", extra.get("min_level"))
            return AssuranceTooLowError(code=code, message=message, path=path, required_level=_required_level(level))
        case PaymentsErrorCode.CHANNEL_BINDING_MISSING:
            channel = _channel(extra.get("channel")) or channel
            if channel is None:
                return None
            return ChannelBindingMissingError(code=code, message=message, path=path, channel=channel)
        case PaymentsErrorCode.AVAILABLE_MISMATCH | PaymentsErrorCode.EXCEEDS_AVAILABLE:
            available = _fen(extra.get("available_fen"))
            if available is None:
                return None
            kind = (
                AvailableMismatchError
                if exc.payments_code is PaymentsErrorCode.AVAILABLE_MISMATCH
                else ExceedsAvailableError
            )
            return kind(code=code, message=message, path=path, available_fen=available)
        case PaymentsErrorCode.ORDER_NOT_REFUNDABLE:
            return OrderNotRefundableError(code=code, message=message, path=path)
        case PaymentsErrorCode.BILL_NOT_FOUND | PaymentsErrorCode.ORDER_NOT_FOUND:
            return NotFoundError(code=code, message=message, path=path)
        case PaymentsErrorCode.INVALID_AMOUNT:
            return InvalidInputError(code=code, message=message, path=path)
    return None


def payments_error(exc: AppError, allowed: tuple[type[Any], ...], *, channel: PaymentChannel | None = None) -> Any:
    """The member of a result union (`allowed`) for an expected refusal; `channel`: the one the input named."""
    typed = _typed(exc, channel) if isinstance(exc, PaymentsError) else to_error(exc)
    if typed is not None and isinstance(typed, allowed):
        return typed
    return ConflictError(code=exc.code, message=exc.message, path=exc.path)


def invalid(message: str, field: str, code: str = "INVALID_INPUT") -> InvalidInputError:
    return InvalidInputError(code=code, message=message, path=[field])
