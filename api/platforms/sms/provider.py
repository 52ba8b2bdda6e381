"""The one interface every SMS vendor adapter implements."""

from __future__ import annotations

from typing import Protocol


class SmsProvider(Protocol):
    async def send(self, phone: str, template_code: str, params: dict[str, str]) -> None:
        """Send one templated message; raise `ProviderError` when the vendor refuses or cannot be reached."""
        ...
