"""The benchmark server: the real app and the bare baselines, one uvicorn in one process on one core.

`python -m bench.server --port P [--cpu N]`, configured by APP_* environment variables (the parent sets them).
Paths under `/bare/` go to a tiny starlette app holding the baseline routes of every benchmark; everything else
goes to `api.app.create_app(...)` unchanged, middleware and all. Both share the app's services (database
connection, Redis, TokenService), so that the baseline does the same work on the same resources and the same
core, and the ratio between them is fair.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable

from starlette.applications import Starlette
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from api import database
from api.lifespan import Services
from api.settings import Settings
from bench import auth
from bench.harness import pin_self

BARE_PREFIX = "/bare"


class Dispatch:
    """`/bare/...` to the baseline app, the rest (and the lifespan) to the real app."""

    def __init__(self, app: ASGIApp, bare: ASGIApp) -> None:
        self.app = app
        self.bare = bare

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(BARE_PREFIX):
            await self.bare(scope, receive, send)
            return
        await self.app(scope, receive, send)


BareRoutes = Callable[[str, Callable[[], "Services"]], list[BaseRoute]]


def build_with(settings: Settings, bare_routes: BareRoutes) -> ASGIApp:
    """The real app, and a benchmark's bare baseline routes under `/bare/` sharing its services."""
    from api.app import create_app

    app = create_app(settings)

    def services() -> Services:
        found: Services = app.state.services
        return found

    return Dispatch(app, Starlette(routes=bare_routes(BARE_PREFIX, services)))


def serve_with(bare_routes: BareRoutes, *, before_start: Callable[[], None] | None = None) -> None:
    """A benchmark's server process (`python -m bench.<name> --serve --port P [--cpu N]`), pinned to its core."""
    import uvicorn

    parser = argparse.ArgumentParser()
    parser.add_argument("--serve", action="store_true")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cpu", type=int, default=None)
    args = parser.parse_args()
    # Before any thread exists, so that aiosqlite's and the resolver's threads inherit the core.
    pin_self(args.cpu)
    if before_start is not None:
        before_start()
    config = uvicorn.Config(
        build_with(Settings(), bare_routes),
        host="127.0.0.1",
        port=args.port,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
        lifespan="on",
    )
    uvicorn.Server(config).run()


def build(settings: Settings) -> ASGIApp:
    return build_with(settings, auth.bare_routes)


def main() -> None:
    settings = Settings()
    serve_with(auth.bare_routes, before_start=lambda: asyncio.run(database.migrate(settings.resolved_database_url)))


if __name__ == "__main__":
    main()
