"""Sandbox twins of the notification providers (APNs over raw h2 with its throwaway CA, Huawei Push Kit, the
Alipay mini-program message method). Imported only by the composition root, never started in production."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from notifications.sandbox.apns import ApnsSandbox

__all__ = ["ApnsSandbox"]


def __getattr__(name: str) -> Any:
    # Lazy, so that `python -m notifications.sandbox.apns` does not import its own module twice.
    if name == "ApnsSandbox":
        from notifications.sandbox.apns import ApnsSandbox

        return ApnsSandbox
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
