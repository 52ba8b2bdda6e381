"""Auth benchmark (graphql.md §4): JWT verification, SMS sign-in and `me`, each beside a bare baseline.

- JWT: `TokenService.verify` on a token the server issued, beside the bare `cryptography` ECDSA P-256 verify of
  the same signature (in this process, on the load generator's core, while the server idles).
- `me`: the GraphQL query beside a bare starlette route that verifies the same bearer token with the same
  TokenService, checks the same Redis revocation key, runs the same SQL through tortoise (person by id, its
  bindings) and returns the same JSON with orjson. Fixed rate (p50/p99 at 200 req/s) and closed loop.
- Sign-in: `requestSmsCode` → the code read from the SMS sandbox → `signInWithSms`, beside bare routes calling
  the same identity functions (code issue and SMS send, code check, account lookup/creation, session insert,
  token issue). Every flow uses a fresh phone number, so each sign-in also registers an account.

The bare routes (`bare_routes`) run inside the benchmark server (bench/server.py), on the same core and the same
database/Redis connections as the real app.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import os
import random
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import httpx
import jwt
import orjson
import uvloop
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from api.identity import accounts, profile, sessions, signin
from api.identity.deps import IdentityDeps
from api.identity.tokens import AccessClaims, TokenService
from api.kit.clock import SHANGHAI, ShiftableClock
from api.kit.errors import AppError, Unauthenticated
from api.kit.pii import mask_phone
from api.lifespan import Services, _keys
from api.models import IdentityBinding, Person, SessionChannel
from api.settings import Settings
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
    mean,
    new_client,
    pair,
    percentile,
    pin_self,
    plan_cpus,
    print_table,
    ratio,
    run_notes,
)
from bench.probes import probe_rate_limit, probe_validation

# The same selections a client sends; `me` asks for every scalar and the bindings (the two SQL statements).
ME_QUERY = """
query Me {
  me {
    id name maskedIdNumber maskedMobile assuranceLevel sessionLevel verifiedAt actingAsEnterpriseId
    bindings { provider subjectHint linkedAt }
  }
}
"""
REQUEST_CODE = """
mutation Code($input: RequestSmsCodeInput!) {
  requestSmsCode(input: $input) {
    __typename
    ... on SmsCodeSent { expiresInSeconds resendAfterSeconds }
    ... on Error { code message }
  }
}
"""
SIGN_IN = """
mutation SignIn($input: SignInWithSmsInput!) {
  signInWithSms(input: $input) {
    __typename
    ... on AuthPayload {
      accessToken accessTokenExpiresAt refreshToken refreshTokenExpiresAt sessionId newAccount
      me { id name maskedMobile assuranceLevel sessionLevel }
    }
    ... on Error { code message }
  }
}
"""
JSON_HEADERS = {"content-type": "application/json"}

# graphql.md §4 targets.
JWT_TARGET_MS = 0.2
ME_RATE = 200.0
ME_P99_TARGET_MS = 20.0


# =============================================================================================== bare baseline
# These run inside the benchmark server process.


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(SHANGHAI).isoformat()


def _json(body: object, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def _error(exc: AppError, status: int = 200) -> Response:
    return _json({"errors": [{"message": exc.message, "extensions": {"code": exc.code}}]}, status)


def _binding_json(row: IdentityBinding) -> dict[str, Any]:
    subject = row.subject_id
    hint = mask_phone(subject) if row.provider.value == "APP" else f"{subject[:3]}…{subject[-2:]}"
    return {"provider": row.provider.value, "subjectHint": hint, "linkedAt": _iso(row.linked_at)}


def bare_routes(prefix: str, services: Callable[[], Services]) -> list[BaseRoute]:
    """The baseline endpoints: plain starlette + orjson, the same identity calls, no GraphQL, no middleware."""

    async def me(request: Request) -> Response:
        deps = services().identity
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return _error(Unauthenticated("use Authorization: Bearer <access token>"), 401)
        try:
            claims = deps.tokens.verify(token.strip())
            if await sessions.is_revoked(deps, claims.family_id):
                raise Unauthenticated("this session was signed out")
            if claims.kind != "citizen":
                raise Unauthenticated("sign in as a resident")
            person = await profile.person(claims.subject)  # SELECT person by id
        except AppError as exc:
            return _error(exc, 401)
        bindings = (await profile.bindings_of([person.id]))[person.id]  # SELECT its bindings
        return _json({"data": {"me": _me_json(deps, claims, person, bindings)}})

    async def request_code(request: Request) -> Response:
        deps = services().identity
        body = orjson.loads(await request.body())
        ip = request.client.host if request.client else "unknown"
        try:
            sent = await signin.request_sms_code(deps, str(body["phone"]), ip)
        except AppError as exc:
            return _error(exc)
        return _json(
            {
                "data": {
                    "requestSmsCode": {
                        "__typename": "SmsCodeSent",
                        "expiresInSeconds": sent.expires_in_seconds,
                        "resendAfterSeconds": sent.resend_after_seconds,
                    }
                }
            }
        )

    async def sign_in(request: Request) -> Response:
        deps = services().identity
        body = orjson.loads(await request.body())
        ip = request.client.host if request.client else "unknown"
        try:
            # Code check (Lua script), account lookup/creation, session insert, token issue.
            signed = await signin.with_sms(
                deps,
                str(body["phone"]),
                str(body["code"]),
                channel=SessionChannel.APP,
                device=request.headers.get("user-agent", "")[:128],
                ip=ip,
            )
        except AppError as exc:
            return _error(exc)
        person, pair_ = signed.person, signed.tokens
        level = int(accounts.session_level(person))
        payload = {
            "__typename": "AuthPayload",
            "accessToken": pair_.access_token,
            "accessTokenExpiresAt": _iso(pair_.access_expires_at),
            "refreshToken": pair_.refresh_token,
            "refreshTokenExpiresAt": _iso(pair_.refresh_expires_at),
            "sessionId": str(pair_.session_id),
            "newAccount": signed.created,
            "me": {
                "id": str(person.id),
                "name": person.name,
                "maskedMobile": mask_phone(person.mobile) if person.mobile else None,
                "assuranceLevel": f"L{int(person.assurance_level)}",
                "sessionLevel": f"L{level}",
            },
        }
        return _json({"data": {"signInWithSms": payload}})

    async def reset_sandbox(request: Request) -> Response:
        """Between runs: forget the SMS sandbox's messages and signature nonces (both grow with every send)."""
        from api.platforms.sandbox import SandboxHub

        hub = services().sandbox
        if isinstance(hub, SandboxHub):
            hub.reset()
            hub.sms._nonces.clear()
        return Response(status_code=204)

    return [
        Route(f"{prefix}/auth/me", me, methods=["POST"]),
        Route(f"{prefix}/auth/request-code", request_code, methods=["POST"]),
        Route(f"{prefix}/auth/sign-in", sign_in, methods=["POST"]),
        Route(f"{prefix}/_bench/reset-sandbox", reset_sandbox, methods=["POST"]),
    ]


def _me_json(
    deps: IdentityDeps, claims: AccessClaims, person: Person, bindings: list[IdentityBinding]
) -> dict[str, Any]:
    acting = claims.acting_as_enterprise_id
    return {
        "id": str(person.id),
        "name": person.name,
        "maskedIdNumber": profile.masked_id_number(deps, person),
        "maskedMobile": mask_phone(person.mobile) if person.mobile else None,
        "assuranceLevel": f"L{int(person.assurance_level)}",
        "sessionLevel": f"L{claims.level}",
        "verifiedAt": _iso(person.verified_at),
        "actingAsEnterpriseId": str(acting) if acting else None,
        "bindings": [_binding_json(row) for row in bindings],
    }


# =============================================================================================== JWT


@dataclass(frozen=True)
class Timings:
    per_call_ns: list[float]
    cpu_seconds: float

    @property
    def mean_us(self) -> float:
        return mean(self.per_call_ns) / 1000

    def pct_us(self, fraction: float) -> float:
        return percentile(self.per_call_ns, fraction) / 1000

    @property
    def cpu_us(self) -> float:
        return self.cpu_seconds / len(self.per_call_ns) * 1e6


def _time_interleaved(calls: dict[str, Callable[[], object]], n: int, rounds: int = 10) -> dict[str, Timings]:
    """`n` timed calls of each, in `rounds` alternating blocks, so that clock-speed drift and neighbours on the
    machine weigh on every candidate alike."""
    for call in calls.values():
        for _ in range(500):  # warm caches and the allocator
            call()
    clock = time.perf_counter_ns
    samples: dict[str, list[float]] = {name: [] for name in calls}
    cpu = dict.fromkeys(calls, 0.0)
    block = -(-n // rounds)
    for round_ in range(rounds):
        names = list(calls)
        for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
            call, out = calls[name], samples[name]
            cpu0 = time.process_time()
            for _ in range(block):
                started = clock()
                call()
                out.append(clock() - started)
            cpu[name] += time.process_time() - cpu0
    return {name: Timings(samples[name], cpu[name]) for name in calls}


def _server_token_service(settings: Settings) -> tuple[TokenService, dict[str, str]]:
    """A TokenService built exactly as the server builds it (same keys under var_dir, same issuer/audience)."""
    jwt_keys, signing_kid, *_ = _keys(settings)
    service = TokenService(
        keys_pem=jwt_keys,
        signing_kid=signing_kid,
        issuer=settings.auth.issuer,
        audience=settings.auth.audience,
        ttl=timedelta(seconds=settings.auth.access_ttl_seconds),
        clock=ShiftableClock(),
    )
    return service, jwt_keys


def jwt_benchmark(settings: Settings, token: str, n: int) -> None:
    service, jwt_keys = _server_token_service(settings)
    kid = str(jwt.get_unverified_header(token)["kid"])
    private = serialization.load_pem_private_key(jwt_keys[kid].encode(), None)
    assert isinstance(private, ec.EllipticCurvePrivateKey)
    public = private.public_key()
    header_b64, payload_b64, signature_b64 = token.split(".")
    signing_input = f"{header_b64}.{payload_b64}".encode()
    raw = base64.urlsafe_b64decode(signature_b64 + "=" * (-len(signature_b64) % 4))
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    algorithm = ec.ECDSA(hashes.SHA256())
    service.verify(token)  # fails loudly if the token or the keys are not the server's
    public.verify(der, signing_input, algorithm)

    def bare() -> None:
        public.verify(der, signing_input, algorithm)

    def decode_only() -> None:
        jwt.decode(
            token,
            public,
            algorithms=["ES256"],
            audience=settings.auth.audience,
            issuer=settings.auth.issuer,
            options={"require": ["exp", "iss", "aud", "sub", "typ", "sid"], "verify_exp": False, "verify_iat": False},
        )

    timings = _time_interleaved({"ours": lambda: service.verify(token), "bare": bare, "decode": decode_only}, n)
    ours, baseline, decode = timings["ours"], timings["bare"], timings["decode"]

    def row(metric: str, timing: Timings) -> Row:
        return Row(
            metric,
            timing.mean_us,
            baseline.mean_us,
            p50=pair(timing.pct_us(0.5), baseline.pct_us(0.5), " µs"),
            p99=pair(timing.pct_us(0.99), baseline.pct_us(0.99), " µs"),
            cpu=pair(timing.cpu_us, baseline.cpu_us, " µs"),
        )

    overhead = ours.mean_us - baseline.mean_us
    print_table(
        f"JWT verification — ES256 token issued by the server, N={n:,} per side, µs per token (1 core)",
        [
            row("TokenService.verify (mean µs)", ours),
            row("  of which jwt.decode (mean µs)", decode),
        ],
        [
            Target(
                f"≤ {JWT_TARGET_MS} ms per token",
                f"ours mean {ours.mean_us / 1000:.3f} ms, p99 {ours.pct_us(0.99) / 1000:.3f} ms",
                ours.mean_us / 1000 <= JWT_TARGET_MS,
            )
        ],
        [
            "baseline: cryptography ECDSA P-256 verify of the same signature (DER prepared once)",
            f"overhead above the bare signature check: {overhead:.1f} µs per token "
            f"(PyJWT header/payload parsing and claim checks {decode.mean_us - baseline.mean_us:.1f} µs, "
            f"TokenService header peek and claims object {ours.mean_us - decode.mean_us:.1f} µs)",
        ],
    )


# =============================================================================================== load


class BenchFailure(Exception):
    pass


def _expect(response: httpx.Response, marker: bytes) -> bytes:
    body = response.content
    if response.status_code != 200 or marker not in body or b'"errors"' in body:
        raise BenchFailure(f"HTTP {response.status_code}: {body[:300]!r}")
    return body


_phones = itertools.count(random.randrange(0, 90_000_000))


def fresh_phone() -> str:
    # 170 is a virtual-operator prefix: never a seed or sandbox special number.
    return f"170{next(_phones) % 100_000_000:08d}"


async def read_code(client: httpx.AsyncClient, phone: str) -> str:
    response = await client.get("/sandbox/sms/messages", params={"phone": phone})
    messages = orjson.loads(_expect(response, b'"messages"'))["messages"]
    if not messages:
        raise BenchFailure(f"no SMS reached {phone}")
    return str(messages[-1]["params"]["code"])


@dataclass
class SignInFlow:
    """requestSmsCode → read the code from the SMS sandbox → signInWithSms; the last step timed apart."""

    bare: bool
    steps: list[float] = field(default_factory=list)

    async def request_code(self, client: httpx.AsyncClient, phone: str) -> None:
        if self.bare:
            body = orjson.dumps({"phone": phone})
            response = await client.post("/bare/auth/request-code", content=body, headers=JSON_HEADERS)
        else:
            body = orjson.dumps({"query": REQUEST_CODE, "variables": {"input": {"phone": phone}}})
            response = await client.post("/graphql", content=body, headers=JSON_HEADERS)
        _expect(response, b'"SmsCodeSent"')

    async def sign_in(self, client: httpx.AsyncClient, phone: str, code: str) -> dict[str, Any]:
        if self.bare:
            body = orjson.dumps({"phone": phone, "code": code})
            response = await client.post("/bare/auth/sign-in", content=body, headers=JSON_HEADERS)
        else:
            body = orjson.dumps({"query": SIGN_IN, "variables": {"input": {"phone": phone, "code": code}}})
            response = await client.post("/graphql", content=body, headers=JSON_HEADERS)
        payload: dict[str, Any] = orjson.loads(_expect(response, b'"AuthPayload"'))["data"]["signInWithSms"]
        return payload

    async def __call__(self, client: httpx.AsyncClient) -> None:
        phone = fresh_phone()
        await self.request_code(client, phone)
        code = await read_code(client, phone)
        started = time.perf_counter()
        await self.sign_in(client, phone, code)
        self.steps.append(time.perf_counter() - started)


def me_operation(token: str, *, bare: bool) -> Operation:
    headers = {**JSON_HEADERS, "authorization": f"Bearer {token}"}
    path = "/bare/auth/me" if bare else "/graphql"
    body = b"{}" if bare else orjson.dumps({"query": ME_QUERY, "operationName": "Me"})

    async def me(client: httpx.AsyncClient) -> None:
        _expect(await client.post(path, content=body, headers=headers), b'"bindings"')

    return me


@dataclass(frozen=True)
class Plan:
    jwt_n: int = 20_000
    warmup_seconds: float = 1.0
    me_fixed_seconds: float = 10.0
    closed_seconds: float = 5.0
    concurrency: int = 32
    sign_in_rate: float = 20.0
    sign_in_fixed_seconds: float = 5.0

    @classmethod
    def quick(cls) -> Plan:
        return cls(warmup_seconds=0.5, me_fixed_seconds=3.0, closed_seconds=2.0, sign_in_fixed_seconds=2.0)


async def _pair_closed(
    server: ServerProcess, ours: Operation, baseline: Operation, plan: Plan
) -> tuple[RunResult, RunResult]:
    results = []
    for operation in (ours, baseline):
        await closed_loop(server.base_url, operation, concurrency=8, seconds=plan.warmup_seconds, server_pid=server.pid)
        results.append(
            await closed_loop(
                server.base_url,
                operation,
                concurrency=plan.concurrency,
                seconds=plan.closed_seconds,
                server_pid=server.pid,
            )
        )
    return results[0], results[1]


async def _pair_fixed(
    server: ServerProcess, ours: Operation, baseline: Operation, *, rate: float, seconds: float, plan: Plan
) -> tuple[RunResult, RunResult]:
    results = []
    for operation in (ours, baseline):
        await closed_loop(server.base_url, operation, concurrency=8, seconds=plan.warmup_seconds, server_pid=server.pid)
        results.append(await fixed_rate(server.base_url, operation, rate=rate, seconds=seconds, server_pid=server.pid))
    return results[0], results[1]


async def _reset_sandbox(base_url: str) -> None:
    async with new_client(base_url) as client:
        response = await client.post("/bare/_bench/reset-sandbox")
        if response.status_code != 204:
            raise BenchFailure(f"sandbox reset failed: HTTP {response.status_code}")


async def _load(server: ServerProcess, settings: Settings, plan: Plan, backend: str) -> None:
    async with new_client(server.base_url, 4) as client:
        # One account for `me`, signed in through the real API; checks that both sides answer the same JSON.
        ours_flow, bare_flow = SignInFlow(bare=False), SignInFlow(bare=True)
        phone = fresh_phone()
        await ours_flow.request_code(client, phone)
        signed = await ours_flow.sign_in(client, phone, await read_code(client, phone))
        token = str(signed["accessToken"])
        phone = fresh_phone()
        await bare_flow.request_code(client, phone)
        bare_signed = await bare_flow.sign_in(client, phone, await read_code(client, phone))
        auth = {**JSON_HEADERS, "authorization": f"Bearer {token}"}
        ours_me = orjson.loads(
            (await client.post("/graphql", content=orjson.dumps({"query": ME_QUERY}), headers=auth)).content
        )["data"]["me"]
        bare_me = orjson.loads((await client.post("/bare/auth/me", content=b"{}", headers=auth)).content)["data"]["me"]
        same_me = ours_me == bare_me
        same_sign_in = set(signed) == set(bare_signed) and set(signed["me"]) == set(bare_signed["me"])
        if not (same_me and same_sign_in):
            print(f"WARNING: responses differ\n  ours {ours_me}\n  bare {bare_me}")

    jwt_benchmark(settings, token, plan.jwt_n)

    # `me` at the target rate, then at saturation.
    me_ours, me_bare = me_operation(token, bare=False), me_operation(token, bare=True)
    fixed_ours, fixed_bare = await _pair_fixed(
        server, me_ours, me_bare, rate=ME_RATE, seconds=plan.me_fixed_seconds, plan=plan
    )
    print_table(
        f"me — fixed rate {ME_RATE:.0f} req/s × {plan.me_fixed_seconds:.0f} s ({backend})",
        [
            Row.of_runs("achieved req/s", fixed_ours, fixed_bare),
            Row.of_runs("req/s per core (1 / CPU per req)", fixed_ours, fixed_bare, headline="per_core"),
        ],
        [
            Target(
                f"p99 ≤ {ME_P99_TARGET_MS:.0f} ms at {ME_RATE:.0f} req/s",
                f"ours p99 {fmt(fixed_ours.p99_ms)} ms",
                fixed_ours.p99_ms <= ME_P99_TARGET_MS and fixed_ours.errors == 0,
            )
        ],
        [
            *run_notes("ours", fixed_ours),
            *run_notes("baseline", fixed_bare),
            "same JSON on both sides: " + ("yes" if same_me else "NO"),
        ],
    )
    closed_ours, closed_bare = await _pair_closed(server, me_ours, me_bare, plan)
    print_table(
        f"me — closed loop, {plan.concurrency} concurrent × {plan.closed_seconds:.0f} s ({backend})",
        [Row.of_runs("throughput req/s", closed_ours, closed_bare)],
        [
            Target(
                "throughput as a ratio of the same-SQL bare baseline",
                f"ratio {fmt(ratio(closed_ours.throughput, closed_bare.throughput))}",
                None,
            )
        ],
        [*run_notes("ours", closed_ours), *run_notes("baseline", closed_bare)],
    )

    # Sign-in: fresh phone per flow; the SMS sandbox is emptied before each side's run.
    def step_row(ours_steps: list[float], bare_steps: list[float]) -> Row:
        o99, b99 = percentile(ours_steps, 0.99) * 1000, percentile(bare_steps, 0.99) * 1000
        return Row(
            "  signInWithSms step alone, p99 ms",
            o99,
            b99,
            p50=pair(percentile(ours_steps, 0.5) * 1000, percentile(bare_steps, 0.5) * 1000, " ms"),
            p99=pair(o99, b99, " ms"),
        )

    async def signin_pair(fixed: bool) -> tuple[RunResult, RunResult, Row]:
        results: list[RunResult] = []
        steps: list[list[float]] = []
        for flow in (SignInFlow(bare=False), SignInFlow(bare=True)):
            await _reset_sandbox(server.base_url)
            await closed_loop(server.base_url, flow, concurrency=8, seconds=plan.warmup_seconds, server_pid=server.pid)
            await _reset_sandbox(server.base_url)
            flow.steps.clear()
            if fixed:
                result = await fixed_rate(
                    server.base_url,
                    flow,
                    rate=plan.sign_in_rate,
                    seconds=plan.sign_in_fixed_seconds,
                    server_pid=server.pid,
                )
            else:
                result = await closed_loop(
                    server.base_url,
                    flow,
                    concurrency=plan.concurrency,
                    seconds=plan.closed_seconds,
                    server_pid=server.pid,
                )
            results.append(result)
            steps.append(list(flow.steps))
        return results[0], results[1], step_row(steps[0], steps[1])

    so, sb, step = await signin_pair(fixed=False)
    print_table(
        f"sign-in flow — closed loop, {plan.concurrency} concurrent × {plan.closed_seconds:.0f} s ({backend})",
        [Row.of_runs("flows/s (CPU/req: per flow)", so, sb), step],
        [
            Target(
                "sign-in throughput and p99 as a ratio of the bare baseline",
                f"throughput ratio {fmt(ratio(so.throughput, sb.throughput))}, "
                f"p99 ratio {fmt(ratio(so.p99_ms, sb.p99_ms))}",
                None,
            )
        ],
        [
            "a flow: requestSmsCode, GET the code from the SMS sandbox, signInWithSms (a new account each time); "
            "the server also serves the SMS sandbox the API calls over loopback",
            *run_notes("ours", so),
            *run_notes("baseline", sb),
        ],
    )
    fo, fb, step = await signin_pair(fixed=True)
    print_table(
        f"sign-in flow — fixed rate {plan.sign_in_rate:.0f} flows/s × {plan.sign_in_fixed_seconds:.0f} s ({backend})",
        [
            Row.of_runs("achieved flows/s", fo, fb),
            Row.of_runs("flows/s per core (1 / CPU per flow)", fo, fb, headline="per_core"),
            step,
        ],
        [
            Target(
                "sign-in p99 as a ratio of the bare baseline",
                f"flow p99 ratio {fmt(ratio(fo.p99_ms, fb.p99_ms))}",
                None,
            )
        ],
        [*run_notes("ours", fo), *run_notes("baseline", fb)],
    )


# =============================================================================================== where time goes


def explain(settings: Settings, backend: str) -> None:
    documents = {"me": ME_QUERY, "requestSmsCode": REQUEST_CODE, "signInWithSms": SIGN_IN}
    probe = probe_validation(settings, documents)
    bucket_ms = probe_rate_limit(settings)
    costs = ", ".join(f"{name} {ms:.2f} ms" for name, ms in probe.cost_ms.items())
    print()
    print("## where ours spends what the baseline does not (in-process probes)")
    line = (
        f"  GraphQL validation: {probe.validations} validations for {probe.executions} executions of "
        f"{len(documents)} repeated documents (ValidationCache hits: {probe.cache_hits})"
    )
    if probe.cache_hits == 0:
        line += " — the cache never hits, so every request pays a full validation"
        if probe.rules_recreated:
            line += f": the rule set differs per request ({', '.join(probe.rules_recreated)} re-created each time)"
    print(line)
    print(f"  one validation with the schema's rules: {costs}")
    print(f"  rate limiting: one token-bucket script per GraphQL request, {bucket_ms:.2f} ms ({backend})")


# =============================================================================================== entry


def _server_env(tmp: Path, port: int) -> tuple[dict[str, str], str]:
    database_url = os.environ.get("APP_DATABASE_URL", "") or f"sqlite://{tmp / 'bench.sqlite3'}"
    redis_url = os.environ.get("APP_REDIS_URL", "")
    base_url = f"http://127.0.0.1:{port}"
    big = "1000000000"
    env = {
        **os.environ,
        "APP_ENV": "test",
        "APP_VAR_DIR": str(tmp / "var"),
        "APP_HOST": "127.0.0.1",
        "APP_PORT": str(port),
        "APP_PUBLIC_BASE_URL": base_url,
        "APP_DATABASE_URL": database_url,
        "APP_REDIS_URL": redis_url,
        "APP_SANDBOX": "true",
        "APP_EMBEDDED_WORKER": "false",
        "APP_LOG_LEVEL": "WARNING",
        "APP_GRAPHQL__RATE_PER_IP_PER_SECOND": big,
        "APP_GRAPHQL__BURST_PER_IP": big,
        "APP_GRAPHQL__RATE_PER_IDENTITY_PER_SECOND": big,
        "APP_GRAPHQL__BURST_PER_IDENTITY": big,
        "APP_AUTH__OTP_PER_PHONE_PER_HOUR": big,
        "APP_AUTH__OTP_PER_IP_PER_HOUR": big,
        # Not 0: send_code stores the resend mark with PX <resend seconds>, and Redis refuses PX 0. Every flow
        # uses a fresh phone, so the resend wait never applies anyway.
        "APP_AUTH__OTP_RESEND_SECONDS": "1",
    }
    scheme = database_url.split(":", 1)[0]
    database = "PostgreSQL" if scheme.startswith(("postgres", "asyncpg", "psycopg")) else scheme
    backend = f"{'SQLite' if database == 'sqlite' else database} + {'Redis' if redis_url else 'fakeredis'}"
    return env, backend


def run(*, quick: bool = False) -> None:
    plan = Plan.quick() if quick else Plan()
    cpus: CpuPlan = plan_cpus()
    pin_self(cpus.client)
    with tempfile.TemporaryDirectory(prefix="zsb-bench-") as raw_tmp:
        tmp = Path(raw_tmp)
        port = free_port()
        env, backend = _server_env(tmp, port)
        with mock.patch.dict(os.environ, env, clear=True):
            settings = Settings()
        print(f"# auth benchmark — {backend}; {cpus.describe()}; uvicorn uvloop/httptools, load generator httpx")
        if "APP_DATABASE_URL" in os.environ or "APP_REDIS_URL" in os.environ:
            print("#   (APP_DATABASE_URL / APP_REDIS_URL taken from the environment; the run adds accounts there)")
        server = ServerProcess(port=port, env=env, log_path=tmp / "server.log", cpu=cpus.server)
        started = time.monotonic()
        with server.running():
            print(
                f"# idle machine before the load: {background_cores():.2f} cores busy elsewhere "
                "(other users of the machine, daemons; an external database when given)"
            )
            runner = asyncio.Runner(loop_factory=uvloop.new_event_loop)
            try:
                runner.run(_load(server, settings, plan, backend))
            finally:
                runner.close()
        log = server.log_tail(20).strip()
        if log:
            print("\n# the server logged (last lines):\n" + "\n".join(f"#   {line}" for line in log.splitlines()))
        explain(settings, backend.split(" + ")[1])
        print(f"\n# auth benchmark done in {time.monotonic() - started:.0f} s")
