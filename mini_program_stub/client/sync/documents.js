// The GraphQL documents of the sync engine (schema/schema.graphql; the same selections as the Python model client
// in tests/support/sync_documents.py, which the server's tests validate against the schema).

export const PROTOCOL_VERSION = 1;

const CONFLICT = `fragment Conflict on FieldConflict { id path serverValue serverHash openedVersion
  candidates { clientId platform value valueHash clientTime } }`;
const QUARANTINED = 'fragment QOp on QuarantinedOp { id clientId mutationId draftId reason message mutation createdAt }';

export const PUSH = `mutation SyncPush($input: SyncPushInput!) { syncPush(input: $input) { __typename
  ... on SyncPushPayload { lastMutationId stoppedAt retryAfterMs serverEpoch
    stopReason { code message paths retryable }
    results { id status draftVersion applicationId replayed conflicts { ...Conflict } reofferedOps { ...QOp }
      error { code message paths retryable } } }
  ... on SyncPushRejected { code message path retryable retryAfterMs serverEpoch clientLastMutationId } } }
${CONFLICT}
${QUARANTINED}`;

export const PULL = `query SyncPull($input: SyncPullInput!) { syncPull(input: $input) { __typename
  ... on SyncPullPayload { cursor hasMore reset snapshotVersion serverEpoch clients { clientId lastMutationId }
    drafts { draftId status serviceCode formVersion full requiredFormVersion version contentHash
      fields { path value hash version } removedPaths openConflicts { ...Conflict }
      attachments { path blobSha256 status } quarantinedOps applicationId restorableUntil } }
  ... on SyncPullRejected { code message path retryAfterMs } } }
${CONFLICT}`;

export const QUARANTINE = `query SyncQuarantine($draftId: ID!, $after: String) {
  quarantinedOps(draftId: $draftId, first: 50, after: $after) {
    edges { cursor node { ...QOp } } pageInfo { hasNextPage endCursor } } }
${QUARANTINED}`;

export const ACKNOWLEDGE = `mutation SyncAcknowledgeQuarantine($input: AcknowledgeQuarantinedOpsInput!) {
  acknowledgeQuarantinedOps(input: $input) { __typename
    ... on QuarantinedOpsAcknowledged { removed draftVersion }
    ... on AcknowledgeQuarantinedOpsError { code message path } } }`;

export const POKE = 'subscription SyncPoke($clientId: ID!) { syncPoke(clientId: $clientId) }';
