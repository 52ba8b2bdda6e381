"""The Huawei OAuth access token (client credentials), shared by every worker through Redis (§1.7, §C6 Credentials).

The cached value carries its expiry by the injected clock, so tests move it with the clock rather than by waiting.
Refresh is single-flight: `SET NX PX` on a lock key; the winner re-reads the cache (another worker may have just
refreshed) and otherwise fetches; losers poll the cache until a usable token appears or the lock goes away.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from redis.exceptions import RedisError

from api.kit.clock import Clock
from api.kit.redis import Redis

log = logging.getLogger(__name__)

REFRESH_EARLY = timedelta(minutes=5)
LOCK_TTL_MS = 15_000
POLL_INTERVAL_S = 0.05
_RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"


class TokenUnavailable(Exception):
    """No token: `rejected` is True when Huawei refused our credentials (a configuration fault, not a blip)."""

    def __init__(self, message: str, *, rejected: bool) -> None:
        super().__init__(message)
        self.rejected = rejected


@dataclass(frozen=True)
class _Cached:
    token: str
    expires_at: datetime


class HuaweiTokenSource:
    def __init__(
        self,
        http: httpx.AsyncClient,
        redis: Redis,
        *,
        oauth_url: str,
        app_id: str,
        client_id: str,
        client_secret: str,
        clock: Clock,
        wait_s: float = 10.0,
    ) -> None:
        self._http, self._redis, self._clock = http, redis, clock
        self._oauth_url, self._client_id, self._client_secret = oauth_url, client_id, client_secret
        self.cache_key = f"notify:huawei:token:{app_id}"
        self._lock_key = f"{self.cache_key}:lock"
        self._wait_s = wait_s
        self._release: Any = redis.register_script(_RELEASE)

    async def token(self, *, rejected: str | None = None) -> str:
        """A token valid for at least five more minutes, never `rejected` (the one Huawei just refused)."""
        try:
            return await self._shared_token(rejected)
        except RedisError as exc:
            # Fail open, as transactional sends do without Redis (§C8): a token of our own, not shared.
            log.warning("huawei token: Redis unavailable (%r), fetching without the cache", exc)
            return await self._fetch(store=False)

    async def _shared_token(self, rejected: str | None) -> str:
        cached = await self._usable(rejected)
        if cached is not None:
            return cached
        deadline = asyncio.get_running_loop().time() + self._wait_s
        while True:
            owner = secrets.token_hex(8)
            if await self._redis.set(self._lock_key, owner, nx=True, px=LOCK_TTL_MS):
                try:
                    return await self._usable(rejected) or await self._fetch()
                finally:
                    await self._release(keys=[self._lock_key], args=[owner])
            while await self._redis.exists(self._lock_key):
                if asyncio.get_running_loop().time() > deadline:
                    raise TokenUnavailable("timed out waiting for another worker's token refresh", rejected=False)
                await asyncio.sleep(POLL_INTERVAL_S)
                cached = await self._usable(rejected)
                if cached is not None:
                    return cached
            cached = await self._usable(rejected)  # the winner finished between two polls
            if cached is not None:
                return cached

    async def _usable(self, rejected: str | None) -> str | None:
        raw = await self._redis.get(self.cache_key)
        if raw is None:
            return None
        try:
            data = json.loads(raw)
            cached = _Cached(str(data["token"]), datetime.fromisoformat(data["expires_at"]))
        except (ValueError, KeyError, TypeError):
            return None
        if cached.token == rejected or cached.expires_at - REFRESH_EARLY <= self._clock.now():
            return None
        return cached.token

    async def _fetch(self, *, store: bool = True) -> str:
        form = {"grant_type": "client_credentials", "client_id": self._client_id, "client_secret": self._client_secret}
        try:
            response = await self._http.post(self._oauth_url, data=form)
        except httpx.HTTPError as exc:
            raise TokenUnavailable(f"the Huawei OAuth server cannot be reached: {exc!r}", rejected=False) from exc
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if response.status_code >= 500 or not isinstance(answer, dict):
            raise TokenUnavailable(f"the Huawei OAuth server failed (HTTP {response.status_code})", rejected=False)
        token, expires_in = answer.get("access_token"), answer.get("expires_in")
        if response.status_code != 200 or not isinstance(token, str) or not isinstance(expires_in, int):
            detail = answer.get("error_description") or answer.get("error") or response.status_code
            raise TokenUnavailable(f"Huawei refused the client credentials: {detail}", rejected=True)
        if not store:
            return token
        expires_at = self._clock.now() + timedelta(seconds=expires_in)
        value = json.dumps({"token": token, "expires_at": expires_at.isoformat()})
        # Redis's own expiry is only housekeeping: freshness is decided by `expires_at` on the injected clock.
        await self._redis.set(self.cache_key, value, px=expires_in * 1000)
        return token
