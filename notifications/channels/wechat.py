"""WeChat mini-program subscribe messages (§1.5) with the §C6 classification.

WeChat answers HTTP 200 whatever happened; the outcome is in `errcode`. A refused access token is replaced
through the shared stable-token source and the send is tried once more inside the adapter.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, Protocol

import httpx

from api.kit.clock import Clock
from api.platforms.wechat.token import WechatTokenError
from notifications.channels.base import OutboundMessage, SendResult, send_each
from notifications.payload_limits import cut_wechat_value

log = logging.getLogger("zsb.notifications.wechat")

AUTH_ERRCODES = frozenset({40001, 42001, 40014})  # invalid or stale, expired, invalid access token
TEMPLATE_ERRCODES = frozenset({47003, 40037, 41030})  # argument, template id, page: a template bug
RETRY_ERRCODES = frozenset({-1, 45009, 45011})  # system busy; daily and per-minute quotas
NO_CONSENT = 43101
INVALID_OPENID = 40003


class TokenSource(Protocol):
    async def token(self) -> str: ...

    async def refresh_rejected(self, rejected: str) -> str: ...


def mini_program_page(deeplink: str) -> str:
    """The mini-program page of a deeplink: `zsb://applications/C42` → `applications/C42`."""
    _, separator, rest = deeplink.partition("://")
    return (rest if separator else deeplink).lstrip("/")


def subscribe_body(message: OutboundMessage) -> dict[str, Any]:
    body: dict[str, Any] = {
        "touser": message.address,
        "template_id": message.vendor_template_id,
        "data": {key: {"value": cut_wechat_value(key, value)} for key, value in message.data.items()},
        "miniprogram_state": "formal",
        "lang": "zh_CN",
    }
    page = mini_program_page(message.deeplink)
    if page:
        body["page"] = page
    return body


class WechatAdapter:
    channel = "wechat"

    def __init__(
        self,
        http: httpx.AsyncClient,
        token_source: TokenSource,
        *,
        base_url: str,
        clock: Clock,
        timeout_s: float = 10.0,
        concurrency: int = 32,
    ) -> None:
        self._http = http
        self._tokens = token_source
        self._url = f"{base_url.rstrip('/')}/cgi-bin/message/subscribe/send"
        self._clock = clock  # kept for the adapter contract: WeChat's answers carry no business time
        self._timeout_s = timeout_s
        self._slots = asyncio.Semaphore(concurrency)

    async def send(self, items: Sequence[OutboundMessage]) -> list[SendResult]:
        return await send_each(items, self._send_one, self._slots, "WeChat")

    async def aclose(self) -> None:
        """The http client belongs to the composition root, which closes it."""

    async def _send_one(self, message: OutboundMessage) -> SendResult:
        body = subscribe_body(message)
        try:
            token = await self._tokens.token()
            result = await self._post(token, body)
            if result.outcome != "auth":
                return result
            # The one retry §C5 allows after a credential refresh.
            result = await self._post(await self._tokens.refresh_rejected(token), body)
            if result.outcome == "auth":
                log.error("WeChat refused a freshly refreshed access token: %s", result.reason)
                return replace(result, alert=True)
            return result
        except WechatTokenError as exc:
            if exc.configuration:
                log.error("WeChat refuses our app credentials: %s", exc.message)
                return SendResult("auth", reason=exc.message, alert=True)
            return SendResult("retry", reason=exc.message)

    async def _post(self, token: str, body: Mapping[str, Any]) -> SendResult:
        try:
            async with asyncio.timeout(self._timeout_s):
                response = await self._http.post(self._url, params={"access_token": token}, json=body)
        except TimeoutError:
            return SendResult("retry", reason="timeout")
        except httpx.HTTPError as exc:
            return SendResult("retry", reason=f"transport: {type(exc).__name__}")
        if response.status_code != 200:
            return SendResult("retry", reason=f"HTTP {response.status_code}", http_status=response.status_code)
        try:
            answer = json.loads(response.text)  # labelled text/plain by WeChat
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            return SendResult("retry", reason="non-JSON answer", http_status=200)
        return classify(answer)


def classify(answer: Mapping[str, Any]) -> SendResult:
    """§C6 WeChat row. "auth" (a refused access token) is retried once by the adapter after a refresh."""
    errcode = answer.get("errcode") or 0
    errmsg = str(answer.get("errmsg", ""))[:200]
    if not isinstance(errcode, int):
        return SendResult("retry", reason=f"unreadable errcode {errcode!r}", http_status=200)
    if errcode == 0:
        msgid = answer.get("msgid")
        return SendResult("sent", provider_id=None if msgid is None else str(msgid), http_status=200)
    reason = f"{errcode} {errmsg}".strip()
    if errcode in AUTH_ERRCODES:
        return SendResult("auth", reason=reason, http_status=200)
    if errcode == NO_CONSENT:
        return SendResult("no_consent", reason=reason, http_status=200)
    if errcode == INVALID_OPENID:
        return SendResult("invalid_endpoint", reason=reason, http_status=200)
    if errcode in RETRY_ERRCODES:
        return SendResult("retry", reason=reason, http_status=200)
    # Template errors (47003, 40037, 41030) and anything undocumented: retrying cannot fix it, an operator must.
    log.error("WeChat refused a subscribe message: %s", reason)
    return SendResult("permanent", reason=reason, http_status=200, alert=True)
