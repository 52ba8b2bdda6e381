"""The conformance harness of notifications (notifications.md §4): one `World` per test.

A world drives the real workers of the live test server (`live.app.state.services`): the scheduler tick and arq
burst workers on `notify:tx` and `notify:campaign`, with the notifications clock (a `SettableClock`) set to the
scenario's moment. People act through GraphQL over HTTP, each resident with a client of their own (own IP, own
rate-limit buckets); sandboxes are read through their HTTP control URLs and filtered by the test's own tokens,
openids and phones, never by global counts. Rows are only read, never written.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import random
import secrets
import time as wallclock
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from unittest import mock

import arq.worker
import pyotp
from arq.connections import ArqRedis

from api.models import Delivery, DeliveryAttempt, InboxItem, Operator, StatBucket
from api.seed.operators import DEMO_PASSWORD, SERVICE_NAME, SERVICE_SECRET, demo_totp_secret
from tests.support.client import Api, LiveServer

TX_QUEUE = "notify:tx"
CAMPAIGN_QUEUE = "notify:campaign"
QUEUES = (TX_QUEUE, CAMPAIGN_QUEUE)

# 1709xxxx…: far above the counter of fresh_phone() (which starts below 5,000,000), so a world's residents share a
# phone prefix nobody else's residents have, and a segment on that prefix targets exactly them.
_prefixes = itertools.count(random.randrange(0, 9_000))
_tokens = itertools.count(random.randrange(1, 10**9))

OPERATOR_SIGN_IN = """
mutation O($input: OperatorSignInInput!) {
  operatorSignIn(input: $input) { __typename ... on OperatorAuthPayload { accessToken } ... on Error { code } }
}
"""
SERVICE_SIGN_IN = """
mutation S($input: SignInServiceInput!) {
  signInService(input: $input) { __typename ... on ServiceAuthPayload { accessToken } ... on Error { code message } }
}
"""
SIGN_IN_WECHAT = """
mutation W($input: SignInWithWechatInput!) {
  signInWithWechat(input: $input) { __typename ... on AuthPayload { accessToken me { id } } ... on Error { code } }
}
"""
SIGN_IN_ALIPAY = """
mutation A($input: SignInWithAlipayInput!) {
  signInWithAlipay(input: $input) { __typename ... on AuthPayload { accessToken me { id } } ... on Error { code } }
}
"""
SERVICE_PRINCIPAL = (SERVICE_NAME, SERVICE_SECRET)


def apns_token() -> str:
    """A valid-looking APNs token (64 hex) no other test uses."""
    return secrets.token_hex(32)


def special_token(kind: str) -> str:
    """A sandbox convention token (`gone…`, `bad…`, `busy…`, `slow…`, `flaky…`) unique to this test."""
    return f"{kind}{next(_tokens):010d}{secrets.token_hex(4)}"


@dataclass
class Resident:
    api: Api
    phone: str
    token: str  # access token
    user_id: str

    async def gql(self, document: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        return await self.api.data(document, variables, self.token)


@dataclass
class WorkerPass:
    ticks: int = 0
    jobs: int = 0


# Operator access tokens by username, with the moment they were minted: a TOTP step is single-use per operator,
# so each operator signs in once per quarter of an hour rather than once per test (and never moves the clock).
_operator_tokens: dict[tuple[int, str], tuple[str, float]] = {}


@dataclass
class World:
    live: LiveServer
    api: Api
    stack: AsyncExitStack
    prefix: str = field(default_factory=lambda: f"1709{next(_prefixes) % 10_000:04d}")
    _residents: Iterator[int] = field(default_factory=lambda: itertools.count(0))

    # ---- services of the live server -------------------------------------------------------------------
    @property
    def services(self) -> Any:
        return self.live.app.state.services

    @property
    def deps(self) -> Any:
        """The API-side NotificationsDeps."""
        return self.services.notifications

    @property
    def worker_deps(self) -> Any:
        """The worker-side NotificationsDeps (adapters pointed at the sandboxes); same clock as `deps`."""
        return self.services.notification_worker

    @property
    def clock(self) -> Any:
        return self.worker_deps.clock

    def at(self, moment: datetime) -> None:
        self.clock.set(moment)
        if self.deps.clock is not self.clock:
            self.deps.clock.set(moment)

    def advance(self, delta: timedelta) -> None:
        self.at(self.clock.now() + delta)

    def now(self) -> datetime:
        now: datetime = self.clock.now()
        return now

    @contextmanager
    def policy(self, **changes: Any) -> Iterator[None]:
        """Worker and API settings with `changes` (e.g. retry_base_s=1) for the block, then restored."""
        targets = [self.worker_deps] + ([self.deps] if self.deps is not self.worker_deps else [])
        before = [target.settings for target in targets]
        for target in targets:
            target.settings = target.settings.model_copy(update=changes)
        try:
            yield
        finally:
            for target, settings in zip(targets, before, strict=True):
                target.settings = settings

    # ---- the workers -------------------------------------------------------------------------------------
    async def tick(self) -> Any:
        from notifications import scheduler

        return await scheduler.tick(self.worker_deps)

    async def burst(self, queues: Sequence[str] = QUEUES) -> int:
        """One burst run of the arq workers of each queue (in turn); returns how much work their jobs did (the sum
        of what the job functions return: events relayed, requests planned, deliveries sent or settled …)."""
        from notifications import jobs

        pool = ArqRedis(connection_pool=self.services.redis.connection_pool)
        work: list[int] = []
        functions = [dataclasses.replace(f, coroutine=_counting(f.coroutine, work)) for f in jobs.FUNCTIONS]
        for queue in queues:
            worker = arq.worker.Worker(
                functions=functions,
                redis_pool=pool,
                queue_name=queue,
                burst=True,
                ctx={"notifications": self.worker_deps},
                handle_signals=False,
                poll_delay=0,
                max_tries=5,
            )
            # fakeredis has no INFO, which arq calls only to log the server version (as api/worker.py does).
            with mock.patch.object(arq.worker, "log_redis_info", _skip_redis_info):
                await asyncio.wait_for(worker.main(), timeout=120)
            assert worker.jobs_failed == 0, f"{worker.jobs_failed} notification jobs failed on {queue}"
        return sum(work)

    async def run_until_idle(self, max_passes: int = 40) -> WorkerPass:
        """Scheduler tick, then burst workers of both queues, until a pass does no work."""
        done = WorkerPass()
        for _ in range(max_passes):
            await self.tick()
            done.ticks += 1
            work = await self.burst()
            done.jobs += work
            if work == 0:
                return done
        raise AssertionError(f"the notification workers were still busy after {max_passes} passes")

    # ---- people --------------------------------------------------------------------------------------------
    def phone(self) -> str:
        return f"{self.prefix}{next(self._residents):03d}"

    def segment(self) -> dict[str, Any]:
        """A segment DSL matching exactly this world's residents (phones under the world's prefix)."""
        return {"field": "resident.mobile", "op": "prefix", "value": self.prefix}

    async def client(self) -> Api:
        return await self.stack.enter_async_context(Api.connect(self.live))

    async def resident(self, phone: str | None = None) -> Resident:
        """A fresh resident signed in by SMS, with a client (and IP) of their own."""
        api = await self.client()
        session = await api.sign_in(phone or self.phone())
        return Resident(api, session.phone, session.access_token, session.person_id)

    async def wechat_resident(self, openid: str) -> Resident:
        """A resident who signed in with the WeChat mini-program only (an openid binding, no phone)."""
        api = await self.client()
        minted = await api.http.post("/sandbox/wechat/codes", json={"openid": openid})
        assert minted.status_code == 200, minted.text
        result = (await api.data(SIGN_IN_WECHAT, {"input": {"code": minted.json()["code"]}}))["signInWithWechat"]
        assert result["__typename"] == "AuthPayload", result
        return Resident(api, "", result["accessToken"], result["me"]["id"])

    async def alipay_resident(self, alipay_user_id: str) -> Resident:
        """A resident who signed in with the Alipay mini-program only (a 2088… user id binding, no phone)."""
        api = await self.client()
        minted = await api.http.post("/sandbox/alipay/auth-codes", json={"userId": alipay_user_id})
        assert minted.status_code == 200, minted.text
        variables = {"input": {"authCode": minted.json()["authCode"]}}
        result = (await api.data(SIGN_IN_ALIPAY, variables))["signInWithAlipay"]
        assert result["__typename"] == "AuthPayload", result
        return Resident(api, "", result["accessToken"], result["me"]["id"])

    async def wechat_event(self, kind: str, openid: str, template_id: str, status: str = "accept") -> None:
        """The WeChat sandbox posts a signed subscribe-message event to our message-push URL."""
        body = {"kind": kind, "openid": openid, "templateId": template_id, "status": status}
        response = await self.api.http.post("/sandbox/wechat/_control/event", json=body)
        assert response.status_code == 200, response.text
        assert response.json()["status"] == 200, response.json()

    async def alipay_subscription(self, user_id: str, template_id: str, action: str, kind: str) -> None:
        """The Alipay sandbox posts a signed subscription change to our Alipay messages endpoint."""
        from notifications.sandbox.alipay_messages import post_subscription_event

        gateway = self.services.notifications_sandbox.hub.alipay
        url = f"{self.live.base_url}/notify/alipay/messages"
        app_id = self.live.settings.alipay.app_id
        response = await post_subscription_event(
            gateway, url, user_id, template_id, action, kind, self.api.http, app_id=app_id
        )
        assert response.status_code == 200 and response.text == "success", response.text

    async def script(self, sandbox: str, match: dict[str, Any], action: dict[str, Any], times: int = 1) -> None:
        body = {"match": match, "action": action, "times": times}
        response = await self.api.http.post(f"/sandbox/{sandbox}/_control/script", json=body)
        assert response.status_code == 201, response.text

    async def operator(self, username: str) -> str:
        key = (id(self.live), username)
        cached = _operator_tokens.get(key)
        if cached is not None and wallclock.monotonic() - cached[1] < 600:
            return cached[0]
        token = await operator_sign_in(self.api, username)
        _operator_tokens[key] = (token, wallclock.monotonic())
        return token

    async def service(self) -> str:
        key = (id(self.live), "service:" + SERVICE_PRINCIPAL[0])
        cached = _operator_tokens.get(key)
        if cached is not None and wallclock.monotonic() - cached[1] < 600:
            return cached[0]
        name, secret = SERVICE_PRINCIPAL
        result = (await self.api.data(SERVICE_SIGN_IN, {"input": {"name": name, "secret": secret}}))["signInService"]
        assert result["__typename"] == "ServiceAuthPayload", result
        token: str = result["accessToken"]
        _operator_tokens[key] = (token, wallclock.monotonic())
        return token

    # ---- sandboxes (over their HTTP control URLs) ---------------------------------------------------------
    async def _log(self, sandbox: str) -> list[dict[str, Any]]:
        response = await self.api.http.get(f"/sandbox/{sandbox}/_control/requests")
        assert response.status_code == 200, response.text
        rows: list[dict[str, Any]] = response.json()
        return rows

    async def apns_requests(self, token: str) -> list[dict[str, Any]]:
        response = await self.api.http.get("/sandbox/apns/_control/requests", params={"token": token})
        assert response.status_code == 200, response.text
        rows: list[dict[str, Any]] = response.json()
        return [r for r in rows if r.get("token") == token]

    async def apns_script(self, token: str, sequence: list[Any]) -> None:
        body = {"token": token, "sequence": sequence}
        response = await self.api.http.post("/sandbox/apns/_control/script", json=body)
        assert response.status_code in (200, 201), response.text

    async def huawei_requests(self, token: str) -> list[dict[str, Any]]:
        rows = await self._log("huawei")
        return [r for r in rows if r["path"].endswith(":send") and token in _huawei_tokens(r)]

    async def wechat_sends(self, openid: str) -> list[dict[str, Any]]:
        rows = await self._log("wechat")
        return [
            r for r in rows if r["path"].endswith("/subscribe/send") and (r.get("body") or {}).get("touser") == openid
        ]

    async def alipay_sends(self, user_id: str) -> list[dict[str, Any]]:
        rows = await self._log("alipay")
        return [r for r in rows if _alipay_send_to(r) == user_id]

    async def sms_sent(self, phone: str) -> list[dict[str, Any]]:
        return await self.api.sms_messages(phone)

    # ---- rows, read only ------------------------------------------------------------------------------------
    async def deliveries(self, user_id: str, **filters: Any) -> list[Delivery]:
        return await Delivery.filter(recipient_user_id=uuid.UUID(user_id), **filters).order_by("created_at", "channel")

    async def attempts(self, delivery_id: uuid.UUID) -> list[DeliveryAttempt]:
        return await DeliveryAttempt.filter(delivery_id=delivery_id, late=False).order_by("attempt_no")

    async def inbox(self, user_id: str) -> list[InboxItem]:
        return await InboxItem.filter(user_id=uuid.UUID(user_id)).order_by("created_at")

    async def stat(self, scope: str, metric: str, channel: str | None = None) -> int:
        rows = StatBucket.filter(scope=scope, metric=metric)
        if channel is not None:
            rows = rows.filter(channel=channel)
        return sum(row.count for row in await rows)


def _huawei_tokens(recorded: dict[str, Any]) -> list[str]:
    body = recorded.get("body") or {}
    message = body.get("message") or {} if isinstance(body, dict) else {}
    tokens = message.get("token") or []
    return list(tokens) if isinstance(tokens, list) else [tokens]


def _alipay_send_to(recorded: dict[str, Any]) -> str | None:
    import json

    body = recorded.get("body") or {}
    fields = {**(recorded.get("query") or {}), **(body if isinstance(body, dict) else {})}
    if fields.get("method") != "alipay.open.app.mini.templatemessage.send":
        return None
    biz = fields.get("biz_content") or {}
    if isinstance(biz, str):  # the sandbox records it parsed when it is JSON
        try:
            biz = json.loads(biz)
        except ValueError:
            return None
    target = biz.get("to_user_id") or biz.get("to_open_id")
    return str(target) if target else None


def _counting(job: Any, work: list[int]) -> Any:
    async def counted(ctx: dict[str, Any], *args: Any) -> Any:
        result = await job(ctx, *args)
        if isinstance(result, bool) or not isinstance(result, int | dict):
            work.append(1 if result else 0)
        elif isinstance(result, dict):
            work.append(sum(v for v in result.values() if isinstance(v, int)))
        else:
            work.append(result)
        return result

    counted.__qualname__ = counted.__name__ = getattr(job, "__name__", "job")
    return counted


async def _skip_redis_info(*_args: object) -> None:
    return None


async def operator_sign_in(api: Api, username: str) -> str:
    """Password + TOTP with a step the operator has not used yet (waiting for the next step if both the current
    and the next one are spent); the shared clock is never moved."""
    secret = demo_totp_secret(username)
    for _ in range(3):
        now = api.live.clock.now().timestamp()
        last = (await Operator.get(username=username)).last_totp_step or 0
        current = int(now // 30)
        step = next((s for s in (current, current + 1) if s > last), None)
        if step is None:
            await asyncio.sleep(30 - now % 30 + 0.5)
            continue
        code = pyotp.TOTP(secret).at(step * 30)
        variables = {"input": {"username": username, "password": DEMO_PASSWORD, "totpCode": code}}
        result = (await api.data(OPERATOR_SIGN_IN, variables))["operatorSignIn"]
        if result["__typename"] == "OperatorAuthPayload":
            token: str = result["accessToken"]
            return token
    raise AssertionError(f"operator {username} could not sign in")


@asynccontextmanager
async def world_of(live: LiveServer, api: Api) -> AsyncIterator[World]:
    async with AsyncExitStack() as stack:
        world = World(live, api, stack)
        try:
            yield world
        finally:
            world.clock.release()
            if world.deps.clock is not world.clock:
                world.deps.clock.release()
