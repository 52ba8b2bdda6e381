"""Subscriptions over WebSocket on /graphql (graphql.md §1): the graphql-transport-ws protocol only, and only
subscription operations (queries and mutations go over HTTP, where the body cap, list caps and APQ live).

strawberry's protocol handler does the framing (connection_init, ping/pong, subscribe, complete, its close codes);
this module supplies what it leaves to a view: the socket adapter, the caller from the `connection_init` payload
(the same token check, session revocation check and rate limit as HTTP, `schema.view`), and bounds: an init
timeout, a few subscriptions per socket, a message size cap, and the socket closes when its access token expires
or, within SESSION_CHECK_SECONDS, when its session is signed out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, cast

import orjson
from graphql import GraphQLError, get_operation_ast, parse
from graphql import OperationType as GraphQLOperationType
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http.async_base_view import AsyncWebSocketAdapter
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler
from strawberry.types.execution import PreExecutionError
from strawberry.types.graphql import OperationType
from strawberry.types.unset import UNSET, UnsetType

from api.identity import sessions
from api.identity.principal import Principal
from api.identity.tokens import AccessClaims
from api.kit.errors import Unauthenticated
from schema.context import Context

if TYPE_CHECKING:
    import strawberry

    from schema.view import GraphQLEndpoint

log = logging.getLogger("zsb.graphql")

INIT_TIMEOUT = timedelta(seconds=10)
MAX_SUBSCRIPTIONS = 8  # per socket: a device needs one syncPoke
MAX_MESSAGE_CHARS = 64 * 1024  # a subscribe message is a short document and a few variables
# Custom close codes of graphql-transport-ws: 4400 bad message, 4401 unauthorized, 4403 forbidden (a refused
# connection_init), 4406 subprotocol not acceptable.
BAD_MESSAGE, UNAUTHORIZED, FORBIDDEN, SUBPROTOCOL_NOT_ACCEPTABLE = 4400, 4401, 4403, 4406
SESSION_CHECK_SECONDS = 30.0  # how long a signed-out session's socket may outlive its sign-out


@dataclass
class SocketContext(Context):
    # Set by the protocol handler from the connection_init payload, before `on_ws_connect` reads it.
    connection_params: dict[str, Any] = field(default_factory=dict)


class _SubscriptionsOnly:
    """The schema as the protocol handler sees it: every operation it streams must be a subscription."""

    def __init__(self, schema: strawberry.Schema, max_tokens: int) -> None:
        self._schema = schema
        self._max_tokens = max_tokens

    async def stream(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
    ) -> Any:
        refusal = _not_a_subscription(query, operation_name, self._max_tokens)
        if refusal is not None:
            return _single(PreExecutionError(data=None, errors=[refusal]))
        return await self._schema.stream(
            query,
            variable_values=variable_values,
            context_value=context_value,
            root_value=root_value,
            operation_name=operation_name,
            allowed_operation_types=(OperationType.SUBSCRIPTION,),
        )


def _not_a_subscription(query: str | None, operation_name: str | None, max_tokens: int) -> GraphQLError | None:
    """A query or mutation sent over the socket, answered with the protocol's `error` message, or a document that
    does not parse. Checked here rather than left to `allowed_operation_types`, whose refusal the schema would mask
    and log as an unexpected error."""
    try:
        operation = get_operation_ast(parse(query or "", max_tokens=max_tokens), operation_name)
    except GraphQLError as exc:
        # A syntax error (or too many tokens): strawberry's handler closes the socket with 4400 for it, as the
        # protocol says, where the stream itself would end with a bare `complete`.
        return exc
    if operation is None or operation.operation is GraphQLOperationType.SUBSCRIPTION:
        return None
    message = "only subscriptions run over WebSocket; send queries and mutations with POST /graphql"
    return GraphQLError(message, extensions={"code": "BAD_REQUEST"})


async def _single(result: PreExecutionError) -> AsyncGenerator[PreExecutionError, None]:
    yield result


class _Socket(AsyncWebSocketAdapter):
    """The starlette WebSocket as strawberry's handler reads it, refusing what would crash the handler (a message
    that is not an object, a subscribe without a payload object) with 4400 instead."""

    def __init__(self, websocket: WebSocket) -> None:
        self.ws = websocket

    async def iter_json(self, *, ignore_parsing_errors: bool = False) -> AsyncGenerator[object, None]:
        while self.ws.application_state != WebSocketState.DISCONNECTED:
            try:
                received = await self.ws.receive()
            except (WebSocketDisconnect, RuntimeError):
                return
            if received["type"] == "websocket.disconnect":
                return
            message = _parse(received.get("text"))
            if isinstance(message, str):
                await self.close(BAD_MESSAGE, message)
                return
            yield message

    async def send_json(self, message: Mapping[str, object]) -> None:
        try:
            await self.ws.send_text(orjson.dumps(message).decode())
        except (WebSocketDisconnect, RuntimeError) as exc:  # RuntimeError: sending after a close
            raise WebSocketDisconnected from exc

    async def close(self, code: int, reason: str) -> None:
        with contextlib.suppress(RuntimeError):  # already closed
            await self.ws.close(code=code, reason=reason)


def _parse(text: str | None) -> dict[str, Any] | str:
    """The message, or why it is refused."""
    if text is None:
        return "WebSocket message type must be text"
    if len(text) > MAX_MESSAGE_CHARS:
        return "message too large"
    try:
        message = orjson.loads(text)
    except orjson.JSONDecodeError:
        return "WebSocket message must be valid JSON"
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        return "a message is an object with a type"
    if message["type"] == "subscribe":
        payload = message.get("payload")
        if not isinstance(message.get("id"), str) or not isinstance(payload, dict):
            return "subscribe needs an id and a payload object"
        if not isinstance(payload.get("query"), str) or not isinstance(payload.get("variables") or {}, dict):
            return "subscribe needs a query and variables as an object"
    return message


def bearer_token(params: Mapping[str, object]) -> str | None:
    """The access token of a connection_init payload: `{"Authorization": "Bearer …"}` (either case), or
    `{"accessToken": "…"}`, which mini-program WebSocket clients find easier to send."""
    for key in ("Authorization", "authorization"):
        header = params.get(key)
        if isinstance(header, str):
            scheme, _, given = header.partition(" ")
            return given.strip() if scheme.lower() == "bearer" and given.strip() else None
    token = params.get("accessToken")
    return token if isinstance(token, str) and token else None


class _Connection:
    """One socket: the `view` strawberry's handler asks to accept the connection_init."""

    def __init__(self, endpoint: GraphQLEndpoint, websocket: WebSocket, ip: str) -> None:
        self.endpoint = endpoint
        self.websocket = websocket
        self.ip = ip
        self.watch: asyncio.Task[None] | None = None

    async def on_ws_connect(self, context: SocketContext) -> UnsetType:
        token = bearer_token(context.connection_params)
        if token is None:
            raise ConnectionRejectionError
        try:
            principal = Principal(self.endpoint.verified.verify(token), self.ip)
            limited = await self.endpoint.admit(principal)
        except Unauthenticated:
            raise ConnectionRejectionError from None
        if limited is not None or principal.claims is None:
            raise ConnectionRejectionError
        context.principal = principal
        self.watch = asyncio.create_task(self._watch(principal.claims))
        return cast(UnsetType, UNSET)

    async def _watch(self, claims: AccessClaims) -> None:
        """Closes the socket when its access token expires (4401: sign in or refresh, then reconnect) or its
        session is signed out (4403), checked every SESSION_CHECK_SECONDS: HTTP checks both per request."""
        clock = self.endpoint.identity.clock
        while True:
            remaining = (claims.expires_at - clock.now()).total_seconds()
            if remaining <= 0:
                await self._close(UNAUTHORIZED, "access token expired")
                return
            await asyncio.sleep(min(remaining, SESSION_CHECK_SECONDS))
            try:
                revoked = await sessions.is_revoked(self.endpoint.identity, claims.family_id)
            except Exception:  # Redis unreachable: the token's expiry still bounds the socket
                log.warning("session check of a subscription socket failed", exc_info=True)
                continue
            if revoked:
                await self._close(FORBIDDEN, "this session was signed out")
                return

    async def _close(self, code: int, reason: str) -> None:
        with contextlib.suppress(RuntimeError):  # already closed
            await self.websocket.close(code=code, reason=reason)


async def serve(endpoint: GraphQLEndpoint, websocket: WebSocket, ip: str) -> None:
    if GRAPHQL_TRANSPORT_WS_PROTOCOL not in websocket.scope.get("subprotocols", []):
        # Refused at the handshake (HTTP 403): graphql-ws (the legacy subscriptions-transport-ws) is not served.
        await websocket.close(code=SUBPROTOCOL_NOT_ACCEPTABLE)
        return
    await websocket.accept(subprotocol=GRAPHQL_TRANSPORT_WS_PROTOCOL)
    context = SocketContext(
        principal=Principal(None, ip),
        identity=endpoint.identity,
        device_name=websocket.headers.get("user-agent", "")[:128],
        payments=endpoint.payments,
        upload_root=endpoint.upload_root,
        sync=endpoint.sync,
        notifications=endpoint.notifications,
    )
    connection = _Connection(endpoint, websocket, ip)
    handler: BaseGraphQLTransportWSHandler[SocketContext, None] = BaseGraphQLTransportWSHandler(
        view=cast(Any, connection),
        websocket=_Socket(websocket),
        context=context,
        root_value=None,
        schema=cast(Any, _SubscriptionsOnly(endpoint.schema, endpoint.limits.max_tokens)),
        connection_init_wait_timeout=INIT_TIMEOUT,
        max_subscriptions_per_connection=MAX_SUBSCRIPTIONS,
    )
    try:
        await handler.handle()
    finally:
        if connection.watch is not None:
            connection.watch.cancel()
