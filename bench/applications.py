"""Applications benchmark (graphql.md §4): `submitApplication` with 5 materials, and `application(id)` with a
40-event timeline, each beside a bare baseline measured in the same run and server process.

- Data: the demo seed (40 items, 20 residents with their wallets) in a throwaway PostgreSQL and Redis
  (tests.support.servers) unless APP_DATABASE_URL (and APP_REDIS_URL) are given.
- Submissions: 最低生活保障 with five materials (upload, data sharing, 户口簿 from the wallet, commitment, and
  the upload a 情形 answer requires), each with a fresh idempotency key, from 15 seeded residents in turn.
  Baseline: a bare starlette route verifying the same token and calling the same service function
  (`submission.submit`) with the same input, returning the same fields with orjson: the difference is GraphQL.
- Reads: `application(id)` of a case whose timeline holds 40 events (VISIT and URGE entries appended through the
  journal), at a fixed 200 req/s. Baseline: the same token check and `listing.one` read model, as JSON.

`python -m bench applications [--quick]`; `python -m bench.applications --serve --port P` is its server process.
"""

from __future__ import annotations

import itertools
import os
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp

from api import database
from api.applications import listing, reading, submission
from api.applications import materials as rules
from api.identity import sessions
from api.identity.tokens import AccessClaims
from api.kit.errors import AppError, Unauthenticated
from api.lifespan import Services
from api.models import ApplicationChannel, ProvidedVia
from api.settings import Settings
from bench.auth import SignInFlow, read_code
from bench.harness import (
    Operation,
    Row,
    RunResult,
    ServerProcess,
    Target,
    closed_loop,
    fixed_rate,
    fmt,
    new_client,
    print_table,
    run_notes,
)
from bench.server import BARE_PREFIX, build_with, serve_with
from bench.standalone import run_benchmark

RESIDENTS = 14  # residents 1–14 hold L1 or more (15 is L0)
ITEM_BASIC_CODE = "990500003000"  # 最低生活保障 (云溪市民政局)
TIMELINE_EVENTS = 40
RATE = 200.0
SUBMIT_TARGET = 150.0
P99_TARGET_MS = 30.0
JSON_HEADERS = {"content-type": "application/json"}

SUBMIT = """
mutation Submit($input: SubmitApplicationInput!) {
  submitApplication(input: $input) {
    __typename
    ... on ApplicationSubmitted { replayed application { id projectNo status materials { name providedVia } } }
    ... on Error { code message }
  }
}
"""
APPLICATION = """
query A($id: ID!) {
  application(id: $id) {
    id projectNo serviceCode itemName status statusLabel timerState applyTime acceptTime promiseDate
    materials { name providedVia trustGrade licenseId }
    timeline { seq type fromStatus toStatus stepName actorType actorName opinion at }
    allowedActions
  }
}
"""

# ======================================================================================= server side


async def _claims(request: Request, services: Services) -> AccessClaims:
    deps = services.identity
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated("sign in first")
    claims = deps.tokens.verify(token.strip())
    if await sessions.is_revoked(deps, claims.family_id):
        raise Unauthenticated("this session was signed out")
    return claims


def _json(body: object, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def _submission(data: dict[str, Any]) -> submission.Submission:
    return submission.Submission(
        idempotency_key=data["idempotencyKey"],
        service_code=data["serviceCode"],
        channel=ApplicationChannel(data["channel"]),
        form_data=data["formData"],
        materials=[
            rules.MaterialClaim(
                index=i,
                requirement_id=uuid.UUID(m["requirementId"]),
                via=ProvidedVia(m["via"]),
                file_id=m.get("fileId") or "",
            )
            for i, m in enumerate(data["materials"])
        ],
        situations=[
            rules.SituationAnswer(index=i, situation_id=uuid.UUID(s["situationId"]), option_key=s["optionKey"])
            for i, s in enumerate(data["situations"])
        ],
    )


def _iso(value: Any) -> Any:
    return value.isoformat() if value is not None else None


def _view_json(view: reading.ApplicationView) -> dict[str, Any]:
    app = view.app
    return {
        "id": str(app.id),
        "projectNo": app.project_no,
        "serviceCode": app.task_code,
        "itemName": app.item_name,
        "status": app.status.value,
        "timerState": app.timer_state.value,
        "applyTime": _iso(app.apply_time),
        "acceptTime": _iso(app.accept_time),
        "promiseDate": _iso(app.promise_date),
        "materials": [
            {
                "name": m.name,
                "providedVia": m.provided_via,
                "trustGrade": m.trust_grade,
                "licenseId": str(m.elicense_id),
            }
            for m in view.materials
        ],
        "timeline": [
            {
                "seq": e.seq,
                "type": e.type.value,
                "fromStatus": e.from_status.value if e.from_status else None,
                "toStatus": e.to_status.value if e.to_status else None,
                "stepName": e.step_name,
                "actorType": e.actor_type,
                "actorName": e.actor_name,
                "opinion": e.opinion,
                "at": _iso(e.at),
            }
            for e in view.timeline
        ],
        "allowedActions": view.allowed_actions,
    }


def bare_routes(prefix: str, services: Callable[[], Services]) -> list[BaseRoute]:
    async def submit(request: Request) -> Response:
        try:
            claims = await _claims(request, services())
            data = orjson.loads(await request.body())
            done = await submission.submit(claims, _submission(data), services().clock.now(), services().identity.pii)
            view = done.view or await reading.view_of(done.app, reading.Viewer.APPLICANT)
        except AppError as exc:
            return _json({"errors": [{"message": exc.message, "extensions": {"code": exc.code}}]}, 400)
        body = {
            "id": str(done.app.id),
            "projectNo": done.app.project_no,
            "status": done.app.status.value,
            "materials": [{"name": m.name, "providedVia": m.provided_via} for m in view.materials],
        }
        return _json({"data": {"submitApplication": {"replayed": done.replayed, "application": body}}})

    async def read(request: Request) -> Response:
        try:
            claims = await _claims(request, services())
        except AppError as exc:
            return _json({"errors": [{"message": exc.message}]}, 401)
        found = await listing.one(claims, uuid.UUID(request.path_params["id"]), services().clock.now())
        return _json({"data": {"application": None if found is None else _view_json(found)}})

    async def grow(request: Request) -> Response:
        """Append VISIT/URGE entries to a case until its timeline holds `n` events (set-up only)."""
        from tortoise.transactions import in_transaction

        from api.applications import journal
        from api.applications.journal import Actor, Entry
        from api.models import ActorType, Application, EventType

        target = int(request.query_params["n"])
        actor = Actor(ActorType.STAFF, None, "压测窗口")
        async with in_transaction() as db:
            app = await Application.filter(id=request.path_params["id"]).using_db(db).get()
            turn = itertools.cycle([EventType.VISIT, EventType.URGE])
            while app.last_seq < target:
                event = next(turn)
                await journal.append(
                    app, event, actor, services().clock.now(), db, Entry(step_name="督办", opinion="压测时间线")
                )
        return _json({"events": app.last_seq})

    return [
        Route(f"{prefix}/applications/submit", submit, methods=["POST"]),
        Route(f"{prefix}/applications/{{id}}", read, methods=["GET"]),
        Route(f"{prefix}/applications/{{id}}/grow", grow, methods=["POST"]),
    ]


def build(settings: Settings) -> ASGIApp:
    return build_with(settings, bare_routes)


def serve() -> None:
    serve_with(bare_routes)


# ======================================================================================= data


async def seed(database_url: str) -> dict[str, Any]:
    """The demo seed (idempotent) and what a submission of the five-materials item needs."""
    from api import devsecrets
    from api.kit.clock import SystemClock
    from api.kit.pii import PiiCipher
    from api.models import MaterialRequirement, ServiceItem
    from api.seed import load_demo_seed
    from api.seed.context import seed_id
    from api.workdays import store as workdays

    await database.migrate(database_url)
    await database.connect(database_url)
    try:
        await workdays.sync_shipped()
        secrets = devsecrets.load_or_create(Path(os.environ["APP_VAR_DIR"]))
        await load_demo_seed(pii=PiiCipher(secrets.pii_encryption_key, secrets.pii_hash_key), clock=SystemClock())
        item = await ServiceItem.get(task_code__endswith=ITEM_BASIC_CODE, status="PUBLISHED")
        reqs = {r.name: r for r in await MaterialRequirement.filter(service_item_id=item.id)}
        return {
            "serviceCode": item.task_code,
            "channel": "APP",
            "formData": _form(item.form_schema),
            "materials": [
                {"requirementId": str(reqs["最低生活保障申请表"].id), "via": "UPLOAD", "fileId": "bench/form.pdf"},
                {"requirementId": str(reqs["家庭收入及财产状况申报承诺书"].id), "via": "COMMITMENT"},
                {"requirementId": str(reqs["残疾人证或重病诊断证明"].id), "via": "UPLOAD", "fileId": "bench/d.pdf"},
            ],
            "situations": [{"situationId": str(seed_id("situation", f"{ITEM_BASIC_CODE}:1")), "optionKey": "a"}],
        }
    finally:
        await database.disconnect()


def _form(schema: dict[str, Any]) -> Any:
    if schema.get("type") == "object":
        return {key: _form(child) for key, child in schema.get("properties", {}).items()}
    if "enum" in schema:
        return schema["enum"][0]
    if schema.get("type") == "number":
        return 1
    if schema.get("format") == "date":
        return "2020-01-01"
    return {"id_number": "99010219800314123X", "phone": "19900000001"}.get(schema.get("x-field-type", ""), "压测")


# ======================================================================================= load


class BenchFailure(Exception):
    pass


def _expect(response: httpx.Response, marker: bytes) -> bytes:
    body = response.content
    if response.status_code != 200 or marker not in body or b'"errors"' in body:
        raise BenchFailure(f"HTTP {response.status_code}: {body[:300]!r}")
    return body


def submit_operation(tokens: list[str], template: dict[str, Any], *, bare: bool) -> Operation:
    path = f"{BARE_PREFIX}/applications/submit" if bare else "/graphql"
    headers = [{**JSON_HEADERS, "authorization": f"Bearer {t}"} for t in tokens]
    turn = itertools.cycle(range(len(tokens)))

    async def submit(client: httpx.AsyncClient) -> None:
        data = {**template, "idempotencyKey": uuid.uuid4().hex}
        body = orjson.dumps(data if bare else {"query": SUBMIT, "variables": {"input": data}})
        _expect(await client.post(path, content=body, headers=headers[next(turn)]), b'"SUBMITTED"')

    return submit


def read_operation(token: str, application_id: str, *, bare: bool) -> Operation:
    headers = {**JSON_HEADERS, "authorization": f"Bearer {token}"}
    body = orjson.dumps({"query": APPLICATION, "variables": {"id": application_id}})

    async def read(client: httpx.AsyncClient) -> None:
        if bare:
            response = await client.get(f"{BARE_PREFIX}/applications/{application_id}", headers=headers)
        else:
            response = await client.post("/graphql", content=body, headers=headers)
        _expect(response, b'"timeline"')

    return read


@dataclass(frozen=True)
class Plan:
    warmup_seconds: float = 1.0
    seconds: float = 10.0
    concurrency: int = 16

    @classmethod
    def quick(cls) -> Plan:
        return cls(warmup_seconds=0.5, seconds=3.0)


async def _sign_in(client: httpx.AsyncClient, n: int) -> str:
    flow, phone = SignInFlow(bare=False), f"1990000{n:04d}"
    await flow.request_code(client, phone)
    signed = await flow.sign_in(client, phone, await read_code(client, phone))
    return str(signed["accessToken"])


async def _pair(
    server: ServerProcess, make: Callable[[bool], Operation], plan: Plan, *, rate: float | None
) -> tuple[RunResult, RunResult]:
    results: list[RunResult] = []
    for bare in (False, True):
        operation = make(bare)
        await closed_loop(server.base_url, operation, concurrency=4, seconds=plan.warmup_seconds, server_pid=server.pid)
        if rate is None:
            result = await closed_loop(
                server.base_url, operation, concurrency=plan.concurrency, seconds=plan.seconds, server_pid=server.pid
            )
        else:
            result = await fixed_rate(
                server.base_url, operation, rate=rate, seconds=plan.seconds, server_pid=server.pid
            )
        results.append(result)
    return results[0], results[1]


async def _load(server: ServerProcess, plan: Plan, backend: str, template: dict[str, Any]) -> None:
    async with new_client(server.base_url, 4) as client:
        tokens = [await _sign_in(client, n) for n in range(1, RESIDENTS + 1)]
        first = await client.post(
            "/graphql",
            content=orjson.dumps({"query": SUBMIT, "variables": {"input": {**template, "idempotencyKey": "bench-0"}}}),
            headers={**JSON_HEADERS, "authorization": f"Bearer {tokens[0]}"},
        )
        application = orjson.loads(_expect(first, b'"SUBMITTED"'))["data"]["submitApplication"]["application"]
        materials = len(application["materials"])
        grown = await client.post(f"{BARE_PREFIX}/applications/{application['id']}/grow?n={TIMELINE_EVENTS}")
        events = orjson.loads(grown.content)["events"]

    ours, bare = await _pair(server, lambda b: submit_operation(tokens, template, bare=b), plan, rate=None)
    print_table(
        f"submitApplication, {materials} materials — closed loop, {plan.concurrency} concurrent × "
        f"{plan.seconds:.0f} s ({backend})",
        [Row.of_runs("submissions/s", ours, bare), Row.of_runs("per core (1 / CPU)", ours, bare, headline="per_core")],
        [
            Target(
                f"≥ {SUBMIT_TARGET:.0f} submissions/s on PostgreSQL",
                f"ours {fmt(ours.throughput)}/s, p99 {fmt(ours.p99_ms)} ms",
                ours.throughput >= SUBMIT_TARGET and not ours.errors,
            )
        ],
        [*run_notes("ours", ours), *run_notes("baseline", bare), "baseline: same service call without GraphQL"],
    )
    ours, bare = await _pair(server, lambda b: read_operation(tokens[0], application["id"], bare=b), plan, rate=RATE)
    print_table(
        f"application(id), {events}-event timeline — fixed rate {RATE:.0f} req/s × {plan.seconds:.0f} s ({backend})",
        [Row.of_runs("achieved req/s", ours, bare), Row.of_runs("per core (1 / CPU)", ours, bare, headline="per_core")],
        [
            Target(
                f"p99 ≤ {P99_TARGET_MS:.0f} ms at {RATE:.0f} req/s",
                f"ours p50 {fmt(ours.p50_ms)} ms, p99 {fmt(ours.p99_ms)} ms",
                ours.p99_ms <= P99_TARGET_MS and not ours.errors,
            )
        ],
        [*run_notes("ours", ours), *run_notes("baseline", bare), "baseline: same read model as JSON"],
    )


def run(*, quick: bool = False) -> None:
    plan = Plan.quick() if quick else Plan()

    async def load(server: ServerProcess, backend: str, template: dict[str, Any]) -> None:
        await _load(server, plan, backend, template)

    run_benchmark("applications", "bench.applications", seed, load)


if __name__ == "__main__":
    if "--serve" in sys.argv:
        serve()
    else:
        run(quick="--quick" in sys.argv)
