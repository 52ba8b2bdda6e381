"""WeChat open API twin: mini-program login codes and `sns/jscode2session`, answering as WeChat does."""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from api.kit.clock import Clock
from api.platforms.sandbox.base import Handler, ProviderCall, Sandbox, json_error

CODE_TTL = timedelta(minutes=5)


@dataclass
class _LoginCode:
    openid: str
    unionid: str | None
    session_key: str
    app_id: str | None
    expires_at: datetime
    used: bool = False


class WechatSandbox(Sandbox):
    name = "wechat"

    def __init__(self, hub_base_url: str, clock: Clock) -> None:
        super().__init__(hub_base_url, clock)
        self._apps: dict[str, str] = {}
        self._codes: dict[str, _LoginCode] = {}

    def register_app(self, app_id: str, secret: str) -> None:
        self._apps[app_id] = secret

    def mint_code(self, openid: str, unionid: str | None = None, *, app_id: str | None = None) -> str:
        """What `wx.login()` would give the mini-program: a single-use code valid for five minutes."""
        now = self.clock.now()
        self._codes = {code: c for code, c in self._codes.items() if c.expires_at > now}
        code = secrets.token_urlsafe(24)
        session_key = base64.b64encode(secrets.token_bytes(16)).decode()
        self._codes[code] = _LoginCode(openid, unionid, session_key, app_id, now + CODE_TTL)
        return code

    def provider_routes(self) -> list[tuple[str, list[str], Handler]]:
        return [("/sns/jscode2session", ["GET"], self._jscode2session)]

    def harness_routes(self) -> list[BaseRoute]:
        return [Route("/codes", self._mint, methods=["POST"])]

    async def _mint(self, request: Request) -> Response:
        try:
            payload = json.loads(await request.body())
        except ValueError:
            payload = None
        if not isinstance(payload, dict) or not isinstance(payload.get("openid"), str) or not payload["openid"]:
            return json_error("body must be a JSON object with a non-empty `openid`")
        unionid, app_id = payload.get("unionid"), payload.get("appId")
        if not isinstance(unionid, str | None) or not isinstance(app_id, str | None):
            return json_error("`unionid` and `appId` must be strings")
        return JSONResponse({"code": self.mint_code(payload["openid"], unionid or None, app_id=app_id)})

    async def scripted_body(self, call: ProviderCall) -> Response:
        return _answer(call.action.body, call.action.status or 200)

    async def _jscode2session(self, call: ProviderCall) -> Response:
        query = call.query
        app_id, code = query.get("appid", ""), query.get("js_code", "")
        if app_id not in self._apps:
            return _error(40013, "invalid appid")
        if query.get("secret") != self._apps[app_id]:
            return _error(40125, "invalid appsecret")
        if query.get("grant_type") != "authorization_code":
            return _error(40002, "invalid grant_type")
        if not code:
            return _error(41008, "missing code")
        login = self._codes.get(code)
        if login is None or login.expires_at <= self.clock.now() or login.app_id not in (None, app_id):
            return _error(40029, "invalid code")
        if login.used:
            return _error(40163, "code been used")
        login.used = True
        answer = {"session_key": login.session_key, "openid": login.openid}
        if login.unionid:
            answer["unionid"] = login.unionid
        return _answer(answer)


def _error(errcode: int, errmsg: str) -> Response:
    return _answer({"errcode": errcode, "errmsg": f"{errmsg}, rid: {secrets.token_hex(4)}-{secrets.token_hex(6)}"})


def _answer(body: Any, status: int = 200) -> Response:
    # WeChat labels this JSON `text/plain`; clients that trust the content type break on the real thing too.
    return Response(json.dumps(body, ensure_ascii=False), status_code=status, media_type="text/plain")
