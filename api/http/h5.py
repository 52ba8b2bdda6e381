"""The H5 harness: mini_program_stub/h5 at /h5/ and the shared JS client at /h5/client/, in the sandbox mode only.

The harness signs in through the SMS sandbox and pays in the sandbox cashiers, so it is served exactly when the
sandboxes are; production never serves it. The files are read from the source tree: an installed wheel has no
mini_program_stub/ and gets no routes. Nothing here imports the client side.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.settings import PROJECT_ROOT, Settings

STUB_DIR = PROJECT_ROOT / "mini_program_stub"
# Module scripts are refused unless served with a JavaScript type; some platforms' mime tables say text/plain.
_JAVASCRIPT = (b".js", b".mjs")


class _NoCacheJavaScript:
    """The harness changes while people work on it: the browser revalidates every file instead of running a
    stale module next to a fresh one."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        is_script = scope["type"] == "http" and scope.get("path", "").encode().endswith(_JAVASCRIPT)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] < 400:
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control"]
                if is_script:
                    headers = [(k, v) for k, v in headers if k.lower() != b"content-type"]
                    headers.append((b"content-type", b"text/javascript; charset=utf-8"))
                headers.append((b"cache-control", b"no-cache"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


async def _to_index(request: Request) -> Response:
    # Relative module imports in index.html resolve against /h5/, never against /.
    return RedirectResponse(url=f"{request.scope.get('root_path', '')}/h5/", status_code=307)


def h5_routes(settings: Settings, stub_dir: Path = STUB_DIR) -> list[BaseRoute]:
    """The routes to add to the app: none outside the sandbox mode or without the harness on disk."""
    h5_dir, client_dir = stub_dir / "h5", stub_dir / "client"
    if not settings.sandbox_enabled or not (h5_dir / "index.html").is_file() or not client_dir.is_dir():
        return []
    return [
        Route("/h5", _to_index, methods=["GET", "HEAD"]),
        # Before /h5: the harness imports the client as ./client/… without a copy of it under h5/.
        Mount("/h5/client", app=_NoCacheJavaScript(StaticFiles(directory=client_dir))),
        Mount("/h5", app=_NoCacheJavaScript(StaticFiles(directory=h5_dir, html=True))),
    ]
