"""POST/GET /graphql: body cap, tokens, rate limits, persisted queries, list caps, then one schema execution.

Written as a plain starlette endpoint rather than strawberry's view: the checks before execution need the raw
body and the caller, and orjson serialisation saves ~1 ms per request (graphql.md §4).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import strawberry
from graphql import GraphQLSchema
from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse, Response
from starlette.websockets import WebSocket
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.types.graphql import OperationType

from api.identity import sessions
from api.identity.deps import IdentityDeps
from api.identity.principal import Principal
from api.identity.tokens import VerifiedTokens
from api.kit.codes import is_ascii_digits
from api.kit.errors import Unauthenticated
from api.kit.logging import request_id_var
from api.kit.redis import Bucket
from api.settings import GraphQLSettings
from notifications.deps import NotificationsDeps
from payments.deps import PaymentsDeps
from schema import caching
from schema import websocket as subscriptions
from schema.context import Context
from schema.list_caps import overlong_list
from sync.deps import SyncDeps

log = logging.getLogger("zsb.graphql")

ContextFactory = Callable[[Principal, Request], Context]


class BodyTooLarge(Exception):
    pass


def _error(message: str, code: str, status: int = 200, headers: dict[str, str] | None = None, **extra: Any) -> Response:
    body = {
        "errors": [{"message": message, "extensions": {"code": code, **extra}}],
        "extensions": {"requestId": request_id_var.get()},
    }
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and is_ascii_digits(declared) and int(declared) > limit:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def client_ip(request: HTTPConnection, trusted_proxies: list[str]) -> str:
    peer = request.client.host if request.client else "unknown"
    forwarded = request.headers.get("x-forwarded-for")
    if forwarded and peer in trusted_proxies:
        return forwarded.split(",")[0].strip()
    return peer


class GraphQLEndpoint:
    def __init__(
        self,
        *,
        schema: strawberry.Schema,
        identity: IdentityDeps,
        limits: GraphQLSettings,
        trusted_proxies: list[str],
        graphiql_html: str | None,
        payments: PaymentsDeps | None = None,
        upload_root: Path | None = None,
        sync: SyncDeps | None = None,
        notifications: NotificationsDeps | None = None,
    ) -> None:
        self.schema = schema
        self.graphql_schema: GraphQLSchema = schema._schema
        self.identity = identity
        self.payments = payments  # passed to every request's context
        self.upload_root = upload_root
        self.sync = sync
        self.notifications = notifications
        self.limits = limits
        self.trusted_proxies = trusted_proxies
        self.graphiql_html = graphiql_html
        self.public_fields = caching.public_query_fields(schema)
        self.verified = VerifiedTokens(identity.tokens, identity.clock)

    async def __call__(self, request: Request) -> Response:
        if (
            request.method == "GET"
            and "text/html" in request.headers.get("accept", "")
            and "query" not in request.query_params
            and "extensions" not in request.query_params
        ):
            if self.graphiql_html is None:
                return Response(status_code=404)
            return HTMLResponse(self.graphiql_html)
        ip = client_ip(request, self.trusted_proxies)
        try:
            principal = self._principal(request, ip)
            limited = await self.admit(principal)
        except Unauthenticated as exc:
            return _error(exc.message, "UNAUTHENTICATED", 401, {"WWW-Authenticate": 'Bearer error="invalid_token"'})
        if limited is not None:
            return limited
        try:
            payload = await self._payload(request)
        except BodyTooLarge:
            return _error("request body too large", "PAYLOAD_TOO_LARGE", 413)
        except ValueError as exc:
            return _error(str(exc), "BAD_REQUEST", 400)
        return await self._execute(request, principal, payload)

    async def websocket(self, websocket: WebSocket) -> None:
        """Subscriptions (graphql-transport-ws) on the same path; see schema.websocket."""
        await subscriptions.serve(self, websocket, client_ip(websocket, self.trusted_proxies))

    def _principal(self, request: Request, ip: str) -> Principal:
        """The caller as the token says; whether its session was revoked is checked by `admit`."""
        header = request.headers.get("authorization", "")
        if not header:
            return Principal(None, ip)
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthenticated("use Authorization: Bearer <access token>")
        return Principal(self.verified.verify(token.strip()), ip)

    async def admit(self, principal: Principal) -> Response | None:
        """The revocation check and the rate limits in one Redis round trip: a revoked session raises
        Unauthenticated without charging any bucket; an empty bucket answers 429."""
        now_ms = int(self.identity.clock.now().timestamp() * 1000)
        buckets = [Bucket(f"gql:ip:{principal.ip}", self.limits.rate_per_ip_per_second, self.limits.burst_per_ip)]
        if principal.claims is None:
            decision = await self.identity.buckets.take_all(buckets, now_ms=now_ms)
        else:
            buckets.append(
                Bucket(
                    f"gql:{principal.rate_key}",
                    self.limits.rate_per_identity_per_second,
                    self.limits.burst_per_identity,
                )
            )
            gate = sessions.revoked_key(principal.claims.family_id)
            found = await self.identity.buckets.take_all_unless(gate, buckets, now_ms=now_ms)
            if found is None:
                raise Unauthenticated("this session was signed out")
            decision = found
        if decision.allowed:
            return None
        seconds = max(1, -(-decision.retry_after_ms // 1000))
        return _error(
            "too many requests",
            "RATE_LIMITED",
            429,
            {"Retry-After": str(seconds)},
            retryAfterMs=decision.retry_after_ms,
        )

    async def _payload(self, request: Request) -> dict[str, Any]:
        if request.method == "GET":
            params = request.query_params
            payload: dict[str, Any] = {
                "query": params.get("query"),
                "operationName": params.get("operationName"),
            }
            for name in ("variables", "extensions"):
                if params.get(name):
                    payload[name] = orjson.loads(params[name])
            return payload
        body = await _read_body(request, self.limits.max_body_bytes)
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise ValueError("the body is not JSON") from exc
        if isinstance(parsed, list):
            raise ValueError("batched requests are not supported")
        if not isinstance(parsed, dict):
            raise ValueError("the body must be a JSON object")
        return parsed

    async def _resolve_query(self, payload: dict[str, Any]) -> tuple[str | None, Response | None]:
        """Automatic persisted queries (Apollo APQ): the hash alone on a hit; the text stored on a miss."""
        query = payload.get("query")
        extensions = payload.get("extensions") or {}
        persisted = extensions.get("persistedQuery") if isinstance(extensions, dict) else None
        if not isinstance(persisted, dict):
            return (query if isinstance(query, str) else None), None
        digest = str(persisted.get("sha256Hash", ""))
        key = f"apq:{digest}"
        if isinstance(query, str):
            if hashlib.sha256(query.encode()).hexdigest() != digest:
                return None, _error("provided sha does not match query", "PERSISTED_QUERY_HASH_MISMATCH")
            await self.identity.redis.set(key, query.encode(), ex=self.limits.apq_ttl_seconds)
            return query, None
        stored = await self.identity.redis.get(key)
        if stored is None:
            return None, _error("PersistedQueryNotFound", "PERSISTED_QUERY_NOT_FOUND")
        return bytes(stored).decode(), None

    async def _execute(self, request: Request, principal: Principal, payload: dict[str, Any]) -> Response:
        query, failure = await self._resolve_query(payload)
        if failure is not None:
            return failure
        if not query:
            return _error("no query", "BAD_REQUEST", 400)
        variables = payload.get("variables") or {}
        if not isinstance(variables, dict):
            return _error("variables must be an object", "BAD_REQUEST", 400)
        operation_name = payload.get("operationName")
        chosen_operation = operation_name if isinstance(operation_name, str) else None
        cap = self.limits.max_input_list
        if overlong_list(self.graphql_schema, query, chosen_operation, variables, cap, self.limits.max_tokens):
            return _error(
                f"input lists hold at most {self.limits.max_input_list} items",
                "INPUT_LIST_TOO_LONG",
                maxItems=self.limits.max_input_list,
            )
        allowed = {OperationType.QUERY} if request.method == "GET" else {OperationType.QUERY, OperationType.MUTATION}
        context = Context(
            principal=principal,
            identity=self.identity,
            device_name=request.headers.get("user-agent", "")[:128],
            payments=self.payments,
            upload_root=self.upload_root,
            sync=self.sync,
            notifications=self.notifications,
            sent_variables=variables,
        )
        cache_key = None
        if caching.is_public_read(
            method=request.method,
            anonymous=principal.claims is None,
            query=query,
            operation_name=chosen_operation,
            public_fields=self.public_fields,
        ):
            cache_key = await caching.response_key(self.identity.redis, query, chosen_operation, variables)
            cached = await self.identity.redis.get(cache_key)
            if cached is not None:
                hit: dict[str, Any] = orjson.loads(cached)
                hit["extensions"] = {**hit.get("extensions", {}), "requestId": request_id_var.get(), "cached": True}
                return Response(orjson.dumps(hit), media_type="application/json", headers=caching.PUBLIC)
        try:
            result = await self.schema.execute(
                query,
                variable_values=variables,
                context_value=context,
                operation_name=chosen_operation,
                allowed_operation_types=allowed,
            )
        except InvalidOperationTypeError:
            return _error("only queries may be sent with GET", "BAD_REQUEST", 405)
        body: dict[str, Any] = {"data": result.data}
        if result.errors:
            body["errors"] = [error.formatted for error in result.errors]
        body["extensions"] = dict(result.extensions or {})
        if cache_key is not None and not result.errors:
            await self.identity.redis.set(cache_key, orjson.dumps(body), ex=caching.PUBLIC_MAX_AGE_SECONDS)
        body["extensions"]["requestId"] = request_id_var.get()
        headers = caching.PUBLIC if cache_key is not None and not result.errors else caching.PRIVATE
        return Response(orjson.dumps(body), media_type="application/json", headers=headers)
