"""WeChat mini-program sign-in: exchange the `wx.login()` code for the user's openid (jscode2session)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx

from api.kit.errors import ProviderError

_CODE_INVALID = frozenset({40029, 40163})  # unknown or expired code; code already used
_RATE_LIMITED = 45011
_SYSTEM_BUSY = -1


@dataclass(frozen=True)
class WechatSession:
    openid: str
    unionid: str | None
    # The key that decrypts the mini-program's encrypted data: never logged, so kept out of repr.
    session_key: str = field(repr=False)


class WechatClient:
    def __init__(self, http: httpx.AsyncClient, *, base_url: str, app_id: str, app_secret: str) -> None:
        self._http = http
        self._base_url = base_url.rstrip("/")
        self._app_id = app_id
        self._app_secret = app_secret

    async def code_to_session(self, code: str) -> WechatSession:
        params = {
            "appid": self._app_id,
            "secret": self._app_secret,
            "js_code": code,
            "grant_type": "authorization_code",
        }
        try:
            response = await self._http.get(f"{self._base_url}/sns/jscode2session", params=params)
        except httpx.HTTPError as exc:
            raise ProviderError("WeChat cannot be reached", code="WECHAT_UNAVAILABLE") from exc
        answer = _parse(response)
        errcode = answer.get("errcode") or 0
        if errcode in _CODE_INVALID:
            raise ProviderError("the WeChat login code is invalid or used", code="WECHAT_CODE_INVALID")
        if errcode == _RATE_LIMITED:
            raise ProviderError("WeChat sign-in is rate limited; try again", code="WECHAT_RATE_LIMITED")
        if errcode == _SYSTEM_BUSY:
            raise ProviderError("WeChat is busy; try again shortly", code="WECHAT_UNAVAILABLE")
        if errcode:
            raise ProviderError(f"WeChat refused the sign-in (errcode {errcode})", code="WECHAT_ERROR")
        openid, session_key, unionid = answer.get("openid"), answer.get("session_key"), answer.get("unionid")
        if not isinstance(openid, str) or not openid or not isinstance(session_key, str):
            raise ProviderError("WeChat answered without an openid", code="WECHAT_ERROR")
        return WechatSession(openid, unionid if isinstance(unionid, str) and unionid else None, session_key)


def _parse(response: httpx.Response) -> dict[str, Any]:
    if response.status_code != 200:
        raise ProviderError(f"WeChat failed (HTTP {response.status_code})", code="WECHAT_UNAVAILABLE")
    try:
        # WeChat labels this JSON `text/plain`, so the body is parsed whatever the content type says.
        answer = json.loads(response.text)
    except ValueError as exc:
        raise ProviderError("WeChat answered with non-JSON", code="WECHAT_UNAVAILABLE") from exc
    if not isinstance(answer, dict):
        raise ProviderError("WeChat answered with something other than an object", code="WECHAT_UNAVAILABLE")
    return answer
