"""Per-operation scripts of the WeChat Pay sandbox and the answers its endpoints build."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

OPERATIONS = ("pay", "query", "close", "refund", "query_refund", "tradebill", "billdownload", "certificates")

_ROUTES = (
    ("POST", re.compile(r"/v3/pay/transactions/(app|jsapi|native|h5)"), "pay"),
    ("POST", re.compile(r"/v3/pay/transactions/out-trade-no/[^/]+/close"), "close"),
    ("GET", re.compile(r"/v3/pay/transactions/out-trade-no/[^/]+"), "query"),
    ("POST", re.compile(r"/v3/refund/domestic/refunds"), "refund"),
    ("GET", re.compile(r"/v3/refund/domestic/refunds/[^/]+"), "query_refund"),
    ("GET", re.compile(r"/v3/bill/tradebill"), "tradebill"),
    ("GET", re.compile(r"/v3/billdownload/file"), "billdownload"),
    ("GET", re.compile(r"/v3/certificates"), "certificates"),
)
_FAILURES = {
    401: ("SIGN_ERROR", "签名错误"),
    404: ("RESOURCE_NOT_EXISTS", "资源不存在"),
    429: ("FREQUENCY_LIMITED", "频率超限"),
}


def operation_of(method: str, path: str) -> str | None:
    for route_method, pattern, operation in _ROUTES:
        if method.upper() == route_method and pattern.fullmatch(path):
            return operation
    return None


@dataclass
class Reply:
    status: int
    body: dict[str, Any] | list[Any] | bytes | None = None
    # Run after the answer is sent (a refund finishing, its notify): what WeChat does asynchronously.
    after: list[Callable[[], Awaitable[None]]] = field(default_factory=list)


def error(status: int, code: str, message: str) -> Reply:
    return Reply(status, {"code": code, "message": message})


def failure(status: int, after: Sequence[Callable[[], Awaitable[None]]] = ()) -> Reply:
    if status >= 500:
        code, message = "SYSTEM_ERROR", "系统错误"
    else:
        code, message = _FAILURES.get(status, ("INVALID_REQUEST", "请求参数不符合要求"))
    return Reply(status, {"code": code, "message": message}, list(after))


@dataclass
class OpScript:
    operation: str
    delay_s: float = 0.0
    http_status: int | None = None
    mis_sign: bool = False
    probe_signature: bool = False
    perform_anyway: bool = False
    remaining: int | None = 1  # None: until cleared

    @classmethod
    def build(
        cls,
        operation: Any,
        delay_s: Any,
        http_status: Any,
        mis_sign: Any,
        probe_signature: Any,
        perform_anyway: Any,
        times: Any,
    ) -> OpScript:
        """Checked here because scripts also arrive as JSON over HTTP."""
        if operation not in OPERATIONS:
            raise ValueError(f"operation must be one of {', '.join(OPERATIONS)}")
        if delay_s is not None and (isinstance(delay_s, bool) or not isinstance(delay_s, int | float) or delay_s < 0):
            raise ValueError("delay_s must be a non-negative number of seconds")
        if http_status is not None and (type(http_status) is not int or not 100 <= http_status <= 599):
            raise ValueError("http_status must be an HTTP status")
        if times is not None and (type(times) is not int or times < 1):
            raise ValueError("times must be a positive integer or null")
        for flag in (mis_sign, probe_signature, perform_anyway):
            if not isinstance(flag, bool):
                raise ValueError("mis_sign, probe_signature and perform_anyway must be booleans")
        return cls(operation, float(delay_s or 0), http_status, mis_sign, probe_signature, perform_anyway, times)

    def to_json(self) -> dict[str, Any]:
        return {
            "operation": self.operation,
            "delayS": self.delay_s,
            "httpStatus": self.http_status,
            "misSign": self.mis_sign,
            "probeSignature": self.probe_signature,
            "performAnyway": self.perform_anyway,
            "times": self.remaining,
        }
