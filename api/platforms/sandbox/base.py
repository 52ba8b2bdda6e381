"""What every sandbox shares: a request log and per-test scripts, in process and over HTTP (`_control`)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from fnmatch import fnmatchcase
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from api.kit.clock import Clock

RECORDED_HEADERS = ("content-type", "authorization", "accept", "user-agent")
_ACTION_KEYS = frozenset({"status", "delayMs", "disconnect", "badSignature", "body"})


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str  # relative to the sandbox's base URL, as scripts match it
    query: dict[str, str]
    body: Any
    headers: dict[str, str]
    received_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "body": self.body,
            "headers": self.headers,
            "receivedAt": self.received_at.isoformat(),
        }


@dataclass(frozen=True)
class ScriptAction:
    status: int | None = None
    delay_ms: int = 0
    disconnect: bool = False
    bad_signature: bool = False
    has_body: bool = False
    body: Any = None

    @classmethod
    def parse(cls, raw: Any) -> ScriptAction:
        if not isinstance(raw, Mapping) or not raw or set(raw) - _ACTION_KEYS:
            raise ValueError(f"action must be an object with some of {sorted(_ACTION_KEYS)}")
        status, delay = raw.get("status"), raw.get("delayMs", 0)
        if status is not None and (not isinstance(status, int) or not 100 <= status <= 599):
            raise ValueError("action.status must be an HTTP status")
        if not isinstance(delay, int) or delay < 0:
            raise ValueError("action.delayMs must be a non-negative integer")
        return cls(
            status=status,
            delay_ms=delay,
            disconnect=raw.get("disconnect") is True,
            bad_signature=raw.get("badSignature") is True,
            has_body="body" in raw,
            body=raw.get("body"),
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": self.status, "delayMs": self.delay_ms, "disconnect": self.disconnect}
        out |= {"badSignature": self.bad_signature} | ({"body": self.body} if self.has_body else {})
        return out


NO_ACTION = ScriptAction()


@dataclass
class Script:
    match: dict[str, Any]
    action: ScriptAction
    remaining: int | None  # None: until cleared

    def matches(self, call: ProviderCall) -> bool:
        for key, expected in self.match.items():
            if key == "path":
                if not fnmatchcase(call.path, str(expected)):
                    return False
            elif key == "httpMethod":
                if call.method.upper() != str(expected).upper():
                    return False
            elif not _field_matches(call.fields, key, expected):
                return False
        return True


def _field_matches(fields: Mapping[str, Any], dotted: str, expected: Any) -> bool:
    value: Any = fields
    for part in dotted.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return False
        value = value[part]
    return bool(value == expected or (not isinstance(value, dict | list) and str(value) == str(expected)))


@dataclass(frozen=True)
class ProviderCall:
    """One request to a provider endpoint, read once: handlers get the raw form for signature checks."""

    request: Request
    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    body: Any
    action: ScriptAction = NO_ACTION

    @property
    def fields(self) -> dict[str, Any]:
        return {**self.query, **(self.body if isinstance(self.body, dict) else {})}


Handler = Callable[[ProviderCall], Awaitable[Response]]


class DisconnectResponse(Response):
    """Starts a body and never finishes it: the server then drops the connection in the middle of the response.

    A body chunk must follow the start: middleware such as GZip holds the start back until the first chunk, and
    would otherwise turn the whole thing into the server's own 500.
    """

    def __init__(self) -> None:
        super().__init__()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-type", b"application/json"), (b"content-length", b"64")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b'{"partial":', "more_body": True})


class Sandbox:
    """A provider twin: a Starlette app whose provider routes are recorded and scriptable."""

    name = "sandbox"

    def __init__(self, hub_base_url: str, clock: Clock) -> None:
        self.base_url = f"{hub_base_url.rstrip('/')}/{self.name}"
        self.control_url = f"{self.base_url}/_control"
        self.clock = clock
        self._requests: list[RecordedRequest] = []
        self._scripts: list[Script] = []
        self._app: Starlette | None = None
        self._added_routes: list[BaseRoute] = []

    # -- in-process harness --

    def requests(self) -> list[RecordedRequest]:
        return list(self._requests)

    def clear_requests(self) -> None:
        self._requests.clear()

    def script(self, match: Mapping[str, Any], action: Mapping[str, Any], times: int | None = 1) -> None:
        """Answer the next `times` matching requests (None: until cleared) with `action`.

        Checked at run time as well, since scripts also arrive as JSON over HTTP.
        """
        if not isinstance(match, Mapping):
            raise ValueError("match must be an object")
        if times is not None and (not isinstance(times, int) or isinstance(times, bool) or times < 1):
            raise ValueError("times must be a positive integer or null")
        self._scripts.append(Script(dict(match), ScriptAction.parse(action), times))

    def clear_scripts(self) -> None:
        self._scripts.clear()

    def reset(self) -> None:
        """Forget what tests did (requests, scripts); registrations made by the composition root stay."""
        self.clear_requests()
        self.clear_scripts()

    def add_routes(self, routes: Sequence[BaseRoute]) -> None:
        """Serve more routes from this sandbox's app, even after the hub has built and mounted it.

        They are matched before the built-in ones, so that a package may refine one (e.g. `_control/script`)
        and hand the rest back through `control_script`.
        """
        self._added_routes[0:0] = routes
        if self._app is not None:
            self._app.router.routes[0:0] = routes

    def listing(self) -> dict[str, str]:
        return {"name": self.name, "baseUrl": self.base_url, "controlUrl": self.control_url}

    # -- what subclasses provide --

    def provider_routes(self) -> list[tuple[str, list[str], Handler]]:
        """(path, HTTP methods, handler) of the endpoints a real client calls: recorded and scriptable."""
        return []

    def harness_routes(self) -> list[BaseRoute]:
        """Endpoints for tests and people (minting codes, listing messages): neither recorded nor scripted."""
        return []

    def parse_form(self, form: dict[str, str]) -> Any:
        return form

    async def scripted_body(self, call: ProviderCall) -> Response:
        return JSONResponse(call.action.body, status_code=call.action.status or 200)

    # -- the app --

    def build_app(self) -> Starlette:
        control = [
            Route("/_control/requests", self._control_requests, methods=["GET", "DELETE"]),
            Route("/_control/script", self._control_script, methods=["GET", "POST", "DELETE"]),
        ]
        provider = [
            Route(path, self._provider_endpoint(path, handler), methods=methods)
            for path, methods, handler in self.provider_routes()
        ]
        self._app = Starlette(routes=[*self._added_routes, *control, *self.harness_routes(), *provider])
        return self._app

    def _provider_endpoint(self, path: str, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            call = await self._read(request, path)
            action = self._take_script(call)
            call = replace(call, action=action)
            if action.delay_ms:
                await asyncio.sleep(action.delay_ms / 1000)
            if action.disconnect:
                return DisconnectResponse()
            if action.has_body:
                return await self.scripted_body(call)
            if action.status is not None:
                return JSONResponse({"error": "scripted failure"}, status_code=action.status)
            return await handler(call)

        return endpoint

    async def _read(self, request: Request, path: str) -> ProviderCall:
        raw = await request.body()
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        form: dict[str, str] = {}
        body: Any = None
        if raw and content_type == "application/x-www-form-urlencoded":
            form = dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
            body = self.parse_form(form)
        elif raw and content_type == "application/json":
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")
        elif raw:
            body = raw.decode("utf-8", "replace")
        query = dict(request.query_params)
        headers = {name: request.headers[name] for name in RECORDED_HEADERS if name in request.headers}
        self._requests.append(RecordedRequest(request.method, path, query, body, headers, self.clock.now()))
        return ProviderCall(request, request.method, path, query, form, body)

    def _take_script(self, call: ProviderCall) -> ScriptAction:
        for script in self._scripts:
            if script.matches(call):
                if script.remaining is not None:
                    script.remaining -= 1
                    if script.remaining == 0:
                        self._scripts.remove(script)
                return script.action
        return NO_ACTION

    async def _control_requests(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.clear_requests()
            return Response(status_code=204)
        return JSONResponse([recorded.to_json() for recorded in self._requests])

    async def control_script(self, request: Request) -> Response:
        """The built-in `_control/script` endpoint, for a route added in front of it to delegate to."""
        return await self._control_script(request)

    async def _control_script(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.clear_scripts()
            return Response(status_code=204)
        if request.method == "POST":
            try:
                payload = json.loads(await request.body())
                if not isinstance(payload, dict):
                    raise ValueError("the script must be a JSON object")
                self.script(payload.get("match", {}), payload.get("action", {}), payload.get("times", 1))
            except ValueError as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
            return JSONResponse(self._script_listing(), status_code=201)
        return JSONResponse(self._script_listing())

    def _script_listing(self) -> list[dict[str, Any]]:
        return [{"match": s.match, "action": s.action.to_json(), "times": s.remaining} for s in self._scripts]


def json_error(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)
