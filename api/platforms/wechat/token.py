"""The WeChat stable access token (`getStableAccessToken`), shared by every process through Redis.

`getAccessToken` would invalidate the token of every other worker on each call; the stable API returns the same
token while it is valid, so processes can refresh independently. Refreshing is still single-flight (one caller
per app fetches, the others wait for the cache) to stay far from the API's minute and day limits (§1.5, §C6).
"""

from __future__ import annotations

import asyncio
import json
import secrets
from dataclasses import dataclass
from typing import Any

import httpx

from api.kit.clock import Clock
from api.kit.errors import ProviderError
from api.kit.redis import Redis

# The platform renews a token 5 minutes before it expires and both work meanwhile: refreshing that early means a
# cached token is never one the platform has already replaced.
REFRESH_MARGIN_S = 300
LOCK_TTL_MS = 15_000  # longer than one token request (connect 3 s + 10 s total)
POLL_INTERVAL_S = 0.05
# Credential or request errors: retrying cannot help, an operator must fix the configuration.
_CONFIG_ERRCODES = frozenset({40002, 40013, 40125, 40164, 41002, 41004, 89503})
_RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"


class WechatTokenError(ProviderError):
    """No access token could be had. `configuration` marks a refusal retrying cannot fix (bad app id or secret)."""

    def __init__(self, message: str, *, code: str, configuration: bool = False) -> None:
        super().__init__(message, code=code)
        self.configuration = configuration


@dataclass(frozen=True)
class _Cached:
    token: str
    expires_at: float  # seconds since the epoch, by the injected clock

    def fresh(self, now: float) -> bool:
        return now < self.expires_at - REFRESH_MARGIN_S


class StableTokenSource:
    def __init__(
        self,
        http: httpx.AsyncClient,
        redis: Redis,
        *,
        base_url: str,
        app_id: str,
        app_secret: str,
        clock: Clock,
        wait_timeout_s: float = 20.0,
    ) -> None:
        self._http = http
        self._redis = redis
        self._base_url = base_url.rstrip("/")
        self._app_id = app_id
        self._app_secret = app_secret
        self._clock = clock
        self._wait_timeout_s = wait_timeout_s
        self._key = f"wechat:stable_token:{app_id}"
        self._lock_key = f"{self._key}:lock"
        self._release: Any = redis.register_script(_RELEASE)

    async def token(self) -> str:
        """A token valid for at least five more minutes."""
        cached = await self._read()
        if cached is not None and cached.fresh(self._now()):
            return cached.token
        return await self._refresh(rejected=None)

    async def refresh_rejected(self, rejected: str) -> str:
        """A token other than `rejected`, which the API has just refused (40001/42001/40014)."""
        cached = await self._read()
        if cached is not None and cached.token != rejected and cached.fresh(self._now()):
            return cached.token  # another caller has already replaced it
        return await self._refresh(rejected=rejected)

    # -- single flight --

    async def _refresh(self, *, rejected: str | None) -> str:
        owner = secrets.token_hex(8)
        deadline = asyncio.get_running_loop().time() + self._wait_timeout_s
        while True:
            if await self._redis.set(self._lock_key, owner, nx=True, px=LOCK_TTL_MS):
                try:
                    return await self._refresh_as_owner(rejected)
                finally:
                    await self._release(keys=[self._lock_key], args=[owner])
            # Another caller is fetching: wait for its result, or for its lock to go (it failed or died).
            while await self._redis.exists(self._lock_key):
                cached = await self._read()
                if cached is not None and cached.token != rejected and cached.fresh(self._now()):
                    return cached.token
                if asyncio.get_running_loop().time() > deadline:
                    raise WechatTokenError("timed out waiting for the WeChat access token", code="WECHAT_UNAVAILABLE")
                await asyncio.sleep(POLL_INTERVAL_S)
            cached = await self._read()
            if cached is not None and cached.token != rejected and cached.fresh(self._now()):
                return cached.token

    async def _refresh_as_owner(self, rejected: str | None) -> str:
        cached = await self._read()  # the previous owner may have refreshed between our read and our lock
        if cached is not None and cached.token != rejected and cached.fresh(self._now()):
            return cached.token
        fetched = await self._fetch(force_refresh=False)
        if rejected is not None and fetched.token == rejected:
            # Normal mode still hands out the token the API refused: only now is a forced refresh (20 a day,
            # and it invalidates the token for every other process) worth it.
            fetched = await self._fetch(force_refresh=True)
        await self._write(fetched)
        return fetched.token

    # -- the API and the cache --

    async def _fetch(self, *, force_refresh: bool) -> _Cached:
        body = {
            "grant_type": "client_credential",
            "appid": self._app_id,
            "secret": self._app_secret,
            "force_refresh": force_refresh,
        }
        try:
            response = await self._http.post(f"{self._base_url}/cgi-bin/stable_token", json=body)
        except httpx.HTTPError as exc:
            raise WechatTokenError("WeChat cannot be reached", code="WECHAT_UNAVAILABLE") from exc
        if response.status_code != 200:
            raise WechatTokenError(f"WeChat failed (HTTP {response.status_code})", code="WECHAT_UNAVAILABLE")
        try:
            answer = json.loads(response.text)  # labelled text/plain by WeChat
        except ValueError as exc:
            raise WechatTokenError("WeChat answered with non-JSON", code="WECHAT_UNAVAILABLE") from exc
        if not isinstance(answer, dict):
            raise WechatTokenError("WeChat answered with something other than an object", code="WECHAT_UNAVAILABLE")
        errcode = answer.get("errcode") or 0
        if errcode:
            raise WechatTokenError(
                f"WeChat refused the access token (errcode {errcode})",
                code="WECHAT_TOKEN_REFUSED",
                configuration=errcode in _CONFIG_ERRCODES,
            )
        token, expires_in = answer.get("access_token"), answer.get("expires_in")
        if not isinstance(token, str) or not token or not isinstance(expires_in, int) or expires_in <= 0:
            raise WechatTokenError("WeChat answered without an access token", code="WECHAT_UNAVAILABLE")
        return _Cached(token, self._now() + expires_in)

    async def _read(self) -> _Cached | None:
        raw = await self._redis.get(self._key)
        if raw is None:
            return None
        try:
            data = json.loads(raw)
            return _Cached(str(data["token"]), float(data["expires_at"]))
        except (ValueError, KeyError, TypeError):
            return None  # unreadable: fetched again and overwritten

    async def _write(self, cached: _Cached) -> None:
        value = json.dumps({"token": cached.token, "expires_at": cached.expires_at})
        # Redis's own expiry only clears the key some time after the token is useless; freshness is judged by the
        # injected clock on every read.
        ttl_ms = max(1, int((cached.expires_at - self._now()) * 1000))
        await self._redis.set(self._key, value, px=ttl_ms)

    def _now(self) -> float:
        return self._clock.now().timestamp()
