// One push request (sync-protocol §8): send the queued mutations the server has not answered, in id order, and
// record what it says. Ids are fixed when a mutation is queued and never renumbered under the same clientId.

import { PUSH, PROTOCOL_VERSION } from './documents.js';
import { SyncStop } from './errors.js';

const MAX_MUTATIONS = 100;
const MAX_BATCH_BYTES = 900 * 1024; // under the server's 1 MiB body limit, leaving room for the document

export function unsentEntries(state) {
  return state.queue.filter((e) => e.mutation.id > state.pushedThrough);
}

function batchOf(state) {
  const batch = [];
  let bytes = 0;
  for (const entry of unsentEntries(state)) {
    const size = JSON.stringify(entry.mutation).length * 3; // worst case UTF-8 bytes per UTF-16 unit
    if (batch.length && (batch.length >= MAX_MUTATIONS || bytes + size > MAX_BATCH_BYTES)) break;
    batch.push(entry);
    bytes += size;
  }
  return batch;
}

function addConflicts(ctx, draftId, conflicts) {
  const copy = ctx.state.drafts[draftId];
  if (!copy || !conflicts || !conflicts.length) return;
  const byId = new Map((copy.conflicts || []).map((c) => [c.id, c]));
  for (const conflict of conflicts) byId.set(conflict.id, conflict);
  ctx.state.drafts[draftId] = { ...copy, conflicts: [...byId.values()] };
  ctx.dirty.add(draftId);
}

function quarantineLocally(ctx, entry, error) {
  const m = entry.mutation;
  const list = ctx.state.quarantine[m.draftId] || [];
  for (const op of m.ops || []) {
    if (list.some((q) => q.clientId === ctx.state.clientId && q.mutationId === m.id && q.path === op.path)) continue;
    list.push({ id: null, clientId: ctx.state.clientId, mutationId: m.id, path: op.path,
      value: op.kind === 'SET' ? op.value : null, kind: op.kind, code: error.code, message: error.message });
  }
  ctx.state.quarantine[m.draftId] = list;
}

function recordResult(ctx, entry, result) {
  // A replayed answer to a mutation already answered (a duplicated or late reply) changes nothing locally.
  if (entry.result) return;
  entry.result = result;
  ctx.results.set(entry.mutation.id, result);
  const m = entry.mutation;
  ctx.touched.add(m.draftId);
  addConflicts(ctx, m.draftId, result.conflicts);
  if (result.status === 'REJECTED' && result.error) {
    const error = { code: result.error.code, message: result.error.message, paths: result.error.paths || [],
      mutationId: m.id, type: m.type };
    if (m.ops && m.ops.length) quarantineLocally(ctx, entry, result.error);
    ctx.state.errors[m.draftId] = error;
  } else if (m.type === 'SUBMIT' || m.type === 'RESTORE_DRAFT') {
    delete ctx.state.errors[m.draftId];
  }
  if (result.reofferedOps && result.reofferedOps.length) ctx.reoffered.push(...result.reofferedOps);
}

// Returns {sent, stop?: SyncStop}. Throws whatever `graphql` throws (NetworkError, ApiError).
export async function pushOnce(ctx) {
  const { state } = ctx;
  const batch = batchOf(state);
  if (!batch.length) return { sent: 0 };
  for (const entry of batch) entry.sent = true;
  // Persisted before sending: a mutation that may have reached the server must never be coalesced or lost.
  await ctx.persist();
  const input = {
    clientId: state.clientId,
    platform: ctx.platformName,
    protocolVersion: PROTOCOL_VERSION,
    mutations: batch.map((e) => e.mutation),
  };
  if (state.pulledLmid > 0) input.ackResultsThrough = state.pulledLmid;
  const data = await ctx.graphql(PUSH, { input });
  const payload = data.syncPush;
  if (payload.__typename === 'SyncPushRejected') return { sent: batch.length, rejected: payload };
  const lmid = Number(payload.lastMutationId);
  const byId = new Map(state.queue.map((e) => [e.mutation.id, e]));
  for (const result of payload.results) {
    const entry = byId.get(Number(result.id));
    if (entry) recordResult(ctx, entry, result);
  }
  // Max, not assignment: a late reply from an older request must not move the client backwards.
  state.lmid = Math.max(state.lmid, lmid);
  state.pushedThrough = Math.max(state.pushedThrough, lmid);
  state.epoch = payload.serverEpoch || state.epoch;
  await ctx.persist();
  if (payload.stopReason) {
    const reason = payload.stopReason;
    if (reason.code === 'OUT_OF_ORDER' && lmid < state.pushedThrough) {
      // Only possible if the server lost state it had acknowledged; resend from what it now has.
      state.pushedThrough = lmid;
    }
    return { sent: batch.length, stop: new SyncStop(reason.code, reason.message, payload.retryAfterMs,
      payload.stoppedAt) };
  }
  return { sent: batch.length };
}
