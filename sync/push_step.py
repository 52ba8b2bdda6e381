"""One mutation of a push (sync-protocol.md §8.2), in its own transaction serialized on the space.

A permanent error rolls back the mutation's effects (a savepoint) and still commits its REJECTED result, its
quarantine entry and the new LMID. A temporary error rolls everything back and stops the batch. An unexpected
exception is logged, rolled back, and recorded as REJECTED INTERNAL_ERROR in a fresh transaction, so one bad
mutation never wedges the client's queue.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from tortoise.transactions import in_transaction

from api.identity.tokens import AccessClaims
from api.kit.logging import request_id_var
from api.models.sync import Platform, SyncClient, SyncMutationResult, SyncMutationStatus, SyncSpace
from sync import quarantine, stored
from sync.apply import apply
from sync.apply_context import Applied, MutationContext
from sync.contract import MutationIn, MutationResultView, SyncErrorCode, SyncErrorView
from sync.deps import SyncDeps
from sync.push_errors import FORM_VERSION_RETRY_MS, SERVER_BUSY_RETRY_MS, Rejected, Temporary
from sync.push_transient import is_transient
from sync.spaces import serialized
from sync.template_registry import FormVersionUnknown

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Step:
    """Either the mutation's result (processed or replayed) or why the batch stops before it."""

    result: MutationResultView | None = None
    stop: SyncErrorView | None = None
    retry_after_ms: int | None = None
    # The new space version after a commit that changed what a pull returns: only those are poked, so a device
    # never pulls on a poke and finds nothing new (S25).
    committed_version: int | None = None
    last_mutation_id: int | None = None  # the client's LMID as this step left it; None when rolled back


@dataclass(frozen=True)
class Caller:
    deps: SyncDeps
    claims: AccessClaims
    space_id: str
    client_id: uuid.UUID
    platform: Platform


async def run(caller: Caller, m: MutationIn) -> Step:
    try:
        return await _in_transaction(caller, m)
    except FormVersionUnknown as exc:
        return _stopped(Temporary(SyncErrorCode.FORM_VERSION_UNKNOWN, str(exc), FORM_VERSION_RETRY_MS))
    except Temporary as exc:
        return _stopped(exc)
    except Exception as exc:
        if is_transient(exc):
            log.warning("sync push of %s stopped at mutation %s: %s", caller.space_id, m.id, exc)
            return _busy()
        log.exception(
            "sync push: mutation %s of client %s failed unexpectedly (request %s)",
            m.id,
            caller.client_id,
            request_id_var.get(),
        )
    try:
        return await _record_internal_error(caller, m)
    except Exception as exc:
        log.warning("sync push: could not record the failure of mutation %s: %s", m.id, exc)
        return _busy()


def _busy() -> Step:
    return _stopped(Temporary(SyncErrorCode.SERVER_BUSY, "the server is busy; retry shortly", SERVER_BUSY_RETRY_MS))


def _stopped(exc: Temporary) -> Step:
    return Step(stop=exc.view(), retry_after_ms=exc.retry_after_ms)


async def _ordered(caller: Caller, m: MutationIn) -> Step | None:
    """A replay or a gap answers without effects; None when `m` is the next mutation to process."""
    client = await SyncClient.select_for_update().get(client_id=caller.client_id)
    if m.id <= client.last_mutation_id:
        row = await SyncMutationResult.get_or_none(client_id=caller.client_id, mutation_id=m.id)
        result = stored.forgotten(m.id) if row is None else stored.from_json(row.result)
        return Step(result=result, last_mutation_id=client.last_mutation_id)
    if m.id > client.last_mutation_id + 1:
        message = f"mutation {client.last_mutation_id + 1} comes next; send the mutations from there"
        stop = SyncErrorView(SyncErrorCode.OUT_OF_ORDER, message, retryable=True)
        return Step(stop=stop, last_mutation_id=client.last_mutation_id)
    return None


def _context(caller: Caller, m: MutationIn, space: SyncSpace) -> MutationContext:
    return MutationContext(
        deps=caller.deps,
        claims=caller.claims,
        space_id=caller.space_id,
        client_id=caller.client_id,
        platform=caller.platform,
        mutation=m,
        version=space.version + 1,
        now=caller.deps.clock.now(),
    )


async def _in_transaction(caller: Caller, m: MutationIn) -> Step:
    async with serialized(caller.space_id) as space:
        early = await _ordered(caller, m)
        if early is not None:
            return early
        ctx = _context(caller, m, space)
        if caller.deps.fault_hook is not None:
            await caller.deps.fault_hook(m.id)
        try:
            async with in_transaction():  # a savepoint: a rejection keeps none of the mutation's effects
                applied = await apply(ctx)
        except Rejected as rejection:
            return await _record(ctx, space, *await _rejected(ctx, rejection))
        return await _record(ctx, space, _view(m.id, applied), applied.changed)


async def _rejected(ctx: MutationContext, rejection: Rejected) -> tuple[MutationResultView, bool]:
    changed = await quarantine.set_aside(ctx, rejection)
    view = MutationResultView(
        id=ctx.mutation.id,
        status=SyncMutationStatus.REJECTED,
        application_id=rejection.application_id,
        error=rejection.view(),
    )
    return view, changed


def _view(mutation_id: int, applied: Applied) -> MutationResultView:
    return MutationResultView(
        id=mutation_id,
        status=applied.status,
        draft_version=applied.draft_version,
        application_id=applied.application_id,
        conflicts=applied.conflicts,
        reoffered_ops=applied.reoffered_ops,
    )


async def _record(ctx: MutationContext, space: SyncSpace, view: MutationResultView, changed: bool) -> Step:
    """Store the result and advance LMID in the mutation's transaction (P1); the space takes v if anything a pull
    returns changed."""
    version = space.version
    if changed:
        version = ctx.version
        await SyncSpace.filter(space_id=ctx.space_id).update(version=version)
    await SyncMutationResult.create(
        client_id=ctx.client_id,
        mutation_id=ctx.mutation.id,
        status=view.status,
        result=stored.to_json(view),
        space_version=version,
        created_at=ctx.now,
    )
    await SyncClient.filter(client_id=ctx.client_id).update(last_mutation_id=ctx.mutation.id, last_seen_at=ctx.now)
    return Step(result=view, committed_version=version if changed else None, last_mutation_id=ctx.mutation.id)


async def _record_internal_error(caller: Caller, m: MutationIn) -> Step:
    async with serialized(caller.space_id) as space:
        early = await _ordered(caller, m)
        if early is not None:
            return early
        ctx = _context(caller, m, space)
        rejection = Rejected(
            SyncErrorCode.INTERNAL_ERROR, "this change could not be applied; it was set aside for you to review"
        )
        return await _record(ctx, space, *await _rejected(ctx, rejection))
