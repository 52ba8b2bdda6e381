"""The channels' asynchronous notifies (payments.md §11): POST /pay/notify/alipay and /pay/notify/wechat.

Adapters only: read the raw body (WeChat signs the exact bytes), refuse anything over 64 KB, hand the bytes to
payments' channel-neutral notify handling. No login, no GraphQL.
"""

from __future__ import annotations

from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response

from api.models.payment import Channel
from payments.deps import PaymentsDeps
from payments.notify import handle_notify

MAX_NOTIFY_BYTES = 64 * 1024


async def _body(request: Request) -> bytes | None:
    """The raw body, or None once it passes the limit (checked on the declared length and while streaming)."""
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > MAX_NOTIFY_BYTES:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_NOTIFY_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def _notify(request: Request, channel: Channel) -> Response:
    services = getattr(request.app.state, "services", None)
    deps: PaymentsDeps | None = getattr(services, "payments", None)
    if deps is None or deps.channel(channel) is None:
        # Not wired in this process: ask the channel to deliver again later rather than lose the notify.
        return PlainTextResponse("payments unavailable", status_code=503)
    try:
        body = await _body(request)
    except ClientDisconnect:
        return Response(status_code=400)
    if body is None:
        return PlainTextResponse("notify body too large", status_code=413)
    return await handle_notify(deps, channel, request.headers, body)


async def alipay_notify(request: Request) -> Response:
    return await _notify(request, Channel.ALIPAY)


async def wechat_notify(request: Request) -> Response:
    return await _notify(request, Channel.WECHAT)
