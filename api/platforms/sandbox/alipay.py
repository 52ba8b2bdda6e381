"""Alipay gateway twin: verifies the app's RSA2 request signature, dispatches by `method`, signs its replies.

Higher packages add their methods (trades, mini-program messages) through `register_method`; sign-in's
`alipay.system.oauth.token` is built in.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from api.kit.clock import SHANGHAI, Clock
from api.platforms.alipay.response import node_name
from api.platforms.alipay.rsa2 import (
    generate_rsa_keypair,
    load_private_key,
    load_public_key,
    rsa2_sign,
    rsa2_verify,
    sign_content,
)
from api.platforms.sandbox.base import Handler, ProviderCall, Sandbox, json_error

AUTH_CODE_TTL = timedelta(minutes=5)
_TIMESTAMP_WINDOW = timedelta(minutes=15)
_REQUIRED = ("app_id", "method", "sign_type", "sign", "timestamp", "version")


@dataclass(frozen=True)
class AlipayMethodCall:
    app_id: str
    method: str
    params: dict[str, str]  # every request parameter but `sign`; `biz_content` still as sent
    biz_content: dict[str, Any] | None


# A handler answers the `<method>_response` node, or a whole `Response` of its own (a page method such as wap
# pay's cashier, or a reply a test scripted to be late, broken or mis-signed).
AlipayMethodHandler = Callable[[AlipayMethodCall], Awaitable[dict[str, Any] | Response]]


class AlipayGatewayError(Exception):
    """Raised by a method handler for a gateway-level refusal: the reply is an `error_response` node."""

    def __init__(self, code: str, msg: str, sub_code: str, sub_msg: str) -> None:
        super().__init__(f"{code} {sub_code}: {sub_msg}")
        self.node = {"code": code, "msg": msg, "sub_code": sub_code, "sub_msg": sub_msg}


def _missing(name: str) -> AlipayGatewayError:
    sub = name.replace("_", "-")
    return AlipayGatewayError("40001", "Missing Required Arguments", f"isv.missing-{sub}", f"缺少{name}参数")


def _invalid(sub_code: str, sub_msg: str) -> AlipayGatewayError:
    return AlipayGatewayError("40002", "Invalid Arguments", sub_code, sub_msg)


@dataclass
class _AuthCode:
    user_id: str
    open_id: str | None
    app_id: str | None
    expires_at: datetime
    used: bool = False


class AlipaySandbox(Sandbox):
    name = "alipay"

    def __init__(self, hub_base_url: str, clock: Clock, *, key_pair: tuple[str, str] | None = None) -> None:
        """`key_pair` (private PEM, public PEM): the gateway's Alipay key, kept by the caller so that every process
        of an installation signs and verifies with the same one; generated here when absent."""
        super().__init__(hub_base_url, clock)
        private_pem, self.public_key_pem = key_pair or generate_rsa_keypair()
        self._key = load_private_key(private_pem)
        self.gateway_url = f"{self.base_url}/gateway.do"
        self._apps: dict[str, rsa.RSAPublicKey] = {}
        self._app_clocks: dict[str, Clock] = {}
        self._methods: dict[str, AlipayMethodHandler] = {"alipay.system.oauth.token": self._oauth_token}
        self._auth_codes: dict[str, _AuthCode] = {}

    def register_app(self, app_id: str, app_public_key_pem: str, *, clock: Clock | None = None) -> None:
        """`clock`: what the app stamps its requests with, when that is not real time. Tests move the platform's
        clock forward (hours, days); Alipay would refuse such timestamps, the twin judges them by that clock."""
        self._apps[app_id] = load_public_key(app_public_key_pem)
        if clock is not None:
            self._app_clocks[app_id] = clock

    def register_method(self, method: str, handler: AlipayMethodHandler) -> None:
        """The handler returns the `<method>_response` node (with `code` "10000" or a business failure)."""
        self._methods[method] = handler

    def app_key(self, app_id: str) -> rsa.RSAPublicKey | None:
        """The registered public key of an app, for methods that check a signature themselves (order strings)."""
        return self._apps.get(app_id)

    def sign(self, content: str) -> str:
        """RSA2 with the gateway's Alipay key, as Alipay signs its notifies."""
        return rsa2_sign(self._key, content)

    async def reply(self, name: str, node: dict[str, Any], *, corrupt: bool = False, status: int = 200) -> Response:
        """A signed gateway reply `{"<name>": node, "sign": …}`; `corrupt` signs other content instead."""
        return await self._reply(name, node, corrupt=corrupt, status=status)

    def mint_auth_code(self, user_id: str, open_id: str | None = None, *, app_id: str | None = None) -> str:
        """What `my.getAuthCode()` would give the mini-program: single-use, valid for five minutes."""
        now = self.clock.now()
        self._auth_codes = {code: a for code, a in self._auth_codes.items() if a.expires_at > now}
        code = secrets.token_hex(16)
        self._auth_codes[code] = _AuthCode(user_id, open_id, app_id, now + AUTH_CODE_TTL)
        return code

    def provider_routes(self) -> list[tuple[str, list[str], Handler]]:
        return [("/gateway.do", ["GET", "POST"], self._gateway)]

    def harness_routes(self) -> list[BaseRoute]:
        return [Route("/auth-codes", self._mint, methods=["POST"])]

    def parse_form(self, form: dict[str, str]) -> Any:
        parsed: dict[str, Any] = dict(form)
        # Absent or not JSON: recorded as sent.
        with contextlib.suppress(KeyError, ValueError):
            parsed["biz_content"] = json.loads(form["biz_content"])
        return parsed

    async def _mint(self, request: Request) -> Response:
        try:
            payload = json.loads(await request.body())
        except ValueError:
            payload = None
        if not isinstance(payload, dict) or not isinstance(payload.get("userId"), str) or not payload["userId"]:
            return json_error("body must be a JSON object with a non-empty `userId`")
        open_id, app_id = payload.get("openId"), payload.get("appId")
        if not isinstance(open_id, str | None) or not isinstance(app_id, str | None):
            return json_error("`openId` and `appId` must be strings")
        return JSONResponse({"authCode": self.mint_auth_code(payload["userId"], open_id or None, app_id=app_id)})

    async def scripted_body(self, call: ProviderCall) -> Response:
        body, status = call.action.body, call.action.status or 200
        if isinstance(body, dict) and not any(str(key).endswith("_response") for key in body):
            # A bare node: answered for the request's method and signed, as a real reply would be.
            method = {**call.query, **call.form}.get("method", "")
            return await self._reply(node_name(method), body, corrupt=call.action.bad_signature, status=status)
        # A whole document is sent exactly as given, which is how tests send unsigned or odd replies.
        return JSONResponse(body, status_code=status)

    async def _gateway(self, call: ProviderCall) -> Response:
        params = {**call.query, **call.form}
        try:
            method_call = self._admit(params)
            handler = self._methods.get(method_call.method)
            if handler is None:
                raise _invalid("isv.invalid-method", f"不存在的方法名: {method_call.method}")
            node = await handler(method_call)
            if isinstance(node, Response):
                return node
            name = node_name(method_call.method)
        except AlipayGatewayError as refusal:
            name, node = "error_response", refusal.node
        return await self._reply(name, node, corrupt=call.action.bad_signature)

    def _admit(self, params: dict[str, str]) -> AlipayMethodCall:
        for name in _REQUIRED:
            if not params.get(name):
                raise _missing(name)
        app_key = self._apps.get(params["app_id"])
        if app_key is None:
            raise _invalid("isv.invalid-app-id", "无效的AppID参数")
        if params["sign_type"] != "RSA2":
            raise _invalid("isv.invalid-signature-type", "无效的签名类型")
        unsigned = {key: value for key, value in params.items() if key != "sign"}
        if not rsa2_verify(app_key, sign_content(unsigned), params["sign"]):
            raise _invalid("isv.invalid-signature", "验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配")
        try:
            stamp = datetime.strptime(params["timestamp"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=SHANGHAI)
        except ValueError as exc:
            raise _invalid("isv.invalid-timestamp", "非法的时间戳参数") from exc
        if abs(self._app_clocks.get(params["app_id"], self.clock).now() - stamp) > _TIMESTAMP_WINDOW:
            raise _invalid("isv.invalid-timestamp", "非法的时间戳参数")
        biz_content: dict[str, Any] | None = None
        if params.get("biz_content"):
            try:
                biz_content = json.loads(params["biz_content"])
            except ValueError as exc:
                raise _invalid("isv.invalid-biz-content", "biz_content 不是合法的 JSON") from exc
            if not isinstance(biz_content, dict):
                raise _invalid("isv.invalid-biz-content", "biz_content 不是 JSON 对象")
        return AlipayMethodCall(params["app_id"], params["method"], unsigned, biz_content)

    async def _reply(self, name: str, node: dict[str, Any], *, corrupt: bool, status: int = 200) -> Response:
        node_json = json.dumps(node, ensure_ascii=False, separators=(",", ":"))
        # A corrupted reply still carries a well-formed signature, only over other content.
        signed_over = node_json + " " if corrupt else node_json
        sign = await asyncio.to_thread(rsa2_sign, self._key, signed_over)
        raw = f'{{{json.dumps(name)}:{node_json},"sign":{json.dumps(sign)}}}'
        return Response(raw, status_code=status, media_type="application/json;charset=utf-8")

    async def _oauth_token(self, call: AlipayMethodCall) -> dict[str, Any]:
        if call.params.get("grant_type") != "authorization_code":
            raise _invalid("isv.grant-type-invalid", "grant_type参数不正确")
        auth = self._auth_codes.get(call.params.get("code", ""))
        now = self.clock.now()
        if auth is None or auth.used or auth.expires_at <= now or auth.app_id not in (None, call.app_id):
            raise _invalid("isv.code-invalid", "授权码code无效")
        auth.used = True
        # The real reply carries no `code`: success is the absence of `sub_code`.
        node: dict[str, Any] = {
            "user_id": auth.user_id,
            "access_token": "authusrB" + secrets.token_hex(16),
            "expires_in": 1296000,
            "refresh_token": "authusrB" + secrets.token_hex(16),
            "re_expires_in": 2592000,
            "auth_start": now.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S"),
        }
        if auth.open_id:
            node["open_id"] = auth.open_id
        return node
