"""syncPush (sync-protocol.md §8): the request checks once (§8.1), then each mutation in its own serialized
transaction (§8.2, sync/push_step.py), then one poke after the last commit."""

from __future__ import annotations

import uuid

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from api.identity.tokens import AccessClaims
from api.models.sync import SyncClient, SyncMutationResult
from sync import poke
from sync.apply_context import plain_uuid
from sync.contract import MutationResultView, PushPayload, PushRejected, PushRequest, SyncErrorCode
from sync.deps import SyncDeps
from sync.push_checks import check_structure, is_uuid
from sync.push_errors import SERVER_BUSY_RETRY_MS
from sync.push_step import Caller, run
from sync.push_transient import is_transient
from sync.spaces import ensure_space, space_of

PROTOCOL_RETRY_MS = 60_000
MAX_MUTATIONS = 100  # §13


async def push(deps: SyncDeps, claims: AccessClaims, request: PushRequest) -> PushPayload | PushRejected:
    space_id = space_of(claims)
    space = await ensure_space(space_id)
    refusal = _check_request(deps, request)
    if refusal is None:
        try:
            owned = await _own_client(deps, space_id, request)
            if isinstance(owned, SyncClient):
                return await _process(deps, claims, space_id, owned, request, plain_uuid(space.epoch))
        except Exception as exc:
            if not is_transient(exc):
                raise
            owned = (SyncErrorCode.SERVER_BUSY, "the server is busy; retry shortly", None, SERVER_BUSY_RETRY_MS)
        refusal = owned
    code, message, path, retry_after_ms = refusal
    return PushRejected(
        code=code.value,
        message=message,
        server_epoch=plain_uuid(space.epoch),
        path=path,
        retryable=code is SyncErrorCode.SERVER_BUSY,
        retry_after_ms=retry_after_ms,
        client_last_mutation_id=None
        if code is SyncErrorCode.SERVER_BUSY
        else await _own_lmid(space_id, request.client_id),
    )


Refusal = tuple[SyncErrorCode, str, list[str] | None, int | None]


def _check_request(deps: SyncDeps, request: PushRequest) -> Refusal | None:
    if request.protocol_version < deps.min_protocol_version:
        message = "this app is too old for the server; update it (your unsent changes stay on the device)"
        return SyncErrorCode.CLIENT_UPGRADE_REQUIRED, message, ["protocolVersion"], None
    if request.protocol_version > deps.max_protocol_version:
        message = "the server does not speak this protocol version yet; retry later"
        return SyncErrorCode.SERVER_BUSY, message, ["protocolVersion"], PROTOCOL_RETRY_MS
    if len(request.mutations) > MAX_MUTATIONS:
        message = f"at most {MAX_MUTATIONS} mutations per push"
        return SyncErrorCode.PAYLOAD_TOO_LARGE, message, ["mutations"], None
    if not request.mutations:
        return SyncErrorCode.INVALID_BATCH, "a push needs at least one mutation", ["mutations"], None
    broken = check_structure(request)
    if broken is not None:
        return SyncErrorCode.INVALID_BATCH, broken.message, broken.path, None
    return None


async def _own_client(deps: SyncDeps, space_id: str, request: PushRequest) -> SyncClient | Refusal:
    """§8.1 item 4: the client of the caller's space, registered on its first push (mutation 1)."""
    client_id = uuid.UUID(request.client_id)
    client = await SyncClient.get_or_none(client_id=client_id)
    if client is None:
        if request.mutations[0].id != 1:
            message = "this client is unknown here; register a new clientId and send your unacknowledged edits"
            return SyncErrorCode.CLIENT_STATE_NOT_FOUND, message, ["clientId"], None
        try:
            async with in_transaction():
                client = await SyncClient.create(
                    client_id=client_id, space_id=space_id, platform=request.platform, last_seen_at=deps.clock.now()
                )
        except IntegrityError:  # registered by a concurrent first push
            client = await SyncClient.get(client_id=client_id)
    if client.space_id != space_id:
        return SyncErrorCode.CLIENT_NOT_OWNED, "this clientId belongs to another space", ["clientId"], None
    return client


async def _own_lmid(space_id: str, raw_client_id: str) -> int | None:
    if not is_uuid(raw_client_id):
        return None
    try:
        client = await SyncClient.get_or_none(client_id=uuid.UUID(raw_client_id), space_id=space_id)
    except Exception as exc:
        if not is_transient(exc):
            raise
        return None  # the refusal itself still answers
    return None if client is None else client.last_mutation_id


async def _process(
    deps: SyncDeps,
    claims: AccessClaims,
    space_id: str,
    client: SyncClient,
    request: PushRequest,
    epoch: uuid.UUID,
) -> PushPayload:
    if request.ack_results_through is not None:
        through = min(request.ack_results_through, client.last_mutation_id)
        await SyncMutationResult.filter(client_id=client.client_id, mutation_id__lte=through).delete()
    caller = Caller(deps, claims, space_id, client.client_id, request.platform)
    results: list[MutationResultView] = []
    committed: int | None = None
    payload_stop: tuple[int, int | None] | None = None
    stop_reason = None
    lmid: int | None = client.last_mutation_id
    for m in request.mutations:
        step = await run(caller, m)
        lmid = step.last_mutation_id
        if step.committed_version is not None:
            committed = step.committed_version
        if step.result is not None:
            results.append(step.result)
            continue
        stop_reason, payload_stop = step.stop, (m.id, step.retry_after_ms)
        break
    if committed is not None:
        await poke.publish(deps.redis, space_id, committed)
    if lmid is None:  # stopped by a rollback: read what the commits before it left
        lmid = await _lmid_after_stop(client, results)
    return PushPayload(
        last_mutation_id=lmid,
        results=results,
        server_epoch=epoch,
        stopped_at=None if payload_stop is None else payload_stop[0],
        stop_reason=stop_reason,
        retry_after_ms=None if payload_stop is None else payload_stop[1],
    )


async def _lmid_after_stop(client: SyncClient, results: list[MutationResultView]) -> int:
    try:
        return (await SyncClient.get(client_id=client.client_id)).last_mutation_id
    except Exception as exc:
        if not is_transient(exc):
            raise
        # The database is away: every result answered was committed, so LMID is at least the last of them.
        return max([client.last_mutation_id, *(r.id for r in results)])
