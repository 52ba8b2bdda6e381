"""Builders and values shared by the platform tests: clients pointed at the sandboxes, as the root would build them."""

from __future__ import annotations

import asyncio
import base64
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from urllib.parse import quote_plus

import httpx
import uvicorn
from starlette.types import ASGIApp

from api.kit.clock import Clock
from api.kit.codes import id_number_check_char
from api.platforms.alipay import AlipayGateway
from api.platforms.province_sso import ProvinceSsoClient
from api.platforms.sandbox import SANDBOX_SMS_ACCESS_KEY_ID, SANDBOX_SMS_ACCESS_KEY_SECRET, SandboxHub
from api.platforms.sms import AliyunSmsClient
from api.platforms.wechat import WechatClient

# What the test sandboxes have registered, as the composition root registers it from settings.
WECHAT_APP_ID = "wx-test-app"
WECHAT_SECRET = "wx-test-secret"
ALIPAY_APP_ID = "2021000000000001"
SSO_CLIENT_ID = "zsb-mobile"
SSO_CLIENT_SECRET = "sso test/secret+1"  # characters that client_secret_basic must form-encode
SSO_REDIRECT_URI = "zsb://sso/callback"

SSO_NONCE = "n-0S6_WzA2Mj"
SSO_ID_NUMBER = "99010019900101123" + id_number_check_char("99010019900101123")
SSO_ACCOUNT = {
    "subject": "sub-330102",
    "name": "王演示三",
    "idNumber": SSO_ID_NUMBER,
    "idType": "1",
    "phone": "13800000001",
    "authlevel": "3",
}


def loopback_socket() -> socket.socket:
    """Bound before the server starts, so that the sandboxes can be told their own URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    return sock


@asynccontextmanager
async def serving(app: ASGIApp, sock: socket.socket) -> AsyncIterator[str]:
    """`app` on a real uvicorn server in this event loop; yields its base URL."""
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", ws="none"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        host, port = sock.getsockname()
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


class OffsetClock:
    """Another party's clock, running `offset` away from ours."""

    def __init__(self, base: Clock, offset: timedelta) -> None:
        self._base, self._offset = base, offset

    def now(self) -> datetime:
        return self._base.now() + self._offset


def sms_client(
    http: httpx.AsyncClient,
    hub: SandboxHub,
    clock: Clock,
    *,
    key_id: str = SANDBOX_SMS_ACCESS_KEY_ID,
    secret: str = SANDBOX_SMS_ACCESS_KEY_SECRET,
) -> AliyunSmsClient:
    return AliyunSmsClient(
        http, base_url=hub.sms.base_url, access_key_id=key_id, access_key_secret=secret, sign_name="掌上办", clock=clock
    )


def wechat_client(
    http: httpx.AsyncClient, hub: SandboxHub, *, app_id: str = WECHAT_APP_ID, secret: str = WECHAT_SECRET
) -> WechatClient:
    return WechatClient(http, base_url=hub.wechat.base_url, app_id=app_id, app_secret=secret)


def alipay_gateway(
    http: httpx.AsyncClient,
    hub: SandboxHub,
    clock: Clock,
    app_keys: tuple[str, str],
    *,
    app_id: str = ALIPAY_APP_ID,
    alipay_public_key_pem: str | None = None,
) -> AlipayGateway:
    return AlipayGateway(
        http,
        gateway_url=hub.alipay.gateway_url,
        app_id=app_id,
        app_private_key_pem=app_keys[0],
        alipay_public_key_pem=alipay_public_key_pem or hub.alipay.public_key_pem,
        clock=clock,
    )


def sso_client(
    http: httpx.AsyncClient,
    hub: SandboxHub,
    clock: Clock,
    *,
    secret: str = SSO_CLIENT_SECRET,
    redirect_uri: str = SSO_REDIRECT_URI,
) -> ProvinceSsoClient:
    return ProvinceSsoClient(
        http,
        issuer=hub.idp.issuer,
        client_id=SSO_CLIENT_ID,
        client_secret=secret,
        redirect_uri=redirect_uri,
        clock=clock,
    )


async def sso_code(
    http: httpx.AsyncClient, hub: SandboxHub, challenge: str, *, client_id: str = SSO_CLIENT_ID, **overrides: str
) -> str:
    """A code as if SSO_ACCOUNT had signed in on the IdP's page, through the control shortcut."""
    body = {
        "client_id": client_id,
        "redirect_uri": SSO_REDIRECT_URI,
        "state": "s-1",
        "nonce": SSO_NONCE,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **SSO_ACCOUNT,
        **overrides,
    }
    response = await http.post(f"{hub.idp.control_url}/authorize", json=body)
    assert response.status_code == 200, response.text
    code: str = response.json()["code"]
    return code


def basic_auth(client_id: str = SSO_CLIENT_ID, secret: str = SSO_CLIENT_SECRET) -> str:
    # RFC 6749 §2.3.1: each half form-encoded before base64 (httpx's `auth=` skips that step).
    return "Basic " + base64.b64encode(f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()).decode()
