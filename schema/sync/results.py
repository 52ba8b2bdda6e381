"""The result unions of sync (sync-protocol.md §6) and the choice of member for a service answer."""

from __future__ import annotations

from typing import Annotated

import strawberry

from schema.scalars import BigIntString
from schema.sync.pull_types import SyncPullPayload, SyncPullRejected
from schema.sync.reads import AcknowledgeQuarantinedOpsError, QuarantinedOpsAcknowledged
from schema.sync.types import SyncPushPayload, SyncPushRejected
from sync import contract

SyncPushResult = Annotated[SyncPushPayload | SyncPushRejected, strawberry.union("SyncPushResult")]
SyncPullResult = Annotated[SyncPullPayload | SyncPullRejected, strawberry.union("SyncPullResult")]
AcknowledgeQuarantinedOpsResult = Annotated[
    QuarantinedOpsAcknowledged | AcknowledgeQuarantinedOpsError, strawberry.union("AcknowledgeQuarantinedOpsResult")
]


def push_result(answer: contract.PushPayload | contract.PushRejected) -> SyncPushPayload | SyncPushRejected:
    if isinstance(answer, contract.PushRejected):
        return SyncPushRejected.of(answer)
    return SyncPushPayload.of(answer)


def pull_result(answer: contract.PullPayload | contract.PullRejected) -> SyncPullPayload | SyncPullRejected:
    if isinstance(answer, contract.PullRejected):
        return SyncPullRejected.of(answer)
    return SyncPullPayload.of(answer)


def acknowledge_result(
    answer: contract.QuarantineAcknowledged | contract.AcknowledgeRejected,
) -> QuarantinedOpsAcknowledged | AcknowledgeQuarantinedOpsError:
    if isinstance(answer, contract.AcknowledgeRejected):
        return AcknowledgeQuarantinedOpsError(code=answer.code, message=answer.message, path=answer.path)
    version = None if answer.draft_version is None else BigIntString(answer.draft_version)
    return QuarantinedOpsAcknowledged(removed=answer.removed, draft_version=version)
