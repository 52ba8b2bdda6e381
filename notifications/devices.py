"""Device endpoints (notifications.md §C11): registered on every app start and login, moved to whoever signs in
on the phone, reactivated by a registration after their invalidation, removed on logout by their holder only."""

from __future__ import annotations

import re
import uuid
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError

from api.models import DeviceEndpoint, PushEnv, PushPlatform
from notifications.deps import NotificationsDeps
from notifications.errors import NotificationsError, NotificationsErrorCode

# Vendor tokens are hex (APNs) or base64-ish (Huawei and the others): any printable ASCII without spaces, so that
# the sandboxes' conventional tokens (gone01, bad01, busy…) register like real ones.
_TOKEN = re.compile(r"^[\x21-\x7e]{1,256}$")
MAX_APP_VERSION = 32
UNSEEN_FOR = timedelta(days=270)  # housekeeping (§C11): an app not started for this long is gone
INVALID_FOR = timedelta(days=30)


def _check(token: str, app_version: str) -> None:
    if not _TOKEN.match(token):
        raise NotificationsError(
            NotificationsErrorCode.INVALID_INPUT, "a device token is 1–256 printable characters", path=["token"]
        )
    if len(app_version) > MAX_APP_VERSION:
        raise NotificationsError(
            NotificationsErrorCode.INVALID_INPUT,
            f"an app version is at most {MAX_APP_VERSION} characters",
            path=["appVersion"],
        )


def _platform(value: PushPlatform | str) -> PushPlatform:
    try:
        return PushPlatform(value)
    except ValueError:
        raise NotificationsError(
            NotificationsErrorCode.INVALID_INPUT, "an unknown platform", path=["platform"]
        ) from None


def _env(value: PushEnv | str) -> PushEnv:
    try:
        return PushEnv(value)
    except ValueError:
        raise NotificationsError(NotificationsErrorCode.INVALID_INPUT, "sandbox or prod", path=["env"]) from None


async def register_device(
    deps: NotificationsDeps, user_id: uuid.UUID, platform: PushPlatform, token: str, env: PushEnv, app_version: str
) -> DeviceEndpoint:
    """Upsert on (platform, token): the caller holds it from now on, active, registered now."""
    _check(token, app_version)
    platform, env = _platform(platform), _env(env)
    now = deps.clock.now()
    changes: dict[str, Any] = {
        "user_id": user_id,
        "env": env,
        "app_version": app_version,
        "registered_at": now,
        "last_seen_at": now,
        "invalidated_at": None,
        "invalid_reason": None,
    }
    for _ in range(2):
        if await DeviceEndpoint.filter(platform=platform, token=token).update(**changes):
            break
        try:
            await DeviceEndpoint.create(platform=platform, token=token, **changes)
            break
        except IntegrityError:
            continue  # registered by a concurrent call just now: update that row instead
    return await DeviceEndpoint.get(platform=platform, token=token)


async def unregister_device(deps: NotificationsDeps, user_id: uuid.UUID, platform: PushPlatform, token: str) -> None:
    """Removes the caller's own endpoint; NOT_FOUND (and nothing changes) for a token the caller does not hold."""
    del deps
    removed = await DeviceEndpoint.filter(user_id=user_id, platform=platform, token=token).delete()
    if removed == 0:
        raise NotificationsError(NotificationsErrorCode.NOT_FOUND, "you have no such device", path=["token"])


async def active_endpoints(user_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, list[DeviceEndpoint]]:
    """The endpoints push may use, per user (oldest registration first); users without any are absent."""
    if not user_ids:
        return {}
    rows = await DeviceEndpoint.filter(user_id__in=list(user_ids), invalidated_at=None).order_by("registered_at", "id")
    found: dict[uuid.UUID, list[DeviceEndpoint]] = {}
    for row in rows:
        found.setdefault(row.user_id, []).append(row)
    return found


async def invalidate_endpoint(db: BaseDBAsyncClient | None, endpoint_id: uuid.UUID, at: datetime, reason: str) -> None:
    """Stops pushing to an endpoint from `at` on (APNs 410 timestamp, BadDeviceToken, Huawei illegal token),
    unless it was registered after `at`: that registration carries a newer token state (§C11). The first
    invalidation is kept."""
    query = DeviceEndpoint.filter(id=endpoint_id, registered_at__lte=at, invalidated_at=None)
    if db is not None:
        query = query.using_db(db)
    await query.update(invalidated_at=at, invalid_reason=reason[:64])


async def purge_endpoints(now: datetime) -> int:
    """Housekeeping (§C11): removes endpoints not seen for 270 days or invalid for 30; returns how many."""
    stale = await DeviceEndpoint.filter(last_seen_at__lt=now - UNSEEN_FOR).delete()
    return stale + await DeviceEndpoint.filter(invalidated_at__lt=now - INVALID_FOR).delete()
