"""Request-scoped context: who calls, and the process-scoped services the resolvers call."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import strawberry

from api.identity.deps import IdentityDeps
from api.identity.principal import Principal
from notifications.deps import NotificationsDeps
from payments.deps import PaymentsDeps
from payments.service.effects import kick
from sync.deps import SyncDeps


@dataclass
class Context:
    principal: Principal
    identity: IdentityDeps
    device_name: str
    # The process's payments (channels, clock): None only in a process built without them.
    payments: PaymentsDeps | None = None
    # The var dir whose uploads/ and blobs/ hold upload bytes (sync-protocol.md §11).
    upload_root: Path | None = None
    # The process's draft sync (sync-protocol.md): None only in a process built without it.
    sync: SyncDeps | None = None
    # The process's notifications (clock, redis; no adapters in the API): None only in a process built without them.
    notifications: NotificationsDeps | None = None
    # The request's variables as the client sent them (JSON, before coercion): what sync's quarantine keeps.
    sent_variables: dict[str, Any] = field(default_factory=dict)
    # Per-request DataLoaders, created on first use so that requests that need none pay nothing.
    loaders: dict[str, Any] = field(default_factory=dict)


Info = strawberry.Info[Context, None]


async def wake_relays(info: Info) -> None:
    """After a commit that wrote an outbox row another domain reacts to (a fee notice becomes a bill, a withdrawal
    cancels one): the relays run now instead of at their next scheduled run up to a minute later."""
    if info.context.payments is not None:
        await kick(info.context.payments)
