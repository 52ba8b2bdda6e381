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

import uvicorn
from starlette.applications import Starlette
from starlette.types import ASGIApp, Receive, Scope, Send

from api import database
from api.app import create_app
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


def build(settings: Settings) -> ASGIApp:
    app = create_app(settings)

    def services() -> Services:
        found: Services = app.state.services
        return found

    bare = Starlette(routes=auth.bare_routes(BARE_PREFIX, services))
    return Dispatch(app, bare)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cpu", type=int, default=None)
    args = parser.parse_args()
    # Before any thread exists, so that aiosqlite's and the resolver's threads inherit the core.
    pin_self(args.cpu)
    settings = Settings()
    asyncio.run(database.migrate(settings.resolved_database_url))
    config = uvicorn.Config(
        build(settings),
        host="127.0.0.1",
        port=args.port,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
        lifespan="on",
    )
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
