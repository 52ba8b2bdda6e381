"""The APNs sandbox's control surface over plain HTTP (§C6 Sandboxes), mounted by the composition root at
/sandbox/apns: `GET/DELETE /_control/requests[?token=]` and `GET/POST/DELETE /_control/script[?token=]`.

POST /_control/script takes `{"token": "flaky01", "sequence": [500, {"status": 500, "reason": "..."}, 200]}`;
a step may also be `{"noAnswer": true}`, `{"delayMs": 800}` (then the status, 200 by default) or `{"goaway": true}`.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

if TYPE_CHECKING:
    from notifications.sandbox.apns import ApnsSandbox


def build_control_app(sandbox: ApnsSandbox) -> Starlette:
    async def requests(request: Request) -> Response:
        token = request.query_params.get("token")
        if request.method == "DELETE":
            sandbox.clear()
            return Response(status_code=204)
        return JSONResponse(sandbox.requests(token))

    async def script(request: Request) -> Response:
        if request.method == "DELETE":
            sandbox.clear_scripts(request.query_params.get("token"))
            return Response(status_code=204)
        if request.method == "POST":
            try:
                payload = json.loads(await request.body())
                if not isinstance(payload, dict) or set(payload) != {"token", "sequence"}:
                    raise ValueError('the script is an object {"token": "...", "sequence": [...]}')
                token, sequence = payload["token"], payload["sequence"]
                if not isinstance(token, str) or not token or not isinstance(sequence, list):
                    raise ValueError("token must be a non-empty string and sequence a list")
                sandbox.script(token, sequence)
            except ValueError as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
            return JSONResponse(sandbox.scripts(), status_code=201)
        return JSONResponse(sandbox.scripts())

    async def info(request: Request) -> Response:
        return JSONResponse({"name": "apns", "port": sandbox.port, "topic": sandbox.topic})

    return Starlette(
        routes=[
            Route("/", info, methods=["GET"]),
            Route("/_control/requests", requests, methods=["GET", "DELETE"]),
            Route("/_control/script", script, methods=["GET", "POST", "DELETE"]),
        ]
    )
