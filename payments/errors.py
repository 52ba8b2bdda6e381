"""The stable codes of payments' expected failures; each maps to one GraphQL error type."""

from __future__ import annotations

from enum import StrEnum

from api.kit.errors import AppError


class PaymentsErrorCode(StrEnum):
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    PAYMENT_IN_PROGRESS = "PAYMENT_IN_PROGRESS"
    BILL_NOT_PAYABLE = "BILL_NOT_PAYABLE"
    BILL_NOT_FOUND = "BILL_NOT_FOUND"
    ORDER_NOT_FOUND = "ORDER_NOT_FOUND"
    CHANNEL_UNAVAILABLE = "CHANNEL_UNAVAILABLE"
    PRODUCT_NOT_SUPPORTED = "PRODUCT_NOT_SUPPORTED"
    ASSURANCE_TOO_LOW = "ASSURANCE_TOO_LOW"
    CHANNEL_BINDING_MISSING = "CHANNEL_BINDING_MISSING"
    AVAILABLE_MISMATCH = "AVAILABLE_MISMATCH"
    EXCEEDS_AVAILABLE = "EXCEEDS_AVAILABLE"
    ORDER_NOT_REFUNDABLE = "ORDER_NOT_REFUNDABLE"
    INVALID_AMOUNT = "INVALID_AMOUNT"


class PaymentsError(AppError):
    """An expected refusal: nothing was created or changed."""

    def __init__(self, code: PaymentsErrorCode, message: str, *, retryable: bool = False, **extra: object) -> None:
        super().__init__(message, code=code.value)
        self.payments_code = code
        self.retryable = retryable
        self.extra = extra
