"""The channels' asynchronous notifies (payments.md §11): POST /pay/notify/alipay and /pay/notify/wechat.

Adapters only: read the raw body (WeChat signs the exact bytes), refuse anything over 64 KB, hand the bytes to
payments' channel-neutral notify handling. No login, no GraphQL.
"""

from __future__ import annotations

from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Mount

from api.models.payment import Channel
from payments.deps import PaymentsDeps
from payments.notify import handle_notify

MAX_NOTIFY_BYTES = 64 * 1024


async def read_capped_body(request: Request) -> bytes | None:
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
        body = await read_capped_body(request)
    except ClientDisconnect:
        return Response(status_code=400)
    if body is None:
        return PlainTextResponse("notify body too large", status_code=413)
    return await handle_notify(deps, channel, request.headers, body)


async def alipay_notify(request: Request) -> Response:
    return await _notify(request, Channel.ALIPAY)


async def wechat_notify(request: Request) -> Response:
    return await _notify(request, Channel.WECHAT)


_RETURN_PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>支付结果确认中</title></head>
<body style="font-family:system-ui,sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem">
<h1>支付结果确认中</h1>
<p>请返回掌上办查看缴费结果。到账以支付渠道的通知为准，这里不代表支付成功。</p>
{back}
</body></html>"""
# The H5 harness asks the server itself which order it was paying (its own storage), so the link carries nothing
# from this request: the query string of a return URL is anyone's to forge.
_BACK_TO_H5 = '<p><a href="/h5/#/pay/return" data-testid="pay-return-back" style="font-size:1.1rem">返回掌上办</a></p>'


def _serves_h5(request: Request) -> bool:
    return any(isinstance(route, Mount) and route.path == "/h5" for route in request.app.routes)


async def pay_return(request: Request) -> Response:
    """Where a WAP/H5 payment sends the browser back. The redirect proves nothing (anyone can open this URL), so
    the page only sends the payer back to the app, which asks `confirmPayment`."""
    page = _RETURN_PAGE.replace("{back}", _BACK_TO_H5 if _serves_h5(request) else "")
    return HTMLResponse(page, headers={"Cache-Control": "no-store"})
