"""Huawei Push Kit twin (notifications.md §1.7, §C6): OAuth client credentials and `messages:send`.

Token conventions: `bad…` is an invalid token (80300007 when every token is bad, else 80100000 with the bad ones in
`illegal_tokens`), `busy…` triggers flow control (HTTP 503), anything else is accepted. Access tokens live an hour
by the injected clock; an unknown or expired one gets HTTP 401 with 80200003. The 4 KB limit applies to the
message without its token list (what the device receives), serialised compactly as UTF-8.

Besides the base's scripts (matched on request fields), a token can be given a sequence of answers, as in
"500, 500, then normal": `script_token("flaky01", [500, 500])`, or `POST /_control/token-script`
{"token", "actions"}. The request log names the send route by its template, `/v1/{app_id}/messages:send`;
`pushed()` (or `GET /messages?token=`) lists what each device was sent.
"""

from __future__ import annotations

import asyncio
import itertools
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

TOKEN_TTL = timedelta(hours=1)
MAX_TOKENS = 1000
MAX_MESSAGE_BYTES = 4096
SUCCESS = "80000000"
PARTIAL = "80100000"
BAD_MESSAGE = "80100003"
OAUTH_ERROR = "80200001"
OAUTH_EXPIRED = "80200003"
APP_NOT_ALLOWED = "80300002"
ALL_TOKENS_INVALID = "80300007"
MESSAGE_TOO_LARGE = "80300008"
COUNT_OUT_OF_RANGE = "80300010"


@dataclass(frozen=True)
class TokenAction:
    """One scripted answer for a request carrying the token: an HTTP failure, a Huawei code, or a delay."""

    status: int | None = None
    code: str | None = None
    delay_ms: int = 0

    @classmethod
    def parse(cls, raw: Any) -> TokenAction:
        if isinstance(raw, int) and not isinstance(raw, bool) and 100 <= raw <= 599:
            return cls(status=raw)
        if isinstance(raw, str) and raw.isdigit() and len(raw) == 8:
            return cls(code=raw)
        if isinstance(raw, dict) and raw and not set(raw) - {"status", "code", "delayMs"}:
            status, code, delay = raw.get("status"), raw.get("code"), raw.get("delayMs", 0)
            if status is not None and not (isinstance(status, int) and 100 <= status <= 599):
                raise ValueError("status must be an HTTP status")
            if code is not None and not isinstance(code, str):
                raise ValueError("code must be a Huawei result code string")
            if not isinstance(delay, int) or delay < 0:
                raise ValueError("delayMs must be a non-negative integer")
            return cls(status=status, code=code, delay_ms=delay)
        raise ValueError("an action is an HTTP status, an 8-digit Huawei code or {status, code, delayMs}")


@dataclass(frozen=True)
class PushedMessage:
    token: str
    message: dict[str, Any]
    request_id: str
    received_at: datetime


class HuaweiSandbox(Sandbox):
    name = "huawei"

    def __init__(
        self, hub_base_url: str, clock: Clock, *, client_id: str, client_secret: str, app_id: str | None = None
    ) -> None:
        super().__init__(hub_base_url, clock)
        self.client_id, self._client_secret = client_id, client_secret
        self.app_id = app_id or client_id  # AppGallery apps use the same number for both
        self._access_tokens: dict[str, datetime] = {}
        self._token_scripts: dict[str, list[TokenAction]] = {}
        self._pushed: list[PushedMessage] = []
        self._request_ids = itertools.count(1)

    @property
    def oauth_url(self) -> str:
        return f"{self.base_url}/oauth2/v3/token"

    # -- in-process harness --

    def script_token(self, token: str, actions: list[Any]) -> None:
        """The next requests carrying `token` get these answers in turn, then the normal one."""
        self._token_scripts[token] = [TokenAction.parse(a) for a in actions]

    def expire_access_tokens(self) -> None:
        """As if every issued access token had run out (Huawei may also revoke them early)."""
        self._access_tokens.clear()

    def pushed(self, token: str | None = None) -> list[PushedMessage]:
        """Messages accepted for devices, oldest first."""
        return [p for p in self._pushed if token is None or p.token == token]

    def reset(self) -> None:
        super().reset()
        self._token_scripts.clear()
        self._pushed.clear()

    # -- routes --

    def provider_routes(self) -> list[tuple[str, list[str], Handler]]:
        return [("/oauth2/v3/token", ["POST"], self._token), ("/v1/{app_id}/messages:send", ["POST"], self._send)]

    def harness_routes(self) -> list[BaseRoute]:
        return [
            Route("/_control/token-script", self._control_token_script, methods=["POST", "DELETE"]),
            Route("/messages", self._list_pushed, methods=["GET", "DELETE"]),
        ]

    async def _control_token_script(self, request: Request) -> Response:
        if request.method == "DELETE":
            self._token_scripts.clear()
            return Response(status_code=204)
        try:
            payload = json.loads(await request.body())
            if not isinstance(payload, dict) or not isinstance(payload.get("token"), str):
                raise ValueError("body must be {token, actions}")
            actions = payload.get("actions")
            if not isinstance(actions, list):
                raise ValueError("actions must be a list")
            self.script_token(payload["token"], actions)
        except ValueError as exc:
            return json_error(str(exc))
        return JSONResponse({"token": payload["token"], "remaining": len(actions)}, status_code=201)

    async def _list_pushed(self, request: Request) -> Response:
        if request.method == "DELETE":
            self._pushed.clear()
            return Response(status_code=204)
        token = request.query_params.get("token") or None
        return JSONResponse(
            [
                {
                    "token": p.token,
                    "message": p.message,
                    "requestId": p.request_id,
                    "receivedAt": p.received_at.isoformat(),
                }
                for p in self.pushed(token)
            ]
        )

    async def _token(self, call: ProviderCall) -> Response:
        form = call.form
        if form.get("grant_type") != "client_credentials":
            return JSONResponse({"error": 1102, "sub_error": 20001, "error_description": "invalid grant_type"}, 400)
        if form.get("client_id") != self.client_id or not secrets.compare_digest(
            form.get("client_secret", ""), self._client_secret
        ):
            return JSONResponse({"error": 1101, "sub_error": 20141, "error_description": "invalid client_secret"}, 401)
        now = self.clock.now()
        self._access_tokens = {t: exp for t, exp in self._access_tokens.items() if exp > now}
        token = secrets.token_urlsafe(48)
        self._access_tokens[token] = now + TOKEN_TTL
        return JSONResponse(
            {"access_token": token, "expires_in": int(TOKEN_TTL.total_seconds()), "token_type": "Bearer"},
            headers={"cache-control": "no-store"},
        )

    async def _send(self, call: ProviderCall) -> Response:
        scheme, _, access_token = call.request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not access_token:
            return _answer(OAUTH_ERROR, "Oauth authentication error", status=401)
        expires_at = self._access_tokens.get(access_token)
        if expires_at is None or expires_at <= self.clock.now():
            return _answer(OAUTH_EXPIRED, "Oauth Token expired", status=401)
        if call.request.path_params.get("app_id") != self.app_id:
            return _answer(APP_NOT_ALLOWED, "The app is not allowed to send messages", status=403)
        body = call.body
        message = body.get("message") if isinstance(body, dict) else None
        if not isinstance(message, dict) or not isinstance(message.get("android", {}), dict):
            return _answer(BAD_MESSAGE, "Incorrect message structure", status=400)
        tokens = message.get("token")
        if not isinstance(tokens, list) or not 1 <= len(tokens) <= MAX_TOKENS:
            return _answer(COUNT_OUT_OF_RANGE, "The number of tokens is out of range [1, 1000]", status=400)
        if not all(isinstance(t, str) and t for t in tokens):
            return _answer(BAD_MESSAGE, "Incorrect message structure", status=400)
        content = {k: v for k, v in message.items() if k != "token"}
        if len(json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()) > MAX_MESSAGE_BYTES:
            return _answer(MESSAGE_TOO_LARGE, "The message body size exceeds the default value", status=400)
        scripted = await self._scripted(tokens)
        if scripted is not None:
            return scripted
        if any(t.startswith("busy") for t in tokens):
            return JSONResponse({"code": "81000001", "msg": "flow control"}, status_code=503)
        bad = [t for t in tokens if t.startswith("bad")]
        if len(bad) == len(tokens):
            return _answer(ALL_TOKENS_INVALID, "All the tokens are invalid", request_id=self._request_id())
        request_id = self._request_id()
        now = self.clock.now()
        self._pushed.extend(PushedMessage(t, content, request_id, now) for t in tokens if t not in bad)
        if bad:
            summary = {"success": len(tokens) - len(bad), "failure": len(bad), "illegal_tokens": bad}
            return _answer(PARTIAL, json.dumps(summary), request_id=request_id)
        return _answer(SUCCESS, "Success", request_id=request_id)

    async def _scripted(self, tokens: list[str]) -> Response | None:
        for token in tokens:
            actions = self._token_scripts.get(token)
            if not actions:
                continue
            action = actions.pop(0)
            if action.delay_ms:
                await asyncio.sleep(action.delay_ms / 1000)
            if action.code is not None:
                return _answer(action.code, "scripted", status=action.status or 200, request_id=self._request_id())
            if action.status is not None:
                return JSONResponse({"code": str(action.status), "msg": "scripted failure"}, status_code=action.status)
            return None  # a bare delay: answer normally afterwards
        return None

    def _request_id(self) -> str:
        return f"{int(self.clock.now().timestamp() * 1000)}{next(self._request_ids):06d}"


def _answer(code: str, msg: str, *, status: int = 200, request_id: str | None = None) -> JSONResponse:
    body = {"code": code, "msg": msg} | ({"requestId": request_id} if request_id else {})
    return JSONResponse(body, status_code=status)
