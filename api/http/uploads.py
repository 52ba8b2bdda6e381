"""Upload chunk routes (sync-protocol.md §7): `PUT` with a raw body and the multipart `POST` fallback for
`wx.uploadFile` / `my.uploadFile`. Adapters: authenticate as /graphql does, read a bounded body, call sync.uploads.

The multipart parser is a small one of our own: starlette's needs python-multipart, and one file part and one
field of a body capped at a chunk plus 64 KiB need no streaming parser.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from api.identity import sessions
from api.identity.deps import IdentityDeps
from api.identity.tokens import AccessClaims, VerifiedTokens
from api.kit.errors import Unauthenticated
from sync.uploads import ChunkRefused, ChunkTarget, Storage, UploadView, check_chunk, chunk_target, store_chunk

MULTIPART_OVERHEAD = 64 * 1024


def _refusal(status: int, code: str, message: str) -> Response:
    return JSONResponse({"code": code, "message": message}, status_code=status)


def _body(status: int, view: UploadView) -> Response:
    received = view.received_chunks
    return JSONResponse({"id": str(view.id), "receivedChunks": received, "status": view.status.value}, status)


async def _claims(request: Request, services: Any) -> AccessClaims:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("use Authorization: Bearer <access token>")
    verified: VerifiedTokens = services.graphql.verified
    identity: IdentityDeps = services.identity
    claims = verified.verify(token.strip())
    if claims.kind != "citizen" or await sessions.is_revoked(identity, claims.family_id):
        raise Unauthenticated("this session cannot upload")
    return claims


async def _read(request: Request, limit: int) -> bytes | None:
    """The body, or None once it passes `limit`."""
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        return None
    parts: list[bytes] = []
    size = 0
    async for part in request.stream():
        size += len(part)
        if size > limit:
            return None
        parts.append(part)
    return b"".join(parts)


def _multipart(content_type: str, body: bytes) -> tuple[bytes | None, str | None]:
    """The `chunk` file part and the `sha256` field of a multipart/form-data body (None where absent)."""
    mime, _, params = content_type.partition(";")
    boundary = ""
    for param in params.split(";"):
        key, _, value = param.strip().partition("=")
        if key.lower() == "boundary":
            boundary = value.strip('"')
    if mime.strip().lower() != "multipart/form-data" or not boundary:
        return None, None
    chunk: bytes | None = None
    digest: str | None = None
    for section in body.split(b"--" + boundary.encode("latin-1"))[1:]:
        if section.startswith(b"--"):
            break
        head, sep, content = section.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if not sep:
            continue
        content = content.removesuffix(b"\r\n")
        disposition = next(
            (line for line in head.decode("latin-1").split("\r\n") if line.lower().startswith("content-disposition")),
            "",
        )
        if 'name="chunk"' in disposition:
            chunk = content
        elif 'name="sha256"' in disposition:
            digest = content.decode("latin-1").strip()
    return chunk, digest


async def _chunk(request: Request, multipart: bool) -> Response:
    # The composition root's Services, untyped here: api.http sits below api.lifespan.
    services: Any = request.app.state.services
    storage = Storage(services.settings.var_dir, services.clock)
    try:
        claims = await _claims(request, services)
    except Unauthenticated as exc:
        return _refusal(401, "UNAUTHENTICATED", exc.message)
    try:
        target: ChunkTarget = await chunk_target(
            storage, claims, request.path_params["upload_id"], request.path_params["index"]
        )
        limit = target.expected_length + (MULTIPART_OVERHEAD if multipart else 0)
        body = await _read(request, limit)
        if body is None:
            raise ChunkRefused(413, "CHUNK_TOO_LARGE", f"chunk {target.index} must be {target.expected_length} bytes")
        if multipart:
            chunk, digest = _multipart(request.headers.get("content-type", ""), body)
            if chunk is None:
                raise ChunkRefused(400, "CHUNK_MISSING", "send the chunk as the multipart file part `chunk`")
            body = chunk
        else:
            digest = request.headers.get("x-chunk-sha256")
        check_chunk(target, digest, body)
        assert digest is not None
        status, view = await store_chunk(storage, target, digest, body)
    except ChunkRefused as exc:
        return _refusal(exc.status, exc.code, exc.message)
    except ClientDisconnect:
        return _refusal(400, "DISCONNECTED", "the body ended early")
    return _body(status, view)


async def put_chunk(request: Request) -> Response:
    return await _chunk(request, multipart=False)


async def post_chunk(request: Request) -> Response:
    return await _chunk(request, multipart=True)
