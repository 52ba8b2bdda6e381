"""syncPoke over graphql-transport-ws on /graphql (sync-protocol.md §6, S25; graphql.md §1): a device subscribes
for its client and receives its space's version after another device's push has committed; the socket refuses
callers without a valid token, clients of other spaces, other subprotocols and non-subscription operations."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Subprotocol

from api.kit.redis import Redis
from schema import websocket
from sync import poke
from sync.poke_hub import hub_for
from tests.support.client import Api, Session
from tests.sync.test_graphql_push import PUSH, create, edit, push, push_input

PROTOCOL = Subprotocol("graphql-transport-ws")
POKE = "subscription Poke($clientId: ID!) { syncPoke(clientId: $clientId) }"
SIGN_OUT = "mutation S($input: SignOutInput!) { signOut(input: $input) { __typename } }"
PULL = """query Pull($input: SyncPullInput!) { syncPull(input: $input) { __typename
  ... on SyncPullPayload { snapshotVersion drafts { draftId version fields { path value } } } } }"""


def _url(api: Api) -> str:
    return api.live.base_url.replace("http://", "ws://") + "/graphql"


@asynccontextmanager
async def socket(api: Api, init: dict[str, Any] | None) -> AsyncIterator[ClientConnection]:
    async with connect(_url(api), subprotocols=[PROTOCOL], open_timeout=10) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": init or {}}))
        yield ws


async def receive(ws: ClientConnection) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), timeout=10))
    return message


async def close_code(ws: ClientConnection) -> int | None:
    """The code the server closed with, after skipping what it sent before."""
    try:
        while True:
            await asyncio.wait_for(ws.recv(), timeout=10)
    except ConnectionClosed:
        return ws.close_code


async def subscribed(redis: Redis, space_id: str, count: int = 1) -> None:
    """Waits until `count` sockets listen on the space: a poke published before that reaches nobody."""
    for _ in range(200):
        [(_, listening)] = await redis.pubsub_numsub(poke.channel(space_id))
        if listening == count:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{listening} subscribers on {space_id}, expected {count}")


async def listening(api: Api, space_id: str, count: int) -> None:
    hub = hub_for(redis_of(api))
    for _ in range(200):
        if hub.listeners(space_id) == count:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{hub.listeners(space_id)} sockets listen on {space_id}, expected {count}")


async def registered_client(api: Api, session: Session) -> str:
    client = str(uuid.uuid4())
    result = await push(api, session, client, [create(1, str(uuid.uuid4()))])
    assert result["__typename"] == "SyncPushPayload", result
    return client


def redis_of(api: Api) -> Redis:
    redis: Redis = api.live.app.state.services.redis
    return redis


async def test_another_devices_push_pokes_with_the_version_a_pull_then_sees(api: Api) -> None:
    session = await api.sign_in()
    listener, writer = await registered_client(api, session), str(uuid.uuid4())
    async with socket(api, {"Authorization": f"Bearer {session.access_token}"}) as ws:
        assert (await receive(ws))["type"] == "connection_ack"
        await ws.send(
            json.dumps(
                {"id": "p", "type": "subscribe", "payload": {"query": POKE, "variables": {"clientId": listener}}}
            )
        )
        await subscribed(redis_of(api), f"P:{session.person_id}")
        draft = str(uuid.uuid4())
        result = await push(api, session, writer, [create(1, draft), edit(2, draft, "新值")])
        message = await receive(ws)
        assert message["type"] == "next" and message["id"] == "p", message
        version = message["payload"]["data"]["syncPoke"]
        assert version == result["results"][-1]["draftVersion"]  # one poke after the last commit, not one per mutation
        pull = await api.data(PULL, {"input": {"clientId": listener, "protocolVersion": 1}}, session.access_token)
        page = pull["syncPull"]
        assert int(page["snapshotVersion"]) >= int(version)
        assert {"path": "f1", "value": "新值"} in next(d for d in page["drafts"] if d["draftId"] == draft)["fields"]
        await ws.send(json.dumps({"id": "p", "type": "complete"}))
        await subscribed(redis_of(api), f"P:{session.person_id}", 0)


async def test_pokes_follow_direct_publishes_and_the_access_token_field(api: Api) -> None:
    session = await api.sign_in()
    client = await registered_client(api, session)
    space = f"P:{session.person_id}"
    async with socket(api, {"accessToken": session.access_token}) as ws:
        assert (await receive(ws))["type"] == "connection_ack"
        await ws.send(
            json.dumps({"id": "1", "type": "subscribe", "payload": {"query": POKE, "variables": {"clientId": client}}})
        )
        await subscribed(redis_of(api), space)
        for version in (41, 42):
            await poke.publish(redis_of(api), space, version)
            assert (await receive(ws))["payload"]["data"]["syncPoke"] == str(version)
    await subscribed(redis_of(api), space, 0)  # closing the socket ends the Redis subscription


@pytest.mark.parametrize(
    "init", [None, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic abc"}, {"accessToken": 7}]
)
async def test_a_connection_init_without_a_valid_token_is_refused(api: Api, init: dict[str, Any] | None) -> None:
    async with socket(api, init) as ws:
        assert await close_code(ws) == 4403


async def test_a_signed_out_session_is_refused(api: Api) -> None:
    session = await api.sign_in()
    ended = await api.data(SIGN_OUT, {"input": {}}, session.access_token)
    assert ended["signOut"]["__typename"] == "SignedOut"
    async with socket(api, {"Authorization": f"Bearer {session.access_token}"}) as ws:
        assert await close_code(ws) == 4403


async def test_subscribing_before_the_ack_is_unauthorized(api: Api) -> None:
    async with connect(_url(api), subprotocols=[PROTOCOL]) as ws:
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": POKE}}))
        assert await close_code(ws) == 4401


async def test_a_client_of_another_space_or_unknown_gets_the_same_error(api: Api) -> None:
    owner, other = await api.sign_in(), await api.sign_in()
    foreign = await registered_client(api, owner)
    messages = []
    async with socket(api, {"Authorization": f"Bearer {other.access_token}"}) as ws:
        assert (await receive(ws))["type"] == "connection_ack"
        for n, client in enumerate((foreign, str(uuid.uuid4()), "not-a-uuid")):
            await ws.send(
                json.dumps(
                    {"id": str(n), "type": "subscribe", "payload": {"query": POKE, "variables": {"clientId": client}}}
                )
            )
            messages.append(await receive(ws))
    assert {m["type"] for m in messages} == {"error"}, messages
    assert {(m["payload"][0]["message"], m["payload"][0]["extensions"]["code"]) for m in messages} == {
        ("no such client in your space", "NOT_FOUND")
    }
    [(_, listening)] = await redis_of(api).pubsub_numsub(poke.channel(f"P:{owner.person_id}"))
    assert listening == 0


async def test_only_subscriptions_run_over_the_socket(api: Api) -> None:
    session = await api.sign_in()
    async with socket(api, {"Authorization": f"Bearer {session.access_token}"}) as ws:
        assert (await receive(ws))["type"] == "connection_ack"
        mutation = {"query": PUSH, "variables": {"input": push_input(str(uuid.uuid4()), [])}}
        await ws.send(json.dumps({"id": "m", "type": "subscribe", "payload": mutation}))
        refused = await receive(ws)
        assert refused["type"] == "error" and refused["payload"][0]["extensions"]["code"] == "BAD_REQUEST"
        await ws.send(json.dumps({"id": "q", "type": "subscribe", "payload": {"query": "{ __typename }"}}))
        assert (await receive(ws))["type"] == "error"
        await ws.send(json.dumps({"id": "s", "type": "subscribe", "payload": {"query": "subscription {"}}))
        assert await close_code(ws) == 4400  # a syntax error closes the socket, as the protocol says


async def test_malformed_messages_close_the_socket_with_4400(api: Api) -> None:
    session = await api.sign_in()
    for bad in ("[1]", "{nope", json.dumps({"type": "subscribe", "id": "1", "payload": "x"}), "x" * 70_000):
        async with socket(api, {"Authorization": f"Bearer {session.access_token}"}) as ws:
            assert (await receive(ws))["type"] == "connection_ack"
            await ws.send(bad)
            assert await close_code(ws) == 4400, bad


async def test_other_subprotocols_are_refused_at_the_handshake(api: Api) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with connect(_url(api), subprotocols=[Subprotocol("graphql-ws")]):
            pass
    assert refused.value.response.status_code == 403


async def test_the_socket_closes_when_its_access_token_expires(api: Api) -> None:
    session = await api.sign_in()
    tokens = api.live.app.state.services.identity.tokens
    verified = tokens.verify(session.access_token)
    short = tokens.issue(replace(verified, expires_at=api.live.clock.now() + timedelta(seconds=3)))
    async with socket(api, {"Authorization": f"Bearer {short}"}) as ws:
        assert (await receive(ws))["type"] == "connection_ack"
        assert await close_code(ws) == 4401
        assert ws.close_reason == "access token expired"


async def test_signing_out_closes_an_open_socket(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(websocket, "SESSION_CHECK_SECONDS", 0.2)  # the live server runs in this process
    session = await api.sign_in()
    async with socket(api, {"Authorization": f"Bearer {session.access_token}"}) as ws:
        assert (await receive(ws))["type"] == "connection_ack"
        ended = await api.data(SIGN_OUT, {"input": {}}, session.access_token)
        assert ended["signOut"]["__typename"] == "SignedOut"
        assert await close_code(ws) == 4403
        assert ws.close_reason == "this session was signed out"


async def test_the_sockets_of_one_space_share_one_redis_subscription(api: Api) -> None:
    session = await api.sign_in()
    first, second = await registered_client(api, session), await registered_client(api, session)
    space = f"P:{session.person_id}"
    token = {"Authorization": f"Bearer {session.access_token}"}
    async with socket(api, token) as one, socket(api, token) as two:
        for ws, client in ((one, first), (two, second)):
            assert (await receive(ws))["type"] == "connection_ack"
            payload = {"query": POKE, "variables": {"clientId": client}}
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        await listening(api, space, 2)
        await subscribed(redis_of(api), space)  # one channel subscription serves both sockets
        await poke.publish(redis_of(api), space, 7)
        assert [(await receive(ws))["payload"]["data"]["syncPoke"] for ws in (one, two)] == ["7", "7"]
        await one.send(json.dumps({"id": "1", "type": "complete"}))
        await listening(api, space, 1)
        await subscribed(redis_of(api), space)  # the other socket still listens
        await poke.publish(redis_of(api), space, 8)
        assert (await receive(two))["payload"]["data"]["syncPoke"] == "8"
    await subscribed(redis_of(api), space, 0)


async def test_a_push_that_changes_nothing_pokes_nobody(api: Api) -> None:
    """A poke means "pull, there is something new" (S25): NOOPs, replays and rejections without a visible change
    publish nothing, the next real change does."""
    session = await api.sign_in()
    writer, draft = str(uuid.uuid4()), str(uuid.uuid4())
    await push(api, session, writer, [create(1, draft), edit(2, draft, "同值")])
    pubsub = redis_of(api).pubsub()
    await pubsub.subscribe(poke.channel(f"P:{session.person_id}"))
    try:
        assert (await pubsub.get_message(timeout=1.0) or {}).get("type") == "subscribe"
        same = await push(api, session, writer, [edit(3, draft, "同值", "同值"), edit(4, draft, "同值", "同值")])
        assert [r["status"] for r in same["results"]] == ["NOOP", "NOOP"], same
        assert await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.5) is None
        changed = await push(api, session, writer, [edit(5, draft, "新值", "同值")])
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=5.0)
        assert message is not None and int(message["data"]) == int(changed["results"][0]["draftVersion"])
    finally:
        await pubsub.aclose()  # type: ignore[no-untyped-call]
