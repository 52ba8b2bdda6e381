"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import asyncio
import time

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from tortoise import connections

from api.kit.redis import Redis

REQUESTS = Counter("zsb_http_requests_total", "HTTP requests", ["route", "status"])
LATENCY = Histogram(
    "zsb_http_request_seconds",
    "HTTP request latency",
    ["route"],
    buckets=(0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def _database_ok() -> bool:
    try:
        await connections.get("default").execute_query("SELECT 1")
    except Exception:  # any failure means not ready; the reason is in the server log
        return False
    return True


async def _redis_ok(redis: Redis) -> bool:
    try:
        return bool(await redis.ping())
    except Exception:
        return False


async def readyz(request: Request) -> Response:
    redis: Redis = request.app.state.services.redis
    database, cache = await asyncio.gather(_database_ok(), _redis_ok(redis))
    status = 200 if database and cache else 503
    return JSONResponse({"database": database, "redis": cache}, status_code=status)


async def metrics(request: Request) -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


class MetricsMiddleware:
    """Counts and times every HTTP request by route template (never by raw path: ids would explode labels)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record)
        finally:
            route = scope.get("route")
            label = getattr(route, "path", "other")
            REQUESTS.labels(label, str(status)).inc()
            LATENCY.labels(label).observe(time.perf_counter() - started)
