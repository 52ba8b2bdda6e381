"""One Starlette app holding every sign-in sandbox, for the composition root to mount at `/sandbox`."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route
from starlette.types import ASGIApp

from api.kit.clock import Clock, SystemClock
from api.platforms.sandbox.alipay import AlipaySandbox
from api.platforms.sandbox.base import Sandbox
from api.platforms.sandbox.idp import IdpSandbox
from api.platforms.sandbox.sms import SmsSandbox
from api.platforms.sandbox.wechat import WechatSandbox


class SandboxHub:
    """`base_url` is where `app` will be reachable, e.g. `http://127.0.0.1:8000/sandbox`.

    Keys are generated here, in memory, so nothing secret is ever written to the repository or to disk.
    """

    def __init__(
        self, base_url: str, *, clock: Clock | None = None, alipay_key_pair: tuple[str, str] | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        clock = clock or SystemClock()
        self.sms = SmsSandbox(self.base_url, clock)
        self.wechat = WechatSandbox(self.base_url, clock)
        self.alipay = AlipaySandbox(self.base_url, clock, key_pair=alipay_key_pair)
        self.idp = IdpSandbox(self.base_url, clock)
        self._sandboxes: list[Sandbox] = [self.sms, self.wechat, self.alipay, self.idp]
        self._listing = [sandbox.listing() for sandbox in self._sandboxes]
        self.app = Starlette(
            routes=[
                Route("/", self.index, methods=["GET"]),
                *[Mount(f"/{sandbox.name}", app=sandbox.build_app()) for sandbox in self._sandboxes],
            ]
        )

    async def index(self, request: Request) -> JSONResponse:
        """The `GET /sandbox` listing; a Mount never matches its bare prefix, so route that here too."""
        return JSONResponse(self._listing)

    def add_app(self, name: str, app: ASGIApp, *, control_url: str | None = None) -> None:
        """Serve another package's sandbox under `<base_url>/<name>` and list it."""
        self.app.router.routes.append(Mount(f"/{name}", app=app))
        self.add_listing(name, f"{self.base_url}/{name}", control_url or f"{self.base_url}/{name}/_control")

    def add_listing(self, name: str, base_url: str, control_url: str) -> None:
        """List a sandbox served elsewhere (e.g. the APNs twin, which needs its own TLS port)."""
        self._listing.append({"name": name, "baseUrl": base_url, "controlUrl": control_url})

    def reset(self) -> None:
        """Forget what tests did: request logs, scripts, sent messages. Registrations stay."""
        for sandbox in self._sandboxes:
            sandbox.reset()
