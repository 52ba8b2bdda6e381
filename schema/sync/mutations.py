"""Sync mutations (sync-protocol.md §6): syncPush and acknowledgeQuarantinedOps, one service call each."""

from __future__ import annotations

import strawberry

from api.identity.principal import require_citizen
from schema.access import CitizenOnly
from schema.context import Info
from schema.sync.deps import sync_deps
from schema.sync.inputs import AcknowledgeQuarantinedOpsInput, SyncPushInput, push_request
from schema.sync.results import (
    AcknowledgeQuarantinedOpsResult,
    SyncPushResult,
    acknowledge_result,
    push_result,
)
from sync import push, reads


@strawberry.type
class SyncMutation:
    @strawberry.mutation(
        permission_classes=[CitizenOnly],
        description="Sends your device's queued mutations; each is processed exactly once, in id order.",
    )
    async def sync_push(self, info: Info, input: SyncPushInput) -> SyncPushResult:
        answer = await push.push(sync_deps(info), require_citizen(info.context.principal), push_request(input))
        return push_result(answer)

    @strawberry.mutation(
        permission_classes=[CitizenOnly],
        description="Removes a draft's quarantine entries the user has seen; ids not of that draft are ignored.",
    )
    async def acknowledge_quarantined_ops(
        self, info: Info, input: AcknowledgeQuarantinedOpsInput
    ) -> AcknowledgeQuarantinedOpsResult:
        answer = await reads.acknowledge_quarantined_ops(
            sync_deps(info),
            require_citizen(info.context.principal),
            str(input.draft_id),
            [str(i) for i in input.ids],
        )
        return acknowledge_result(answer)
