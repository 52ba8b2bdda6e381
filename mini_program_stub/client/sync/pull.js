// One pull cycle (sync-protocol §9): page until hasMore = false, apply each page to the server copies, drop the
// queued mutations the space's LMID for this client covers; the optimistic view then rebases by itself.

import { PULL, QUARANTINE, PROTOCOL_VERSION } from './documents.js';
import { copyFromChange } from './view.js';
import { SyncStop, SyncFatal } from './errors.js';

const MAX_PAGES = 200;

function applyPage(ctx, page, first) {
  const { state } = ctx;
  if (first && page.reset) {
    // Replace the server copy but keep the queue: pending edits replay on whatever the snapshot holds.
    for (const id of Object.keys(state.drafts)) ctx.dirty.add(id);
    for (const id of Object.keys(state.drafts)) ctx.touched.add(id);
    state.drafts = {};
  }
  for (const change of page.drafts) {
    const known = state.drafts[change.draftId];
    if (!change.full && !known) {
      // A delta for a draft we never had in full: our copy is unusable, so start over with a reset.
      return false;
    }
    state.drafts[change.draftId] = copyFromChange(known, change);
    ctx.dirty.add(change.draftId);
    ctx.touched.add(change.draftId);
  }
  state.epoch = page.serverEpoch;
  for (const ack of page.clients) {
    if (ack.clientId !== state.clientId) continue;
    const lmid = Number(ack.lastMutationId);
    state.lmid = Math.max(state.lmid, lmid);
    state.pushedThrough = Math.max(state.pushedThrough, lmid);
    state.pulledLmid = Math.max(state.pulledLmid, lmid);
    const before = state.queue.length;
    for (const entry of state.queue) if (entry.mutation.id <= lmid) ctx.touched.add(entry.mutation.draftId);
    state.queue = state.queue.filter((e) => e.mutation.id > lmid);
    if (state.queue.length !== before) ctx.queueChanged = true;
  }
  return true;
}

export async function pullOnce(ctx) {
  const { state } = ctx;
  let cursor = state.cursor;
  for (let attempt = 0; attempt < 2; attempt++) {
    let ok = true;
    for (let n = 0; n < MAX_PAGES; n++) {
      const input = { clientId: state.clientId, protocolVersion: PROTOCOL_VERSION };
      if (cursor) input.cursor = cursor;
      if (ctx.pageLimit) input.limit = ctx.pageLimit;
      const page = (await ctx.graphql(PULL, { input })).syncPull;
      if (page.__typename === 'SyncPullRejected') {
        if (page.code === 'CLIENT_NOT_OWNED') throw new SyncFatal(page.code, page.message);
        throw new SyncStop(page.code, page.message, page.retryAfterMs);
      }
      if (!applyPage(ctx, page, n === 0)) {
        ok = false;
        break;
      }
      cursor = page.cursor;
      if (!page.hasMore) break;
    }
    if (ok) {
      state.cursor = cursor;
      state.lastSyncedAt = ctx.now();
      await ctx.persist();
      return;
    }
    cursor = null;
  }
  throw new SyncStop('RESET_LOOP', 'pull kept sending deltas for unknown drafts', null);
}

// The server's quarantine entries of a draft (all clients), which replace the locally recorded ones.
export async function fetchQuarantine(ctx, draftId) {
  const nodes = [];
  let after = null;
  for (let n = 0; n < 20; n++) {
    const connection = (await ctx.graphql(QUARANTINE, { draftId, after })).quarantinedOps;
    nodes.push(...connection.edges.map((edge) => edge.node));
    if (!connection.pageInfo.hasNextPage) break;
    after = connection.pageInfo.endCursor;
  }
  const entries = [];
  for (const node of nodes) {
    const ops = (node.mutation && node.mutation.ops) || [];
    const base = { id: node.id, clientId: node.clientId, mutationId: node.mutationId, code: node.reason,
      message: node.message };
    if (!ops.length) entries.push({ ...base, path: null, value: null, kind: null });
    for (const op of ops) {
      entries.push({ ...base, path: op.path, value: op.kind === 'SET' ? op.value : null, kind: op.kind });
    }
  }
  ctx.state.quarantine[draftId] = entries;
  ctx.touched.add(draftId);
}
