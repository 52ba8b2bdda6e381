"""`inboxUpdates` over graphql-transport-ws (§C14): a resident's socket hears of a new inbox item (written by the
real plan job after a producer's event) and of reading it; only residents may subscribe."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from unittest import mock

import arq.worker
from arq.connections import ArqRedis
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from api.lifespan import Services
from notifications import jobs
from notifications.deps import TX_QUEUE
from notifications.inbox import channel_of
from tests.notifications.graphql.support import AUTHOR, data, operator, service
from tests.notifications.graphql.test_service_principal import EMIT, _event
from tests.support.client import Api

PROTOCOL = Subprotocol("graphql-transport-ws")
UPDATES = "subscription { inboxUpdates { itemId unreadCount } }"
MARK_READ = (
    "mutation M($input: MarkReadInput!) { markRead(input: $input) { __typename ... on InboxMarkedRead { marked } } }"
)


def _services(api: Api) -> Services:
    services: Services = api.live.app.state.services
    return services


@asynccontextmanager
async def _socket(api: Api, token: str) -> AsyncIterator[ClientConnection]:
    url = api.live.base_url.replace("http://", "ws://") + "/graphql"
    async with connect(url, subprotocols=[PROTOCOL], open_timeout=10) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}))
        assert (await _receive(ws))["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "u", "type": "subscribe", "payload": {"query": UPDATES}}))
        yield ws


async def _receive(ws: ClientConnection) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), timeout=10))
    return message


async def _listening(api: Api, user_id: str) -> None:
    """A publish before the socket's Redis subscription exists reaches nobody."""
    for _ in range(200):
        [(_, count)] = await _services(api).redis.pubsub_numsub(channel_of(uuid.UUID(user_id)))
        if count == 1:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the socket never subscribed")


async def _skip_redis_info(*_args: object) -> None:
    return None


async def _run_tx_jobs(api: Api) -> None:
    """One burst of the notify:tx worker, as `zsb worker --queue notify:tx` would run the jobs."""
    services = _services(api)
    worker = arq.worker.Worker(
        functions=jobs.FUNCTIONS,
        redis_pool=ArqRedis(connection_pool=services.redis.connection_pool),
        queue_name=TX_QUEUE,
        burst=True,
        ctx={"notifications": services.notification_worker},
        handle_signals=False,
        poll_delay=0,
    )
    with mock.patch.object(arq.worker, "log_redis_info", _skip_redis_info):
        await asyncio.wait_for(worker.main(), timeout=60)
    assert worker.jobs_failed == 0


class TestInboxUpdates:
    async def test_pushes_a_new_item_and_its_reading(self, api: Api) -> None:
        resident = await api.sign_in()
        async with _socket(api, resident.access_token) as ws:
            await _listening(api, resident.person_id)
            emitted = await data(api, EMIT, _event(resident.person_id, str(uuid.uuid4())), await service(api))
            assert emitted["emitNotificationEvent"]["__typename"] == "NotificationEventEmitted"
            await _run_tx_jobs(api)
            arrived = await _receive(ws)
            assert arrived["type"] == "next" and arrived["id"] == "u", arrived
            update = arrived["payload"]["data"]["inboxUpdates"]
            assert update["unreadCount"] == 1 and update["itemId"] is not None
            marked = await data(api, MARK_READ, {"input": {"ids": [update["itemId"]]}}, resident.access_token)
            assert marked["markRead"] == {"__typename": "InboxMarkedRead", "marked": 1}
            read = await _receive(ws)
            assert read["payload"]["data"]["inboxUpdates"] == {"itemId": None, "unreadCount": 0}

    async def test_refuses_an_operator_with_a_forbidden_error(self, api: Api) -> None:
        async with _socket(api, await operator(api, AUTHOR)) as ws:
            refused = await _receive(ws)
        assert refused["type"] == "error", refused
        assert [e["extensions"]["code"] for e in refused["payload"]] == ["FORBIDDEN"]
