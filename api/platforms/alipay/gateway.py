"""The Alipay open-platform gateway (`gateway.do`): signed requests over the shared httpx client."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx

from api.kit.clock import SHANGHAI, Clock, SystemClock
from api.platforms.alipay.response import AlipayError, open_response
from api.platforms.alipay.rsa2 import load_private_key, load_public_key, rsa2_sign, sign_content

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded;charset=utf-8"


@dataclass(frozen=True)
class AlipayOAuthToken:
    user_id: str
    open_id: str | None
    access_token: str = field(repr=False)


class AlipayGateway:
    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        gateway_url: str,
        app_id: str,
        app_private_key_pem: str,
        alipay_public_key_pem: str,
        clock: Clock | None = None,
    ) -> None:
        self._http = http
        self._gateway_url = gateway_url
        self._app_id = app_id
        # Parsed here so that a bad key stops the process at startup, not at the first payment.
        self._private_key = load_private_key(app_private_key_pem)
        self._alipay_key = load_public_key(alipay_public_key_pem)
        self._clock = clock or SystemClock()

    @property
    def app_id(self) -> str:
        return self._app_id

    async def signed_params(
        self,
        method: str,
        *,
        biz_content: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> dict[str, str]:
        """Every request parameter plus `sign`: what `call` sends and what app/wap payments hand over."""
        signed = {
            **(params or {}),
            "app_id": self._app_id,
            "method": method,
            "format": "JSON",
            "charset": "utf-8",
            "sign_type": "RSA2",
            # Alipay reads the timestamp as Beijing time whatever the server's zone.
            "timestamp": self._clock.now().astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S"),
            "version": "1.0",
        }
        if biz_content is not None:
            signed["biz_content"] = json.dumps(biz_content, ensure_ascii=False, separators=(",", ":"))
        # Alipay ignores blank parameters when it checks the signature, so they are not sent at all.
        signed = {key: value for key, value in signed.items() if value != ""}
        # An RSA-2048 signature costs about a millisecond of CPU: off the event loop.
        signed["sign"] = await asyncio.to_thread(rsa2_sign, self._private_key, sign_content(signed))
        return signed

    async def call(
        self,
        method: str,
        *,
        biz_content: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """The verified `<method>_response` node of a successful call; `AlipayError` otherwise."""
        query = await self.signed_params(method, biz_content=biz_content, params=params)
        # As Alipay's SDKs do: common parameters in the URL, the (possibly long) business content in the body.
        form = {"biz_content": query.pop("biz_content")} if "biz_content" in query else {}
        try:
            response = await self._http.post(
                self._gateway_url,
                params=query,
                content=urlencode(form).encode(),
                headers={"Content-Type": FORM_CONTENT_TYPE},
            )
        except httpx.HTTPError as exc:
            raise AlipayError("Alipay cannot be reached", code="ALIPAY_UNAVAILABLE") from exc
        if response.status_code != 200:
            raise AlipayError(f"Alipay failed (HTTP {response.status_code})", code="ALIPAY_UNAVAILABLE")
        try:
            raw = response.content.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise AlipayError("Alipay answered in another charset", code="ALIPAY_UNAVAILABLE") from exc
        return open_response(raw, method, self._alipay_key)

    async def oauth_token(self, auth_code: str) -> AlipayOAuthToken:
        """Exchange a mini-program `my.getAuthCode` code for the user (`alipay.system.oauth.token`)."""
        node = await self.call(
            "alipay.system.oauth.token", params={"grant_type": "authorization_code", "code": auth_code}
        )
        user_id, open_id, access_token = node.get("user_id"), node.get("open_id"), node.get("access_token")
        if not isinstance(user_id, str) or not user_id or not isinstance(access_token, str):
            raise AlipayError("Alipay answered without a user id", code="ALIPAY_ERROR", node=node)
        open_id = open_id if isinstance(open_id, str) and open_id else None
        return AlipayOAuthToken(user_id, open_id, access_token)
