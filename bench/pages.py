"""Personal page benchmark (graphql.md §4): `myHomePage` on PostgreSQL with 100,000 seeded people.

- Data: 100,000 synthetic persons (3 licences each, some expiring within 90 days; 3 service views each), bulk-inserted
  with INSERT … SELECT generate_series from one template row, plus 40 published items (renewals of the licence types,
  regional popularity). PostgreSQL and Redis are throwaway servers (tests.support.servers) unless APP_DATABASE_URL
  (and APP_REDIS_URL) are given.
- Ours: the full `myHomePage` selection over GraphQL. Baseline: a bare starlette route in the same server process
  verifying the same token, checking the same Redis revocation key, running the same SQL (the same
  `api.pages.personal.PersonalPage` loader) and returning the same JSON with orjson.
- Reported: throughput and p50/p99 at 200 req/s, at 400 req/s and in a closed loop, CPU per request, SQL statements
  per page (counted in the server by a shim on the database client), payload raw/gzip; the §4 targets with PASS/MISS.
- "≥ 400 req/s sustained with p99 ≤ 100 ms" is measured open loop: 400 requests are due every second whatever
  happened to the earlier ones, and latency runs from the due time. A closed loop cannot measure it: its latency is
  its concurrency divided by its throughput (Little's law), so its p99 says which concurrency was chosen. The closed
  loop still gives the most each side can do, and the ratio of ours to the baseline.

`python -m bench pages [--quick]`; `python -m bench.pages --serve --port P` is the server process it starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import itertools
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import httpx
import orjson
import uvloop
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp

from api import database
from api.identity import sessions
from api.kit.errors import AppError, Unauthenticated
from api.lifespan import Services
from api.models import CatalogItem, ELicense, ItemStatus, Person, ServiceItem, ServiceView
from api.pages import personal
from api.settings import Settings
from bench.auth import SignInFlow, _server_env, read_code
from bench.harness import (
    CpuPlan,
    Operation,
    Row,
    RunResult,
    ServerProcess,
    Target,
    background_cores,
    closed_loop,
    fixed_rate,
    fmt,
    free_port,
    new_client,
    pin_self,
    plan_cpus,
    print_table,
    ratio,
    run_notes,
)
from bench.server import BARE_PREFIX, build_with, serve_with

PEOPLE = 100_000
LICENCES_EACH = 3
VIEWS_EACH = 3
BENCH_USERS = 20
MOBILE_PREFIX = "171"
REGIONS = ("990102000000", "990121000000", "990122000000")
TYPE_CODES = [f"11990000BENCH{n:05d}" + "001" for n in range(8)]  # 21 characters each

HOME_QUERY = """
query Home {
  myHomePage {
    applicationsInProgress { id projectNo serviceName status nextAction nextActionText updatedAt }
    billsDue { id title amountFen amountYuan dueAt applicationId }
    expiringLicenses { id name typeCode typeName certNumber issuerName validTo daysLeft }
    unreadMessageCount
    recommendations {
      reason text lifeEvent licenseId
      item { id serviceCode name version regionCode onlineDepthLevel mobileUrl }
      bundle { id code name }
    }
    shortcuts { key title icon route }
  }
}
"""
JSON_HEADERS = {"content-type": "application/json"}

RATE = 200.0
P50_TARGET_MS, P99_TARGET_MS = 10.0, 50.0
SUSTAINED_TARGET, SUSTAINED_P99_MS = 400.0, 100.0
KEPT_PACE = 0.98
CPU_TARGET_MS = 4.0
SQL_TARGET = 8
RATIO_TARGET = 0.5
RAW_TARGET, GZIP_TARGET = 20 * 1024, 6 * 1024


# =============================================================================================== bare baseline
# These run inside the benchmark server process.


def _json(body: object, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def _licence_json(found: personal.ExpiringLicense) -> dict[str, Any]:
    row = found.row
    return {
        "id": str(row.id),
        "name": row.name,
        "typeCode": row.type_code,
        "typeName": row.type_name,
        "certNumber": row.cert_number,
        "issuerName": row.issuer_name,
        "validTo": found.valid_to.isoformat(),
        "daysLeft": found.days_left,
    }


def _recommendation_json(found: personal.Recommendation) -> dict[str, Any]:
    item, bundle = found.item, found.bundle
    return {
        "reason": found.reason.value,
        "text": found.text,
        "lifeEvent": found.life_event.value if found.life_event else None,
        "licenseId": str(found.license_id) if found.license_id else None,
        "item": None
        if item is None
        else {
            "id": str(item.id),
            "serviceCode": item.task_code,
            "name": item.name,
            "version": item.version,
            "regionCode": item.region_code,
            "onlineDepthLevel": item.online_depth_level,
            "mobileUrl": item.mobile_url,
        },
        "bundle": None if bundle is None else {"id": str(bundle.id), "code": bundle.code, "name": bundle.name},
    }


_sql_count = [0]


def _install_sql_counter() -> None:
    from tortoise import connections

    client_class = type(connections.get("default"))
    if getattr(client_class, "_bench_counted", False):
        return
    for name in ("execute_query", "execute_query_dict", "execute_insert", "execute_many", "execute_script"):
        original = getattr(client_class, name)

        def counted(original: Callable[..., Any]) -> Callable[..., Any]:
            async def run(self: Any, query: str, *args: Any, **kwargs: Any) -> Any:
                _sql_count[0] += 1
                return await original(self, query, *args, **kwargs)

            return run

        setattr(client_class, name, counted(original))
    client_class._bench_counted = True


def bare_routes(prefix: str, services: Callable[[], Services]) -> list[BaseRoute]:
    async def home(request: Request) -> Response:
        deps = services().identity
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return _json({"errors": [{"message": "sign in first", "extensions": {"code": "UNAUTHENTICATED"}}]}, 401)
        try:
            claims = deps.tokens.verify(token.strip())
            if await sessions.is_revoked(deps, claims.family_id):
                raise Unauthenticated("this session was signed out")
            if claims.kind != "citizen":
                raise Unauthenticated("sign in as a resident")
        except AppError as exc:
            return _json({"errors": [{"message": exc.message, "extensions": {"code": exc.code}}]}, 401)
        page = personal.PersonalPage(deps.clock, claims.subject, deps.redis)
        applications, bills, expiring, unread, recommendations = await asyncio.gather(
            page.applications_in_progress(),
            page.bills_due(),
            page.expiring_licenses(),
            page.unread_message_count(),
            page.recommendations(),
        )
        body = {
            "applicationsInProgress": [],
            "billsDue": [],
            "expiringLicenses": [_licence_json(found) for found in expiring],
            "unreadMessageCount": unread,
            "recommendations": [_recommendation_json(found) for found in recommendations],
            "shortcuts": [{"key": s.key, "title": s.title, "icon": s.icon, "route": s.route} for s in page.shortcuts()],
        }
        assert not applications and not bills  # seams: empty until their issues land
        return _json({"data": {"myHomePage": body}})

    async def sql_count(request: Request) -> Response:
        _install_sql_counter()
        return _json({"count": _sql_count[0]})

    return [
        Route(f"{prefix}/pages/home", home, methods=["POST"]),
        Route(f"{prefix}/_bench/sql-count", sql_count, methods=["GET"]),
    ]


def build(settings: Settings) -> ASGIApp:
    return build_with(settings, bare_routes)


def serve() -> None:
    serve_with(bare_routes)


# =============================================================================================== data


def _columns(model: Any) -> list[str]:
    return list(model._meta.fields_db_projection.values())


def _select_from_template(columns: list[str], overrides: dict[str, str], alias: str = "t") -> str:
    return ", ".join(overrides.get(column, f"{alias}.{column}") for column in columns)


async def seed(database_url: str, people: int) -> float:
    """Persons, licences, views and items; returns seconds taken. Idempotent per database (skips when seeded)."""
    from tortoise import connections

    started = time.monotonic()
    await database.migrate(database_url)
    await database.connect(database_url)
    try:
        if await Person.filter(mobile=f"{MOBILE_PREFIX}00000001").exists():
            return 0.0
        db = connections.get("default")
        today = date.today()
        template_person = await Person.create(name="压测模板", is_synthetic=True)
        columns = _columns(Person)
        regions = "ARRAY[" + ", ".join(f"'{r}'" for r in REGIONS) + "]"
        persons = _select_from_template(
            columns,
            {
                "id": "gen_random_uuid()",
                "name": "'压测居民' || g",
                "mobile": f"'{MOBILE_PREFIX}' || lpad(g::text, 8, '0')",
                "id_number_hash": "md5('bench-person-' || g)",
                "region_code": f"({regions})[1 + g % {len(REGIONS)}]",
                "birth_date": f"date '{today.isoformat()}' - ((18 * 365) + (g * 37) % (60 * 365))",
                "assurance_level": "2",
            },
        )
        await db.execute_script(
            # Constants and generated ids only, no outside input.
            f"INSERT INTO person ({', '.join(columns)}) SELECT {persons} "  # noqa: S608
            f"FROM person t, generate_series(1, {people}) g WHERE t.id = '{template_person.id}'"
        )
        await Person.filter(id=template_person.id).delete()

        # Items: a renewal item per licence type, and popular items per region.
        items: list[ServiceItem] = []
        for n in range(40):
            catalog = await CatalogItem.create(catalog_code=f"BENCH{n:07d}", name=f"压测事项{n}", task_type="01")
            type_code = TYPE_CODES[n] if n < len(TYPE_CODES) else ""
            items.append(
                await ServiceItem.create(
                    task_code=f"11990100BENCH00000{n:03d}3990100{n:03d}"[:31],
                    catalog_item=catalog,
                    dept_id=uuid.uuid4(),
                    use_level=3,
                    name=f"压测证照{n}延续" if type_code else f"压测热门事项{n}",
                    task_type="01",
                    region_code="990100000000" if n % 2 else REGIONS[n % len(REGIONS)],
                    elicense_type_code=type_code,
                    result_is_elicense=bool(type_code),
                    keywords=["延续"] if type_code else [],
                    person_topics=["户籍身份"],
                    popularity=(n * 7919) % 1000,
                    mobile_url=f"https://m.example.gov.cn/items/{n}",
                    status=ItemStatus.PUBLISHED,
                    is_synthetic=True,
                )
            )
        template_licence = await ELicense.create(
            cert_identifier="BENCH-TEMPLATE",
            type_code=TYPE_CODES[0],
            type_name="压测证照",
            cert_number="BENCH",
            name="压测证照",
            issuer_name="演示发证机关",
            issuer_uscc="11990000000000013X",
            area_code="990100000000",
            holder_name="压测居民",
            holder_id_type="111",
            holder_id_hash="bench",
            issue_date=today - timedelta(days=700),
            valid_from=today - timedelta(days=700),
            valid_to=today,
            is_synthetic=True,
        )
        columns = _columns(ELicense)
        codes = "ARRAY[" + ", ".join(f"'{c}'" for c in TYPE_CODES) + "]"
        pick = f"(abs(hashtext(p.id::text)::bigint) + k) % {len(TYPE_CODES)}"
        licences = _select_from_template(
            columns,
            {
                "id": "gen_random_uuid()",
                "cert_identifier": "'BENCH.' || p.id::text || '.' || k",
                "type_code": f"({codes})[1 + {pick}]",
                "type_name": f"'压测证照' || {pick}",
                "name": f"'压测证照' || {pick}",
                "cert_number": "'N' || k || substr(md5(p.id::text), 1, 10)",
                "holder_name": "p.name",
                "holder_id_hash": "p.id_number_hash",
                "holder_person_id": "p.id",
                "valid_to": f"date '{today.isoformat()}' + (abs(hashtext(p.id::text || k)::bigint) % 400 - 20)::int",
            },
        )
        await db.execute_script(
            f"INSERT INTO elicense ({', '.join(columns)}) SELECT {licences} "  # noqa: S608
            f"FROM person p CROSS JOIN generate_series(1, {LICENCES_EACH}) k, elicense t "
            f"WHERE t.id = '{template_licence.id}' AND p.mobile LIKE '{MOBILE_PREFIX}%'"
        )
        await ELicense.filter(id=template_licence.id).delete()
        task_codes = "ARRAY[" + ", ".join(f"'{i.task_code}'" for i in items) + "]"
        await db.execute_script(
            "INSERT INTO service_view (id, created_at, updated_at, person_id, task_code, region_code) "  # noqa: S608
            f"SELECT gen_random_uuid(), now() - (k || ' hours')::interval, now(), p.id, "
            f"({task_codes})[1 + (abs(hashtext(p.id::text)::bigint) + 7 * k) % {len(items)}], p.region_code "
            f"FROM person p CROSS JOIN generate_series(1, {VIEWS_EACH}) k WHERE p.mobile LIKE '{MOBILE_PREFIX}%'"
        )
        # A database the benchmark may compare against is not a freshly bulk-loaded one: without this, the first
        # run (ours) paid for setting the hint bits of 700,000 new rows and for the checkpoint their WAL forced,
        # a 400 ms stall the baseline, run later, never met.
        await db.execute_script("VACUUM (ANALYZE)")
        await db.execute_script("CHECKPOINT")
        _ = ServiceView  # the table filled above
        return time.monotonic() - started
    finally:
        await database.disconnect()


# =============================================================================================== load


class BenchFailure(Exception):
    pass


def _expect(response: httpx.Response) -> bytes:
    body = response.content
    if response.status_code != 200 or b'"myHomePage"' not in body or b'"errors"' in body:
        raise BenchFailure(f"HTTP {response.status_code}: {body[:300]!r}")
    return body


def home_operation(tokens: list[str], *, bare: bool) -> Operation:
    path = f"{BARE_PREFIX}/pages/home" if bare else "/graphql"
    body = b"{}" if bare else orjson.dumps({"query": HOME_QUERY, "operationName": "Home"})
    headers = [{**JSON_HEADERS, "authorization": f"Bearer {t}"} for t in tokens]
    turn = itertools.cycle(range(len(tokens)))

    async def home(client: httpx.AsyncClient) -> None:
        _expect(await client.post(path, content=body, headers=headers[next(turn)]))

    return home


@dataclass(frozen=True)
class Plan:
    warmup_seconds: float = 1.0
    fixed_seconds: float = 10.0
    closed_seconds: float = 8.0
    concurrency: int = 32

    @classmethod
    def quick(cls) -> Plan:
        return cls(warmup_seconds=0.5, fixed_seconds=3.0, closed_seconds=3.0)


async def _sign_in(client: httpx.AsyncClient, n: int) -> str:
    flow, phone = SignInFlow(bare=False), f"{MOBILE_PREFIX}{n:08d}"
    await flow.request_code(client, phone)
    signed = await flow.sign_in(client, phone, await read_code(client, phone))
    return str(signed["accessToken"])


async def _sql_per_page(client: httpx.AsyncClient, tokens: list[str]) -> tuple[float, float]:
    async def count() -> int:
        return int(orjson.loads((await client.get(f"{BARE_PREFIX}/_bench/sql-count")).content)["count"])

    await count()  # installs the counter
    per_side: list[float] = []
    for bare in (False, True):
        operation = home_operation(tokens, bare=bare)
        before = await count()
        for _ in tokens:
            await operation(client)
        per_side.append((await count() - before) / len(tokens))
    return per_side[0], per_side[1]


async def _pair(
    server: ServerProcess, tokens: list[str], plan: Plan, *, rate: float | None
) -> tuple[RunResult, RunResult]:
    """Ours then the baseline, each after a warm-up: open loop at `rate`, or a closed loop when None."""
    results: list[RunResult] = []
    for bare in (False, True):
        operation = home_operation(tokens, bare=bare)
        await closed_loop(server.base_url, operation, concurrency=8, seconds=plan.warmup_seconds, server_pid=server.pid)
        if rate is not None:
            result = await fixed_rate(
                server.base_url, operation, rate=rate, seconds=plan.fixed_seconds, server_pid=server.pid
            )
        else:
            result = await closed_loop(
                server.base_url,
                operation,
                concurrency=plan.concurrency,
                seconds=plan.closed_seconds,
                server_pid=server.pid,
            )
        results.append(result)
    return results[0], results[1]


async def _load(server: ServerProcess, plan: Plan, backend: str, seeded: str) -> None:
    async with new_client(server.base_url, 4) as client:
        tokens = [await _sign_in(client, n) for n in range(1, BENCH_USERS + 1)]
        auth = {**JSON_HEADERS, "authorization": f"Bearer {tokens[0]}", "accept-encoding": "identity"}
        ours = await client.post("/graphql", content=orjson.dumps({"query": HOME_QUERY}), headers=auth)
        bare = await client.post(f"{BARE_PREFIX}/pages/home", content=b"{}", headers=auth)
        ours_page = orjson.loads(_expect(ours))["data"]["myHomePage"]
        same = ours_page == orjson.loads(_expect(bare))["data"]["myHomePage"]
        cost = orjson.loads(ours.content)["extensions"]["cost"]
        raw = len(ours.content)
        zipped = len(gzip.compress(ours.content, compresslevel=6))
        sql_ours, sql_bare = await _sql_per_page(client, tokens)

    fixed_ours, fixed_bare = await _pair(server, tokens, plan, rate=RATE)
    print_table(
        f"myHomePage — fixed rate {RATE:.0f} req/s × {plan.fixed_seconds:.0f} s ({backend}, {seeded})",
        [
            Row.of_runs("achieved req/s", fixed_ours, fixed_bare),
            Row.of_runs("req/s per core (1 / CPU per req)", fixed_ours, fixed_bare, headline="per_core"),
            Row("SQL statements per page", sql_ours, sql_bare),
            Row("payload bytes raw (gzip)", raw, raw, cpu=f"gzip {zipped} B"),
        ],
        [
            Target(
                f"p50 ≤ {P50_TARGET_MS:.0f} ms and p99 ≤ {P99_TARGET_MS:.0f} ms at {RATE:.0f} req/s",
                f"ours p50 {fmt(fixed_ours.p50_ms)} ms, p99 {fmt(fixed_ours.p99_ms)} ms",
                fixed_ours.p50_ms <= P50_TARGET_MS and fixed_ours.p99_ms <= P99_TARGET_MS and not fixed_ours.errors,
            ),
            Target(
                f"≤ {CPU_TARGET_MS:.0f} ms CPU per request",
                f"ours {fmt(fixed_ours.cpu_per_op_ms)} ms",
                fixed_ours.cpu_per_op_ms <= CPU_TARGET_MS,
            ),
            Target(f"≤ {SQL_TARGET} SQL statements per page", f"ours {fmt(sql_ours)}", sql_ours <= SQL_TARGET),
            Target(
                "payload ≤ 20 KB raw, ≤ 6 KB gzip",
                f"{raw:,} B raw, {zipped:,} B gzip",
                raw <= RAW_TARGET and zipped <= GZIP_TARGET,
            ),
            Target("full selection cost ≤ 600", f"cost {cost}", cost <= 600),
        ],
        [
            *run_notes("ours", fixed_ours),
            *run_notes("baseline", fixed_bare),
            "same JSON on both sides: " + ("yes" if same else "NO"),
            f"{len(tokens)} residents signed in, requests rotate among them",
        ],
    )
    held_ours, held_bare = await _pair(server, tokens, plan, rate=SUSTAINED_TARGET)
    kept_pace = held_ours.throughput >= SUSTAINED_TARGET * KEPT_PACE and not held_ours.errors
    print_table(
        f"myHomePage — sustained, open loop {SUSTAINED_TARGET:.0f} req/s × {plan.fixed_seconds:.0f} s ({backend})",
        [Row.of_runs("achieved req/s", held_ours, held_bare)],
        [
            Target(
                f"≥ {SUSTAINED_TARGET:.0f} req/s sustained with p99 ≤ {SUSTAINED_P99_MS:.0f} ms",
                f"ours {fmt(held_ours.throughput)} req/s, p99 {fmt(held_ours.p99_ms)} ms",
                kept_pace and held_ours.p99_ms <= SUSTAINED_P99_MS,
            ),
        ],
        [
            *run_notes("ours", held_ours),
            *run_notes("baseline", held_bare),
            f"kept pace: achieved ≥ {KEPT_PACE:.0%} of the offered rate (the run's last responses land after its end)",
        ],
    )
    closed_ours, closed_bare = await _pair(server, tokens, plan, rate=None)
    share = ratio(closed_ours.throughput, closed_bare.throughput)
    print_table(
        f"myHomePage — closed loop, {plan.concurrency} concurrent × {plan.closed_seconds:.0f} s ({backend})",
        [Row.of_runs("throughput req/s", closed_ours, closed_bare)],
        [Target(f"≥ {RATIO_TARGET:.0%} of the same-SQL bare baseline", f"ratio {fmt(share)}", share >= RATIO_TARGET)],
        [*run_notes("ours", closed_ours), *run_notes("baseline", closed_bare)],
    )


# =============================================================================================== entry


@contextlib.contextmanager
def _backend() -> Iterator[tuple[str, str]]:
    given = os.environ.get("APP_DATABASE_URL", "")
    if given:
        yield given, os.environ.get("APP_REDIS_URL", "")
        return
    from tests.support.servers import postgres_server, redis_server

    with postgres_server() as pg, redis_server() as rd:
        yield pg.url, rd.url


def run(*, quick: bool = False) -> None:
    plan = Plan.quick() if quick else Plan()
    cpus: CpuPlan = plan_cpus()
    started = time.monotonic()
    with _backend() as (database_url, redis_url), tempfile.TemporaryDirectory(prefix="zsb-bench-") as raw_tmp:
        tmp = Path(raw_tmp)
        took = asyncio.run(seed(database_url, PEOPLE))
        seeded = f"{PEOPLE:,} people seeded in {took:.0f} s" if took else f"{PEOPLE:,} people already seeded"
        pin_self(cpus.client)
        port = free_port()
        env, _ = _server_env(tmp, port)
        env.update({"APP_DATABASE_URL": database_url, "APP_REDIS_URL": redis_url})
        with mock.patch.dict(os.environ, env, clear=True):
            Settings()  # fails here, not in the server, when the environment is wrong
        backend = f"PostgreSQL + {'Redis' if redis_url else 'fakeredis'}"
        print(f"# pages benchmark — {backend}; {cpus.describe()}; uvicorn uvloop/httptools, load generator httpx")
        server = ServerProcess(
            port=port, env=env, log_path=tmp / "server.log", cpu=cpus.server, module_command=("bench.pages", "--serve")
        )
        with server.running():
            print(f"# idle machine before the load: {background_cores():.2f} cores busy elsewhere")
            runner = asyncio.Runner(loop_factory=uvloop.new_event_loop)
            try:
                runner.run(_load(server, plan, backend, seeded))
            finally:
                runner.close()
        log = server.log_tail(20).strip()
        if log:
            print("\n# the server logged (last lines):\n" + "\n".join(f"#   {line}" for line in log.splitlines()))
    print(f"\n# pages benchmark done in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    if "--serve" in sys.argv:
        serve()
    else:
        run(quick="--quick" in sys.argv)
