"""How one mutation of a push fails (sync-protocol.md §8.2): permanently (REJECTED, LMID advances) or temporarily
(the batch stops, LMID stays, the client retries after `retry_after_ms`)."""

from __future__ import annotations

import uuid

from sync.contract import SyncErrorCode, SyncErrorView

SERVER_BUSY_RETRY_MS = 1000
FORM_VERSION_RETRY_MS = 5000
NOT_OWNER_MESSAGE = "no such draft in your space"  # the same for a missing and a foreign draft: no existence oracle


class Rejected(Exception):
    """A permanent rejection of one mutation: its result is REJECTED and stored, LMID advances."""

    def __init__(
        self,
        code: SyncErrorCode,
        message: str,
        *,
        paths: list[str] | None = None,
        application_id: uuid.UUID | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.paths = paths
        self.application_id = application_id

    def view(self) -> SyncErrorView:
        return SyncErrorView(self.code, self.message, retryable=False, paths=self.paths)


class Temporary(Exception):
    """The batch stops before this mutation; nothing of it is kept."""

    def __init__(self, code: SyncErrorCode, message: str, retry_after_ms: int) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry_after_ms = retry_after_ms

    def view(self) -> SyncErrorView:
        return SyncErrorView(self.code, self.message, retryable=True)


def not_owner() -> Rejected:
    return Rejected(SyncErrorCode.NOT_OWNER, NOT_OWNER_MESSAGE)
