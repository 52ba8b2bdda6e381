"""Sync mutations (sync-protocol.md §6): syncPush and acknowledgeQuarantinedOps, one service call each."""

from __future__ import annotations

from typing import Any

import strawberry
from graphql import VariableNode

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
        request = push_request(input, _sent_mutations(info))
        answer = await push.push(sync_deps(info), require_citizen(info.context.principal), request)
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


def _sent_mutations(info: Info) -> list[Any] | None:
    """The input's `mutations` as the client sent them, when `input` is a variable (as graphql.md §2 asks);
    None for an inline literal, whose values only exist parsed."""
    # Several nodes only when one field is selected twice, and then with the same arguments (validation).
    for argument in info._raw_info.field_nodes[0].arguments or ():
        if argument.name.value == "input" and isinstance(argument.value, VariableNode):
            sent = info.context.sent_variables.get(argument.value.name.value)
            mutations = sent.get("mutations") if isinstance(sent, dict) else None
            return mutations if isinstance(mutations, list) else None
    return None
