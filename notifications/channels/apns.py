"""APNs over aioapns 4.0, behind the `ChannelAdapter` shape (notifications.md §1.2–1.3, §C6).

The adapter calls the pools directly (not `APNs.send_notification`, which logs every non-200 at ERROR) and
classifies every answer itself. A send that times out is never cancelled (behaviour 2): its task is kept until the
reply lands and the late outcome goes to `on_late_reply`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any

from aioapns.common import NotificationRequest, NotificationResult, PushType
from aioapns.exceptions import ConnectionClosed, ConnectionError, MaxAttemptsExceeded

from api.kit.clock import Clock
from notifications.channels.apns_pool import SharedTokenPool, client_ssl_context
from notifications.channels.base import ChannelAdapter, LateReply, OutboundMessage, SendResult

log = logging.getLogger(__name__)

APNS_MAX_BYTES = 4096
ELLIPSIS = "…"
STREAMS_PER_CONNECTION = 500  # what the adapter plans for; aioapns follows the server's advertised limit
INVALID_TOKEN_REASONS = frozenset({"BadDeviceToken", "DeviceTokenNotForTopic"})
_RESERVED_KEYS = frozenset({"aps", "deeplink", "deliveryId"})

LateReplyHandler = Callable[[LateReply], Awaitable[None]]


def serialised_size(payload: Mapping[str, Any]) -> int:
    """Bytes on the wire: aioapns sends `json.dumps(message, ensure_ascii=False).encode()`."""
    return len(json.dumps(payload, ensure_ascii=False).encode())


def build_payload(message: OutboundMessage, limit: int = APNS_MAX_BYTES) -> dict[str, Any] | None:
    """The APNs body, its alert body (then title) cut on a character boundary with "…" until it fits `limit`;
    None when even an empty alert does not fit (the deeplink or extra keys alone are too large)."""

    def payload(title: str, body: str) -> dict[str, Any]:
        aps = {"alert": {"title": title, "body": body}, "sound": "default", "thread-id": message.category}
        extra = {key: value for key, value in message.extra.items() if key not in _RESERVED_KEYS}
        return {"aps": aps, **extra, "deeplink": message.deeplink, "deliveryId": str(message.delivery_id)}

    title, body = _clean(message.title), _clean(message.body)
    try:
        if serialised_size(payload(title, body)) <= limit:
            return payload(title, body)
        cut_body = _cut_to_fit(body, lambda text: serialised_size(payload(title, text)) <= limit)
        if cut_body is not None:
            return payload(title, cut_body)
        cut_title = _cut_to_fit(title, lambda text: serialised_size(payload(text, "")) <= limit)
    except (TypeError, ValueError):  # extra values JSON cannot carry
        return None
    return None if cut_title is None else payload(cut_title, "")


def _clean(text: str) -> str:
    return text.encode("utf-8", "replace").decode("utf-8")  # lone surrogates cannot be encoded on the wire


def _cut_to_fit(text: str, fits: Callable[[str], bool]) -> str | None:
    """The longest prefix + "…" that fits, by bisection over characters (sizes grow with the prefix)."""
    if not fits(ELLIPSIS):
        return None
    low, high = 0, len(text)  # text[:low] + … fits; text[:high + 1] + … does not (or high is the whole text)
    while low < high:
        middle = (low + high + 1) // 2
        if fits(text[:middle] + ELLIPSIS):
            low = middle
        else:
            high = middle - 1
    return text[:low] + ELLIPSIS


class ApnsAdapter(ChannelAdapter):
    channel = "apns"

    def __init__(
        self,
        pools: Mapping[str, SharedTokenPool],
        *,
        timeout_s: float,
        clock: Clock,
        on_late_reply: LateReplyHandler,
        max_in_flight: int,
    ) -> None:
        self._pools = dict(pools)
        self._timeout_s = timeout_s
        self._clock = clock
        self._on_late_reply = on_late_reply
        # Sends waiting for a free stream would otherwise poll aioapns's pool every 10 ms each.
        self._slots = {env: asyncio.Semaphore(max_in_flight) for env in self._pools}
        self._orphans: set[asyncio.Task[NotificationResult]] = set()
        self._callbacks: set[asyncio.Task[None]] = set()
        self._closing = False

    @property
    def pools(self) -> Mapping[str, SharedTokenPool]:
        return self._pools

    @property
    def orphans(self) -> int:
        """Sends that timed out and still wait for their reply."""
        return len(self._orphans)

    async def send(self, items: Sequence[OutboundMessage]) -> list[SendResult]:
        return list(await asyncio.gather(*(self._send_one(message) for message in items)))

    async def aclose(self, grace_s: float = 1.0) -> None:
        """Close the connections; sends still in flight end as ConnectionClosed and are not reported late."""
        self._closing = True
        for pool in self._pools.values():
            pool.close()
        pending = [*self._orphans, *self._callbacks]
        if pending:
            await asyncio.wait(pending, timeout=grace_s)

    async def _send_one(self, message: OutboundMessage) -> SendResult:
        try:
            return await self._send_unguarded(message)
        except Exception as exc:  # never raise out of send(): the sender owns the delivery's fate
            log.exception("APNs send of delivery %s failed unexpectedly", message.delivery_id)
            return SendResult("retry", provider_id=message.apns_id, reason=type(exc).__name__, alert=True)

    async def _send_unguarded(self, message: OutboundMessage) -> SendResult:
        pool = self._pools.get(message.env)
        if pool is None:
            return SendResult("permanent", reason=f"UnknownEnv:{message.env}", alert=True)
        payload = build_payload(message)
        if payload is None:
            return SendResult("permanent", provider_id=message.apns_id, reason="PayloadTooLarge", alert=True)
        request = NotificationRequest(
            device_token=message.address,
            message=payload,
            notification_id=message.apns_id,
            time_to_live=max(message.ttl_s, 0),
            priority=10 if message.kind == "transactional" else 5,
            collapse_key=message.collapse_id or None,
            push_type=PushType.ALERT,
        )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout_s
        slots = self._slots[message.env]
        try:
            await asyncio.wait_for(slots.acquire(), self._timeout_s)  # nothing is sent yet: safe to give up
        except TimeoutError:
            return SendResult("retry", provider_id=message.apns_id, reason="Timeout")
        generation = pool.generation
        task = loop.create_task(pool.send_notification(request))
        task.add_done_callback(lambda _: slots.release())
        try:
            result = await asyncio.wait_for(asyncio.shield(task), max(deadline - loop.time(), 0))
        except TimeoutError:
            self._orphan(task, message, pool, generation)
            return SendResult("retry", provider_id=message.apns_id, reason="Timeout")
        except asyncio.CancelledError:
            self._orphan(task, message, pool, generation)
            raise
        except Exception as exc:
            return _classify_exception(exc, message)
        return self._classify(result, message, pool, generation)

    def _orphan(
        self, task: asyncio.Task[NotificationResult], message: OutboundMessage, pool: SharedTokenPool, generation: int
    ) -> None:
        self._orphans.add(task)
        task.add_done_callback(partial(self._late, message, pool, generation))

    def _late(
        self,
        message: OutboundMessage,
        pool: SharedTokenPool,
        generation: int,
        task: asyncio.Task[NotificationResult],
    ) -> None:
        self._orphans.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if self._closing:
            return
        result = (
            self._classify(task.result(), message, pool, generation)
            if exc is None
            else _classify_exception(exc, message)
        )
        late = LateReply(delivery_id=message.delivery_id, result=result, arrived_at=self._clock.now())
        callback = asyncio.ensure_future(self._on_late_reply(late))
        self._callbacks.add(callback)
        callback.add_done_callback(self._callback_done)

    def _callback_done(self, callback: asyncio.Task[None]) -> None:
        self._callbacks.discard(callback)
        if not callback.cancelled() and (exc := callback.exception()) is not None:
            log.error("recording a late APNs reply failed", exc_info=exc)

    def _classify(
        self, result: NotificationResult, message: OutboundMessage, pool: SharedTokenPool, generation: int
    ) -> SendResult:
        status = int(result.status)
        apns_id = result.notification_id
        if status == 200:
            return SendResult("sent", provider_id=apns_id, http_status=200)
        reason = result.description or None
        retry_after = pool.retry_after.pop(apns_id, None)
        if status == 410:
            invalid_at = _from_millis(result.timestamp) or self._clock.now()
            return SendResult("invalid_endpoint", apns_id, reason, status, endpoint_invalid_at=invalid_at)
        if status == 400 and reason in INVALID_TOKEN_REASONS:
            return SendResult("invalid_endpoint", apns_id, reason, status, endpoint_invalid_at=self._clock.now())
        if status == 403:
            renewed = pool.renew_after_rejection(generation)
            return SendResult("auth", apns_id, reason, status, alert=not renewed)
        if status == 429:
            alert = reason == "TooManyProviderTokenUpdates"
            return SendResult("retry", apns_id, reason, status, retry_after_s=retry_after, alert=alert)
        if status >= 500:
            return SendResult("retry", apns_id, reason, status, retry_after_s=retry_after)
        return SendResult("permanent", apns_id, reason, status, alert=True)  # other 400s, 404, 405, 413


def _classify_exception(exc: BaseException, message: OutboundMessage) -> SendResult:
    if isinstance(exc, MaxAttemptsExceeded | ConnectionClosed | ConnectionError):
        return SendResult("retry", provider_id=message.apns_id, reason=type(exc).__name__)
    log.error("APNs send of delivery %s raised", message.delivery_id, exc_info=exc)
    return SendResult("retry", provider_id=message.apns_id, reason=type(exc).__name__, alert=True)


def _from_millis(value: object) -> datetime | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return datetime.fromtimestamp(value / 1000, UTC)
    return None


async def build_apns_adapter(
    *,
    host: str,
    port: int,
    topic: str,
    key_pem: str,
    key_id: str,
    team_id: str,
    ca_file: str | None,
    connections: int,
    timeout_s: float,
    clock: Clock,
    on_late_reply: LateReplyHandler,
    development_host: str | None = None,
    streams_per_connection: int = STREAMS_PER_CONNECTION,
) -> ApnsAdapter:
    """Build inside the running loop (the worker's on_startup): one pool per APNs environment, `prod` for
    production tokens and `sandbox` for tokens of Apple's development environment."""
    context = client_ssl_context(ca_file)
    pools = {
        env: SharedTokenPool(
            host=env_host,
            port=port,
            key=key_pem,
            key_id=key_id,
            team_id=team_id,
            topic=topic,
            ssl_context=context,
            max_connections=connections,
        )
        for env, env_host in (("prod", host), ("sandbox", development_host or host))
    }
    return ApnsAdapter(
        pools,
        timeout_s=timeout_s,
        clock=clock,
        on_late_reply=on_late_reply,
        max_in_flight=connections * streams_per_connection,
    )
