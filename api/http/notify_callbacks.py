"""Provider callbacks of notifications (§C11, §C13): WeChat message push (GET echo, POST subscribe events), Aliyun
SMS receipts and Alipay subscription messages.

Adapters only: read the raw body (capped at 64 KB), verify its signature before anything is read from it, hand the
parsed events to `notifications.service`. A bad signature answers 401 and applies nothing. No login, no GraphQL.

Signatures: WeChat signs the query (`signature` = SHA-1 of the sorted push token, timestamp and nonce); Alipay
signs the form (RSA2 with its key); Aliyun's SmsReport push has no signature of its own, so the receiving gateway
in front of us adds `X-Zsb-Signature: base64(HMAC-SHA256(sms_receipt_secret, raw body))`, as the SMS sandbox does.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from api.http.webhooks import read_capped_body
from notifications import alipay_push, service, sms_receipts, wechat_push
from notifications.deps import NotificationsDeps
from notifications.errors import NotificationsError

log = logging.getLogger("zsb.notifications")

SMS_SIGNATURE_HEADER = "x-zsb-signature"
_SMS_OK = {"code": 0, "msg": "成功"}  # what Aliyun's SmsReport push expects; anything else is pushed again


def _deps(request: Request) -> NotificationsDeps | None:
    services = getattr(request.app.state, "services", None)
    deps: NotificationsDeps | None = getattr(services, "notifications", None)
    return deps


def _refused(reason: str) -> Response:
    log.warning("provider callback refused: %s", reason)
    return PlainTextResponse("signature refused", status_code=401)


def _wechat_signed(request: Request, deps: NotificationsDeps) -> bool:
    q = request.query_params
    return wechat_push.verify_signature(
        deps.settings.wechat_push_token.get_secret_value(),
        q.get("signature", ""),
        q.get("timestamp", ""),
        q.get("nonce", ""),
    )


async def wechat_verify(request: Request) -> Response:
    """The 消息推送 URL check: echo `echostr` when the signature is ours."""
    deps = _deps(request)
    if deps is None:
        return PlainTextResponse("notifications unavailable", status_code=503)
    if not _wechat_signed(request, deps):
        return _refused("wechat echo")
    return PlainTextResponse(request.query_params.get("echostr", ""))


async def wechat_messages(request: Request) -> Response:
    deps = _deps(request)
    if deps is None:
        return PlainTextResponse("notifications unavailable", status_code=503)
    if not _wechat_signed(request, deps):
        return _refused("wechat push")
    body = await _read(request)
    if isinstance(body, Response):
        return body
    try:
        events = wechat_push.parse_events(body)
    except NotificationsError as exc:
        return PlainTextResponse(exc.message, status_code=400)
    if events:
        await service.apply_wechat_events(deps, events)
    return PlainTextResponse("success")


async def sms_receipts_route(request: Request) -> Response:
    deps = _deps(request)
    if deps is None:
        return PlainTextResponse("notifications unavailable", status_code=503)
    body = await _read(request)
    if isinstance(body, Response):
        return body
    secret = deps.settings.sms_receipt_secret.get_secret_value()
    try:
        receipts = sms_receipts.parse_sms_report(body, request.headers.get(SMS_SIGNATURE_HEADER), secret)
    except NotificationsError as exc:
        return _refused(f"sms receipts: {exc.message}")
    if receipts:
        await service.apply_sms_receipts(deps, receipts)
    return JSONResponse(_SMS_OK)


async def alipay_messages(request: Request) -> Response:
    deps = _deps(request)
    services = getattr(request.app.state, "services", None)
    public_key: str = getattr(services, "alipay_public_key", "")
    if deps is None or not public_key:
        return PlainTextResponse("notifications unavailable", status_code=503)
    body = await _read(request)
    if isinstance(body, Response):
        return body
    try:
        form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    except UnicodeDecodeError:
        return _refused("alipay messages: not UTF-8")
    try:
        events = alipay_push.parse_events(form, public_key, app_id=deps.alipay_app_id or None)
    except NotificationsError as exc:
        return _refused(f"alipay messages: {exc.message}")
    if events:
        await service.apply_alipay_events(deps, events)
    return PlainTextResponse("success")


async def _read(request: Request) -> bytes | Response:
    try:
        body = await read_capped_body(request)
    except ClientDisconnect:
        return Response(status_code=400)
    if body is None:
        return PlainTextResponse("body too large", status_code=413)
    return body
