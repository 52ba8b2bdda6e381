"""The GraphQL documents a sync device sends (sync-protocol.md §6), every field of each answer selected."""

from __future__ import annotations

PROTOCOL_VERSION = 1

CONFLICT = """fragment Conflict on FieldConflict { id path serverValue serverHash openedVersion
  candidates { clientId platform value valueHash clientTime } }"""
QUARANTINED = "fragment QOp on QuarantinedOp { id clientId mutationId draftId reason message mutation createdAt }"
PUSH = (
    """mutation Push($input: SyncPushInput!) { syncPush(input: $input) { __typename
  ... on SyncPushPayload { lastMutationId stoppedAt retryAfterMs serverEpoch
    stopReason { code message paths retryable }
    results { id status draftVersion applicationId replayed conflicts { ...Conflict } reofferedOps { ...QOp }
      error { code message paths retryable } } }
  ... on SyncPushRejected { code message path retryable retryAfterMs serverEpoch clientLastMutationId } } }
"""
    + CONFLICT
    + "\n"
    + QUARANTINED
)
PULL = (
    """query Pull($input: SyncPullInput!) { syncPull(input: $input) { __typename
  ... on SyncPullPayload { cursor hasMore reset snapshotVersion serverEpoch clients { clientId lastMutationId }
    drafts { draftId status serviceCode formVersion full requiredFormVersion version contentHash
      fields { path value hash version } removedPaths openConflicts { ...Conflict }
      attachments { path blobSha256 status } quarantinedOps applicationId restorableUntil } }
  ... on SyncPullRejected { code message path retryAfterMs } } }
"""
    + CONFLICT
)
HISTORY = """query History($draftId: ID!, $after: String) { draftHistory(draftId: $draftId, first: 100, after: $after) {
  edges { cursor node { path value valueHash version clientId mutationId at } }
  pageInfo { hasNextPage endCursor } } }"""
QUARANTINE = (
    """query Quarantine($draftId: ID!, $after: String) {
  quarantinedOps(draftId: $draftId, first: 50, after: $after) {
    edges { cursor node { ...QOp } } pageInfo { hasNextPage endCursor } } }
"""
    + QUARANTINED
)
ACKNOWLEDGE = """mutation Ack($input: AcknowledgeQuarantinedOpsInput!) { acknowledgeQuarantinedOps(input: $input) {
  __typename ... on QuarantinedOpsAcknowledged { removed draftVersion }
  ... on AcknowledgeQuarantinedOpsError { code message path } } }"""
