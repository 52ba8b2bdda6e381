"""S22, S24 and S25 (sync-protocol.md §14): ownership across persons, resumable uploads over the chunk routes,
and the poke that follows a commit."""

from __future__ import annotations

import asyncio
import hashlib
import json
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from api.kit.redis import Redis
from api.models.sync import Draft, SyncQuarantine, SyncSpace
from sync import poke
from sync.merge import NULL_HASH
from tests.support.client import Api, Session
from tests.support.sync_device import uuid7
from tests.support.sync_invariants import check_invariants, field_map
from tests.sync.conformance.conftest import OpenDevice
from tests.sync.conformance.support import SyncItem, error_code, lmid, seeded_draft
from tests.sync.conformance.uploads import (
    MIB,
    chunk,
    complete_upload,
    create_upload,
    photo,
    read_upload,
    reference,
    send_chunk,
    send_chunks,
)


async def space_version(space_id: str) -> int:
    space = await SyncSpace.get_or_none(space_id=space_id)
    return 0 if space is None else int(space.version)


async def test_s22_ownership(sync_item: SyncItem, api: Api, open_device: OpenDevice) -> None:
    u, v = await api.sign_in(), await api.sign_in()
    du, dv = await open_device(u), await open_device(v)
    u_draft = await seeded_draft(sync_item, du, {"f1": "U 的草稿"})
    v_draft = await seeded_draft(sync_item, dv, {"f1": "V 的草稿"})
    before = (await space_version(du.space_id), await space_version(dv.space_id), await lmid(du))

    impostor = await open_device(v)
    impostor.client_id = du.client_id
    op = {"path": "f1", "kind": "SET", "value": "冒用", "baseHash": NULL_HASH}
    edit = {"draftId": u_draft, "type": "EDIT", "formVersion": sync_item.form_version, "ops": [op]}
    refused = await impostor.push_raw([{"id": before[2] + 1, **edit}])
    assert refused["__typename"] == "SyncPushRejected", refused
    assert refused["code"] == "CLIENT_NOT_OWNED" and refused["clientLastMutationId"] is None
    assert (await space_version(du.space_id), await space_version(dv.space_id), await lmid(du)) == before
    assert await field_map(u_draft) == {"f1": "U 的草稿"}

    foreign = du.enqueue(v_draft, "EDIT", sync_item.form_version, ops=[{**op, "value": "越权"}])
    missing = du.enqueue(uuid7(), "EDIT", sync_item.form_version, ops=[{**op, "value": "无"}])
    answer = await du.push()
    assert error_code(answer, foreign) == error_code(answer, missing) == "NOT_OWNER"
    messages = {r["id"]: r["error"]["message"] for r in answer["results"]}
    assert messages[foreign] == messages[missing]
    assert await field_map(v_draft) == {"f1": "V 的草稿"}
    assert await space_version(dv.space_id) == before[1]

    # Reads of another person's draft show nothing, and its quarantine cannot be acknowledged from outside.
    [entry] = await SyncQuarantine.filter(client_id=du.client_id, mutation_id=foreign)
    assert entry.space_id == du.space_id  # quarantined in the caller's own space, never in V's
    assert await dv.quarantined(v_draft) == [] and await du.quarantined(v_draft) == []
    assert await dv.history(u_draft) == [] and await dv.quarantined(u_draft) == []
    refused_ack = await dv.acknowledge(u_draft, [str(entry.id)])
    assert (refused_ack["__typename"], refused_ack["code"]) == ("AcknowledgeQuarantinedOpsError", "NOT_FOUND")
    assert await SyncQuarantine.exists(id=entry.id)

    # An unknown client whose first mutation is not 1 is a lost or forged client state.
    stranger = await open_device(v)
    lost = await stranger.push_raw([{"id": 7, **edit, "draftId": v_draft}])
    assert lost["__typename"] == "SyncPushRejected" and lost["code"] == "CLIENT_STATE_NOT_FOUND", lost
    assert await field_map(v_draft) == {"f1": "V 的草稿"}

    pulled = await impostor.pull_page(None)
    assert pulled == {
        "__typename": "SyncPullRejected",
        "code": "CLIENT_NOT_OWNED",
        "message": pulled["message"],
        "path": pulled["path"],
        "retryAfterMs": pulled["retryAfterMs"],
    }
    await check_invariants(du, dv)


@pytest.mark.parametrize("via", ["put", "post"])
async def test_s24_resumable_upload(sync_item: SyncItem, person: Session, open_device: OpenDevice, via: str) -> None:
    d1 = await open_device(person)
    draft_id = await seeded_draft(sync_item, d1, {"f1": "a"})
    data = photo(12 * MIB)
    upload = await create_upload(d1, data)
    assert upload["__typename"] == "Upload" and upload["chunkSize"] == MIB, upload
    assert (upload["status"], upload["receivedChunks"]) == ("PENDING", [])
    assert str(upload["expiresAt"]).endswith("+08:00")

    async with httpx.AsyncClient(base_url=d1.api.live.base_url, timeout=60.0) as dropped:
        for index in range(6):
            response = await send_chunk(dropped, d1, upload["id"], index, chunk(data, index), via)
            assert response.status_code == 201, response.text
    found = await read_upload(d1, upload["id"])
    assert found is not None and (found["status"], found["receivedChunks"]) == ("PENDING", [0, 1, 2, 3, 4, 5])

    same = await send_chunk(d1.api.http, d1, upload["id"], 5, chunk(data, 5), via)
    assert same.status_code == 200, same.text
    assert same.json()["receivedChunks"] == [0, 1, 2, 3, 4, 5]
    different = await send_chunk(d1.api.http, d1, upload["id"], 5, photo(MIB), via)
    assert different.status_code == 409, different.text
    await send_chunks(d1, upload["id"], data, range(6, 12), via)
    done = await complete_upload(d1, upload["id"])
    assert done["__typename"] == "Upload" and done["status"] == "COMPLETE", done

    other = photo(2 * MIB + 9)
    declared = await create_upload(d1, other, sha256=hashlib.sha256(b"another file").hexdigest())
    await send_chunks(d1, declared["id"], other, range(3), via)
    mismatch = await complete_upload(d1, declared["id"])
    assert mismatch["__typename"] == "CompleteUploadError" and mismatch["code"] == "CHECKSUM_MISMATCH", mismatch
    assert mismatch["upload"]["status"] != "COMPLETE"
    still = await read_upload(d1, declared["id"])
    assert still is not None and still["status"] == "PENDING"

    again = await create_upload(d1, data)
    assert again["__typename"] == "Upload" and again["status"] == "COMPLETE", again

    d1.set(draft_id, "photo", reference(data))
    await d1.push()
    await d1.pull()
    assert d1.base[draft_id].attachments == [
        {"path": "photo", "blobSha256": hashlib.sha256(data).hexdigest(), "status": "COMPLETE"}
    ]
    await check_invariants(d1)


PROTOCOL = Subprotocol("graphql-transport-ws")
POKE = "subscription Poke($clientId: ID!) { syncPoke(clientId: $clientId) }"


async def receive(ws: ClientConnection) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), timeout=10))
    return message


async def listening(redis: Redis, space_id: str) -> None:
    """A poke published before the subscription reaches Redis would reach nobody: wait for it."""
    for _ in range(250):
        [(_, count)] = await redis.pubsub_numsub(poke.channel(space_id))
        if count >= 1:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the subscription never reached Redis")


async def test_s25_poke_ordering(sync_item: SyncItem, person: Session, open_device: OpenDevice) -> None:
    d1, d2 = await open_device(person, "APP_IOS"), await open_device(person, "WECHAT_MP")
    draft_id = await seeded_draft(sync_item, d1, {"f1": "a"}, d2)
    url = d1.api.live.base_url.replace("http://", "ws://") + "/graphql"
    async with connect(url, subprotocols=[PROTOCOL], open_timeout=10) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {d1.token}"}}))
        assert (await receive(ws))["type"] == "connection_ack"
        subscribe = {"query": POKE, "variables": {"clientId": d1.client_id}}
        await ws.send(json.dumps({"id": "poke", "type": "subscribe", "payload": subscribe}))
        await listening(d1.api.live.app.state.services.redis, d1.space_id)
        for value in ("一", "二", "三"):
            d2.set(draft_id, "f2", value)
            pushing = asyncio.create_task(d2.push())
            message = await receive(ws)
            assert (message["type"], message["id"]) == ("next", "poke"), message
            version = int(message["payload"]["data"]["syncPoke"])
            # The poke follows the commit: the change is in the database and a pull started now sees it.
            assert (await Draft.get(id=draft_id)).version >= version
            pulled = await d1.pull()
            assert pulled.snapshot_version >= version
            change = pulled.draft(draft_id)
            assert change is not None, "a poke, then a pull without the change"
            assert d1.base[draft_id].fields["f2"] == value
            answer = await pushing
            assert answer["__typename"] == "SyncPushPayload" and answer["results"][-1]["status"] == "APPLIED"
        await ws.send(json.dumps({"id": "poke", "type": "complete"}))
    await check_invariants(d1, d2)
