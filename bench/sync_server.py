"""The sync benchmark's server process (`python -m bench.sync_server --serve --port P [--cpu N]`): the real app
with the benchmark's form template registered, and the bare routes of bench.sync under /bare/.

The bare routes are the baselines: the same token check and the same sync service call (`sync.push.push`,
`sync.pull.pull`) fed from plain JSON and answered with orjson (the difference is GraphQL), and a chunk route that
reads, checks and stores the same bytes as the real one without the upload bookkeeping.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp

from api import database
from api.kit.errors import AppError
from api.lifespan import Services
from api.settings import Settings
from bench.applications import _claims
from bench.server import build_with, serve_with

SERVICE_CODE = "BENCHSYNC0001"
FORM_VERSION = "bench-1"
FIELDS = 100  # f000 … f099: a 100-op EDIT touches each once


def bench_template() -> Any:
    from sync.templates import derive

    schema = {"type": "object", "properties": {f"f{i:03d}": {"type": "string"} for i in range(FIELDS)}}
    return derive(SERVICE_CODE, FORM_VERSION, schema)


def register_template() -> None:
    from sync import template_registry

    template_registry.register(bench_template())


def _json(body: object, status: int = 200) -> Response:
    # default=str: the contract's dataclasses carry ids as the database driver hands them (asyncpg's own UUID
    # type, which orjson does not know), rendered as GraphQL renders an ID.
    return Response(orjson.dumps(body, default=str), status_code=status, media_type="application/json")


def _push_request(data: dict[str, Any]) -> Any:
    """The contract's PushRequest from a SyncPushInput as JSON, the way the GraphQL layer builds it."""
    from api.models.sync import Platform
    from sync.contract import FieldOpIn, MutationIn, PushRequest, SyncMutationType

    mutations = [
        MutationIn(
            id=int(m["id"]),
            draft_id=str(m["draftId"]),
            type=SyncMutationType(m["type"]),
            form_version=str(m["formVersion"]),
            client_time=datetime.fromisoformat(m["clientTime"]) if m.get("clientTime") else None,
            service_code=m.get("serviceCode"),
            ops=None
            if m.get("ops") is None
            else [
                FieldOpIn(
                    path=op["path"],
                    kind=op["kind"],
                    base_hash=op["baseHash"],
                    value=op.get("value"),
                    value_given="value" in op and op["value"] is not None,
                    base_version=op.get("baseVersion"),
                )
                for op in m["ops"]
            ],
            base_draft_version=m.get("baseDraftVersion"),
            conflict_id=m.get("conflictId"),
            expected_content_hash=m.get("expectedContentHash"),
            raw=m,
        )
        for m in data["mutations"]
    ]
    return PushRequest(
        client_id=str(data["clientId"]),
        platform=Platform(data["platform"]),
        protocol_version=int(data["protocolVersion"]),
        mutations=mutations,
        ack_results_through=data.get("ackResultsThrough"),
    )


def _pull_request(data: dict[str, Any]) -> Any:
    from sync.contract import DEFAULT_PULL_BYTES, DEFAULT_PULL_LIMIT, PullRequest

    return PullRequest(
        client_id=str(data["clientId"]),
        protocol_version=int(data["protocolVersion"]),
        cursor=data.get("cursor"),
        limit=int(data.get("limit", DEFAULT_PULL_LIMIT)),
        max_bytes=int(data.get("maxBytes", DEFAULT_PULL_BYTES)),
    )


def bare_routes(prefix: str, services: Callable[[], Services]) -> list[BaseRoute]:
    from api.models.sync import Platform, SyncClient
    from sync import uploads

    scratch = Path(tempfile.mkdtemp(prefix="zsb-bench-bare-chunks-"))

    async def push_route(request: Request) -> Response:
        """The push baseline: the same service call as `syncPush`, JSON in and out, no GraphQL."""
        from sync import push

        try:
            claims = await _claims(request, services())
            answer = await push.push(services().sync, claims, _push_request(orjson.loads(await request.body())))
        except AppError as exc:
            return _json({"errors": [{"message": exc.message, "extensions": {"code": exc.code}}]}, 400)
        return _json({"data": {"syncPush": answer}})

    async def pull_route(request: Request) -> Response:
        """The pull baseline: the same service call as `syncPull`, JSON in and out, no GraphQL."""
        from sync import pull

        try:
            claims = await _claims(request, services())
            answer = await pull.pull(services().sync, claims, _pull_request(orjson.loads(await request.body())))
        except AppError as exc:
            return _json({"errors": [{"message": exc.message, "extensions": {"code": exc.code}}]}, 400)
        return _json({"data": {"syncPull": answer}})

    async def client_route(request: Request) -> Response:
        """Set-up: a client of the caller's space, as its first push registers one (for createUpload)."""
        claims = await _claims(request, services())
        client_id = uuid.uuid4()
        await SyncClient.create(
            client_id=client_id,
            space_id=uploads.space_of(claims),
            platform=Platform.APP_ANDROID,
            last_seen_at=services().clock.now(),
        )
        return _json({"clientId": str(client_id)})

    async def chunk_route(request: Request) -> Response:
        """The upload baseline: read the chunk, check its SHA-256 header, store it; no upload bookkeeping."""
        await _claims(request, services())
        body = await request.body()
        if hashlib.sha256(body).hexdigest() != request.headers.get("x-chunk-sha256"):
            return _json({"code": "CHECKSUM_MISMATCH"}, 422)
        target = scratch / f"{request.path_params['upload']}-{request.path_params['index']}"
        await asyncio.to_thread(_write, target, body)
        return _json({"stored": True}, 201)

    return [
        Route(f"{prefix}/sync/push", push_route, methods=["POST"]),
        Route(f"{prefix}/sync/pull", pull_route, methods=["POST"]),
        Route(f"{prefix}/sync/clients", client_route, methods=["POST"]),
        Route(f"{prefix}/sync/uploads/{{upload}}/chunks/{{index}}", chunk_route, methods=["PUT"]),
    ]


def _write(path: Path, body: bytes) -> None:
    path.write_bytes(body)
    os.unlink(path)  # the bytes were written; keeping 20 MiB per run would only fill the disk


def build(settings: Settings) -> ASGIApp:
    return build_with(settings, bare_routes)


def _prepare() -> None:
    asyncio.run(database.migrate(Settings().resolved_database_url))
    register_template()


def serve() -> None:
    serve_with(bare_routes, before_start=_prepare)


if __name__ == "__main__":
    serve()
