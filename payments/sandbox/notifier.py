"""The sandboxes' notify sender: signed notifies posted to our notify URL, re-posted on the channel's schedule.

Deliveries follow the sandbox's own clock, so that tests reach a retry by moving it rather than by waiting.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx

from api.kit.clock import Clock

ALIPAY_RETRIES = tuple(timedelta(minutes=m) for m in (4, 10, 10, 60, 120, 360, 900))
WECHAT_RETRIES = tuple(
    timedelta(seconds=s)
    for s in (15, 15, 30, 180, 600, 1200, 1800, 1800, 1800, 3600, 10800, 10800, 10800, 21600, 21600)
)


@dataclass
class Attempt:
    at: datetime
    status: int | None  # None: the post failed before any answer
    body: str


@dataclass
class Delivery:
    id: int
    key: str  # the out_trade_no (or out_refund_no) it is about, for drop_notifies
    url: str
    headers: dict[str, str]
    body: bytes
    next_at: datetime | None
    acknowledged: bool = False
    dropped: bool = False
    retries_used: int = 0
    attempts: list[Attempt] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "key": self.key,
            "url": self.url,
            "headers": self.headers,
            "body": self.body.decode("utf-8", "replace"),
            "nextAt": self.next_at.isoformat() if self.next_at else None,
            "acknowledged": self.acknowledged,
            "dropped": self.dropped,
            "attempts": [{"at": a.at.isoformat(), "status": a.status, "body": a.body} for a in self.attempts],
        }


class NotifySender:
    """`accepted(status, body)` says whether our answer acknowledges the notify (channel-specific)."""

    def __init__(
        self,
        clock: Clock,
        retries: Sequence[timedelta],
        accepted: Callable[[int, str], bool],
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.clock = clock
        self._retries = tuple(retries)
        self._accepted = accepted
        self._http = http
        self._ids = itertools.count(1)
        self.deliveries: list[Delivery] = []
        self._dropped_keys: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    def bind(self, http: httpx.AsyncClient) -> None:
        self._http = http

    def drop(self, key: str) -> None:
        """Lose every notify about `key`, queued or future: the channel never reaches us."""
        self._dropped_keys.add(key)
        for delivery in self.deliveries:
            if delivery.key == key and not delivery.acknowledged:
                delivery.dropped = True

    def queue(self, key: str, url: str, headers: Mapping[str, str], body: bytes, *, send_now: bool = True) -> Delivery:
        delivery = Delivery(next(self._ids), key, url, dict(headers), body, self.clock.now())
        delivery.dropped = key in self._dropped_keys
        self.deliveries.append(delivery)
        if send_now and not delivery.dropped:
            task = asyncio.get_running_loop().create_task(self._post_and_schedule(delivery))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return delivery

    async def settle(self) -> None:
        """Wait for the posts already started (tests: "the sandbox delivers", then assert)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def deliver_pending(self) -> list[Delivery]:
        """Post every unacknowledged, undropped delivery whose next attempt is due by the sandbox's clock."""
        await self.settle()
        now = self.clock.now()
        due = [d for d in self.deliveries if not d.acknowledged and not d.dropped and d.next_at and d.next_at <= now]
        for delivery in due:
            await self._post_and_schedule(delivery)
        return due

    async def redeliver(self, delivery_id: int, concurrency: int = 1) -> list[Attempt]:
        """Post the same notify again, `concurrency` times at once, whatever its state (a channel's duplicate)."""
        delivery = self.get(delivery_id)
        before = len(delivery.attempts)
        await asyncio.gather(*(self._post(delivery) for _ in range(concurrency)))
        return delivery.attempts[before:]

    def get(self, delivery_id: int) -> Delivery:
        for delivery in self.deliveries:
            if delivery.id == delivery_id:
                return delivery
        raise KeyError(f"no delivery {delivery_id}")

    def for_key(self, key: str) -> list[Delivery]:
        return [d for d in self.deliveries if d.key == key]

    def reset(self) -> None:
        self.deliveries.clear()
        self._dropped_keys.clear()

    async def _post_and_schedule(self, delivery: Delivery) -> None:
        attempt = await self._post(delivery)
        if delivery.acknowledged:
            delivery.next_at = None
        elif delivery.retries_used < len(self._retries):
            delivery.next_at = attempt.at + self._retries[delivery.retries_used]
            delivery.retries_used += 1
        else:
            delivery.next_at = None  # the channel gives up; the merchant must query

    async def _post(self, delivery: Delivery) -> Attempt:
        if self._http is None:
            raise RuntimeError("the notify sender has no HTTP client yet")
        at = self.clock.now()
        try:
            response = await self._http.post(delivery.url, content=delivery.body, headers=delivery.headers)
            attempt = Attempt(at, response.status_code, response.text)
        except httpx.HTTPError as exc:
            attempt = Attempt(at, None, f"{type(exc).__name__}: {exc}")
        delivery.attempts.append(attempt)
        if attempt.status is not None and self._accepted(attempt.status, attempt.body):
            delivery.acknowledged = True
        return attempt
