"""APNs over aioapns 4.0, behind the `ChannelAdapter` shape (notifications.md §1.2–1.3, §C6).

The adapter calls the pools directly (not `APNs.send_notification`, which logs every non-200 at ERROR) and
classifies every answer itself. A send that times out is never cancelled (behaviour 2): its task is kept until the
reply lands and the late outcome goes to `on_late_reply`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial

from aioapns.common import NotificationRequest, NotificationResult, PushType
from aioapns.exceptions import ConnectionClosed, ConnectionError, MaxAttemptsExceeded

from api.kit.clock import Clock
from notifications.channels.apns_payload import build_payload
from notifications.channels.apns_pool import SharedTokenPool, client_ssl_context
from notifications.channels.base import ChannelAdapter, LateReply, OutboundMessage, SendResult

log = logging.getLogger(__name__)

STREAMS_PER_CONNECTION = 500  # what the adapter plans for; aioapns follows the server's advertised limit
INVALID_TOKEN_REASONS = frozenset({"BadDeviceToken", "DeviceTokenNotForTopic"})

LateReplyHandler = Callable[[LateReply], Awaitable[None]]


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
        """Every item goes out at once; the batch waits up to the timeout. Sends still unanswered then are kept,
        never cancelled (behaviour 2): `asyncio.wait` with a timeout is `wait_for(shield(task))` for a whole batch,
        with one timer instead of one per message."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout_s
        results: list[SendResult | None] = [None] * len(items)
        flights: list[_Flight] = []
        for index, message in enumerate(items):
            prepared = self._prepare(message)
            if isinstance(prepared, SendResult):
                results[index] = prepared
                continue
            pool, request = prepared
            task = loop.create_task(self._fly(pool, request, self._slots[message.env], deadline))
            flights.append(_Flight(index, message, pool, pool.generation, task))
        if flights:
            try:
                await asyncio.wait([flight.task for flight in flights], timeout=self._timeout_s)
            except asyncio.CancelledError:
                for flight in flights:
                    self._orphan(flight)
                raise
        for flight in flights:
            if flight.task.done():
                results[flight.index] = self._landed(flight)
            else:
                self._orphan(flight)
                results[flight.index] = SendResult("retry", provider_id=flight.message.apns_id, reason="Timeout")
        return [result for result in results if result is not None]

    async def aclose(self, grace_s: float = 1.0) -> None:
        """Close the connections; sends still in flight end as ConnectionClosed and are not reported late."""
        self._closing = True
        for pool in self._pools.values():
            pool.close()
        pending = [*self._orphans, *self._callbacks]
        if pending:
            await asyncio.wait(pending, timeout=grace_s)

    def _prepare(self, message: OutboundMessage) -> SendResult | tuple[SharedTokenPool, NotificationRequest]:
        try:
            return self._request(message)
        except Exception as exc:  # never raise out of send(): the sender owns the delivery's fate
            log.exception("preparing the APNs request of delivery %s failed", message.delivery_id)
            return SendResult("retry", provider_id=message.apns_id, reason=type(exc).__name__, alert=True)

    def _request(self, message: OutboundMessage) -> SendResult | tuple[SharedTokenPool, NotificationRequest]:
        pool = self._pools.get(message.env)
        if pool is None:
            return SendResult("permanent", reason=f"UnknownEnv:{message.env}", alert=True)
        try:
            payload = build_payload(message)
        except (TypeError, ValueError):  # extra values JSON cannot carry: a template bug
            return SendResult("permanent", provider_id=message.apns_id, reason="InvalidPayload", alert=True)
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
        return pool, request

    @staticmethod
    async def _fly(
        pool: SharedTokenPool, request: NotificationRequest, slots: asyncio.Semaphore, deadline: float
    ) -> NotificationResult:
        if slots.locked():
            await slots.acquire()
            if asyncio.get_running_loop().time() >= deadline:
                slots.release()
                raise _NeverSent  # its batch has given up on it: sending it now would only duplicate a retry
        else:
            await slots.acquire()  # returns at once
        try:
            return await pool.send_notification(request)
        finally:
            slots.release()

    def _landed(self, flight: _Flight) -> SendResult:
        try:
            if flight.task.cancelled():
                return SendResult("retry", provider_id=flight.message.apns_id, reason="Cancelled")
            exc = flight.task.exception()
            if exc is not None:
                return _classify_exception(exc, flight.message)
            return self._classify(flight.task.result(), flight.message, flight.pool, flight.generation)
        except Exception as exc:  # never raise out of send(): the sender owns the delivery's fate
            log.exception("classifying the APNs reply of delivery %s failed", flight.message.delivery_id)
            return SendResult("retry", provider_id=flight.message.apns_id, reason=type(exc).__name__, alert=True)

    def _orphan(self, flight: _Flight) -> None:
        if flight.task.done():
            flight.task.cancelled() or flight.task.exception()  # retrieved: no "never retrieved" noise
            return
        self._orphans.add(flight.task)
        flight.task.add_done_callback(partial(self._late, flight))

    def _late(self, flight: _Flight, task: asyncio.Task[NotificationResult]) -> None:
        self._orphans.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if self._closing or isinstance(exc, _NeverSent):
            return
        result = self._landed(flight)
        late = LateReply(delivery_id=flight.message.delivery_id, result=result, arrived_at=self._clock.now())
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


class _NeverSent(Exception):
    pass


@dataclass(frozen=True)
class _Flight:
    index: int
    message: OutboundMessage
    pool: SharedTokenPool
    generation: int  # of the pool's provider when the send started
    task: asyncio.Task[NotificationResult]


def _classify_exception(exc: BaseException, message: OutboundMessage) -> SendResult:
    if isinstance(exc, _NeverSent):
        return SendResult("retry", provider_id=message.apns_id, reason="Timeout")
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
