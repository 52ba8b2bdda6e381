"""WeChat open API twin, answering as WeChat does: mini-program login codes and `sns/jscode2session`, the stable
access token, subscribe messages with per-user consent, and signed events posted to our message-push URL."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from api.kit.clock import Clock
from api.platforms.sandbox.base import Handler, ProviderCall, Sandbox, json_error
from api.platforms.sandbox.wechat_subscribe import (
    EVENT_NAMES,
    ConsentBook,
    EventKind,
    PushEvent,
    argument_error,
    push_body,
    push_signature,
)

CODE_TTL = timedelta(minutes=5)
TOKEN_TTL = timedelta(seconds=7200)
# The platform hands out a new token this long before the old one expires; both work meanwhile.
TOKEN_OVERLAP = timedelta(minutes=5)
SEND_PATH = "/cgi-bin/message/subscribe/send"


@dataclass
class _LoginCode:
    openid: str
    unionid: str | None
    session_key: str
    app_id: str | None
    expires_at: datetime
    used: bool = False


@dataclass
class _AccessToken:
    app_id: str
    expires_at: datetime
    rejected: bool = False  # refused by the APIs, although normal-mode stable_token still returns it


@dataclass(frozen=True)
class SubscribeMessage:
    """A subscribe message WeChat accepted: what the user's 服务通知 would show."""

    msgid: str
    openid: str
    template_id: str
    page: str
    data: dict[str, str]
    sent_at: datetime


@dataclass(frozen=True)
class PushReply:
    status: int | None  # None: our endpoint could not be reached
    body: str


class WechatSandbox(Sandbox):
    name = "wechat"

    def __init__(self, hub_base_url: str, clock: Clock) -> None:
        super().__init__(hub_base_url, clock)
        self._apps: dict[str, str] = {}
        self._codes: dict[str, _LoginCode] = {}
        self._tokens: dict[str, _AccessToken] = {}
        self._current_token: dict[str, str] = {}
        self._templates: set[str] = set()
        self._messages: list[SubscribeMessage] = []
        self.consents = ConsentBook()
        self._push_url: str | None = None
        self._push_token = ""
        self._to_user_name = "gh_0000sandbox"

    def reset(self) -> None:
        super().reset()
        self.consents.clear()
        self._messages.clear()
        for token in self._tokens.values():
            token.rejected = False

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

    def register_template(self, template_id: str, *, long_term: bool = False) -> None:
        """Once any template is registered, sends with another template_id get 40037."""
        self._templates.add(template_id)
        if long_term:
            self.consents.long_term_templates.add(template_id)

    def set_push_url(self, url: str, token: str, *, to_user_name: str | None = None) -> None:
        """Our message-push endpoint and the token its signature is made with (the 消息推送 settings)."""
        self._push_url, self._push_token = url, token
        if to_user_name:
            self._to_user_name = to_user_name

    @property
    def push_url(self) -> str | None:
        return self._push_url

    def current_token(self, app_id: str) -> str | None:
        return self._current_token.get(app_id)

    def reject_token(self, token: str) -> None:
        """The APIs refuse `token` (40001) while normal-mode stable_token keeps returning it until forced."""
        self._tokens[token].rejected = True

    def messages(self) -> list[SubscribeMessage]:
        return list(self._messages)

    def remaining(self, openid: str, template_id: str) -> int | None:
        """One-time sends still allowed for the user and template; None for no limit."""
        return self.consents.remaining(openid, template_id)

    async def post_event(
        self,
        kind: str,
        openid: str,
        template_id: str | Sequence[str],
        status: str = "accept",
        *,
        msgid: str | None = None,
        error_code: int = 0,
    ) -> PushReply:
        """The user answers a subscribe popup (`popup`), switches a subscription (`change`), or a message's
        final result comes in (`sent`): the consent is applied here, then the signed event is posted to our URL."""
        if kind not in EVENT_NAMES:
            raise ValueError(f"kind must be one of {sorted(EVENT_NAMES)}")
        if self._push_url is None:
            raise ValueError("no message-push URL is set")
        template_ids = [template_id] if isinstance(template_id, str) else list(template_id)
        if not openid or not template_ids or not all(isinstance(t, str) and t for t in template_ids):
            raise ValueError("an openid and at least one template id are needed")
        event = PushEvent(cast(EventKind, kind), openid, template_ids, status, msgid, error_code)
        for tid in template_ids:
            self.consents.apply(kind, openid, tid, status)
        body = push_body(event, to_user_name=self._to_user_name, at=self.clock.now())
        timestamp, nonce = str(int(self.clock.now().timestamp())), secrets.token_hex(8)
        query = {"signature": push_signature(self._push_token, timestamp, nonce), "timestamp": timestamp}
        query["nonce"] = nonce
        raw = json.dumps(body, ensure_ascii=False).encode()
        async with httpx.AsyncClient(timeout=10.0) as http:
            try:
                response = await http.post(
                    self._push_url, params=query, content=raw, headers={"Content-Type": "application/json"}
                )
            except httpx.HTTPError as exc:
                return PushReply(None, f"{type(exc).__name__}: {exc}")
        return PushReply(response.status_code, response.text)

    def provider_routes(self) -> list[tuple[str, list[str], Handler]]:
        return [
            ("/sns/jscode2session", ["GET"], self._jscode2session),
            ("/cgi-bin/stable_token", ["POST"], self._stable_token),
            (SEND_PATH, ["POST"], self._subscribe_send),
        ]

    def harness_routes(self) -> list[BaseRoute]:
        return [
            Route("/codes", self._mint, methods=["POST"]),
            Route("/_control/event", self._control_event, methods=["POST"]),
        ]

    async def _control_event(self, request: Request) -> Response:
        try:
            payload = json.loads(await request.body())
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            return json_error("body must be a JSON object")
        kind, openid, template_id = payload.get("kind"), payload.get("openid"), payload.get("templateId")
        status, msgid, error_code = payload.get("status", "accept"), payload.get("msgid"), payload.get("errorCode", 0)
        if not isinstance(kind, str) or not isinstance(openid, str) or not isinstance(status, str):
            return json_error("`kind`, `openid` and `status` must be strings")
        if not isinstance(template_id, str | list) or not isinstance(msgid, str | int | None):
            return json_error("`templateId` must be a string or a list of strings; `msgid` a string")
        if not isinstance(error_code, int) or isinstance(error_code, bool):
            return json_error("`errorCode` must be an integer")
        try:
            reply = await self.post_event(
                kind, openid, template_id, status, msgid=None if msgid is None else str(msgid), error_code=error_code
            )
        except ValueError as exc:
            return json_error(str(exc))
        return JSONResponse({"status": reply.status, "body": reply.body})

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

    async def _stable_token(self, call: ProviderCall) -> Response:
        body = call.body if isinstance(call.body, dict) else {}
        app_id, force = body.get("appid", ""), body.get("force_refresh", False)
        if body.get("grant_type") != "client_credential":
            return _error(40002, "invalid grant_type")
        if app_id not in self._apps:
            return _error(40013, "invalid appid")
        if body.get("secret") != self._apps[app_id]:
            return _error(40125, "invalid appsecret")
        if not isinstance(force, bool):
            return _error(47001, "data format error")
        now = self.clock.now()
        current = self._tokens.get(self._current_token.get(app_id, ""))
        if force:
            # A forced refresh invalidates the previous token at once, for every caller.
            for token in [t for t, issued in self._tokens.items() if issued.app_id == app_id]:
                del self._tokens[token]
            current = None
        if current is None or now >= current.expires_at - TOKEN_OVERLAP:
            token = "ZSB" + secrets.token_urlsafe(96)
            self._tokens = {t: issued for t, issued in self._tokens.items() if issued.expires_at > now}
            self._tokens[token] = current = _AccessToken(app_id, now + TOKEN_TTL)
            self._current_token[app_id] = token
        expires_in = int((current.expires_at - now).total_seconds())
        return _answer({"access_token": self._current_token[app_id], "expires_in": expires_in})

    async def _subscribe_send(self, call: ProviderCall) -> Response:
        issued = self._tokens.get(call.query.get("access_token", ""))
        if issued is None or issued.rejected:
            return _error(40001, "invalid credential, access_token is invalid or not latest")
        if issued.expires_at <= self.clock.now():
            return _error(42001, "access_token expired")
        body = call.body
        if not isinstance(body, dict):
            return _error(47001, "data format error")
        openid, template_id, page = body.get("touser"), body.get("template_id"), body.get("page", "")
        if not isinstance(openid, str) or not openid or openid.startswith("bad"):
            return _error(40003, "invalid openid")
        if (
            not isinstance(template_id, str)
            or not template_id
            or (self._templates and template_id not in self._templates)
        ):
            return _error(40037, "invalid template_id")
        if not isinstance(page, str) or "://" in page:
            return _error(41030, "invalid page")
        refusal = argument_error(body)
        if refusal is not None:
            return _error(47003, refusal)
        if not self.consents.take(openid, template_id):
            return _error(43101, "user refuse to accept the msg")
        msgid = str(secrets.randbits(62))
        data = {key: entry["value"] for key, entry in body["data"].items()}
        self._messages.append(SubscribeMessage(msgid, openid, template_id, page, data, self.clock.now()))
        return _answer({"errcode": 0, "errmsg": "ok", "msgid": int(msgid)})


def _error(errcode: int, errmsg: str) -> Response:
    return _answer({"errcode": errcode, "errmsg": f"{errmsg}, rid: {secrets.token_hex(4)}-{secrets.token_hex(6)}"})


def _answer(body: Any, status: int = 200) -> Response:
    # WeChat labels this JSON `text/plain`; clients that trust the content type break on the real thing too.
    return Response(json.dumps(body, ensure_ascii=False), status_code=status, media_type="text/plain")
