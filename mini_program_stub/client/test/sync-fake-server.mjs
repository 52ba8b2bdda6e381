// A scripted in-memory sync server for the engine's tests: enough of sync-protocol.md (LMID and stored results,
// per-field three-way CAS on hashes, conflicts, quarantine, submit guard, cursor with resets) to drive a client.
// `connect()` gives one device its own `graphql` function, whose transport a test can break (offline, lost
// replies, stale or duplicated replies) through `link.intercept`.
import { NetworkError, ApiError } from '../errors.js';
import { H, contentHash, itemFields } from '../hash.js';
import { pushMutation } from './sync-fake-server-push.mjs';

export function createFakeServer(options = {}) {
  const server = {
    version: 0,
    epoch: 'epoch-1',
    minValidVersion: 0,
    clients: new Map(), // clientId -> {lmid, results: Map}
    drafts: new Map(),
    quarantine: [],
    applications: new Map(),
    seq: 1,
    policies: options.policies || {},
    busy: null, // {atId, retryAfterMs}: the next push stops there once with SERVER_BUSY
    requests: [], // [{op, input}] in arrival order
    templatePaths: options.templatePaths || null, // when set, other paths are UNKNOWN_PATH
  };

  server.nextId = (prefix) => `${prefix}-${server.seq++}`;
  server.hash = H;
  server.values = (draft) => {
    const out = {};
    for (const [path, field] of draft.fields) if (field.value !== null) out[path] = field.value;
    return out;
  };
  server.contentHash = (draft) => contentHash(server.values(draft));
  server.itemFields = itemFields;

  function push(input) {
    const ids = input.mutations.map((m) => m.id);
    const rejected = (code, message) => ({ __typename: 'SyncPushRejected', code, message, path: null,
      retryable: false, retryAfterMs: null, serverEpoch: server.epoch, clientLastMutationId: null });
    if (!ids.length || ids.some((id, i) => id < 1 || (i > 0 && id !== ids[i - 1] + 1))) {
      return rejected('INVALID_BATCH', 'ids must be consecutive');
    }
    if (ids.length > 100) return rejected('PAYLOAD_TOO_LARGE', 'too many mutations');
    let client = server.clients.get(input.clientId);
    if (!client) {
      if (ids[0] !== 1) return rejected('CLIENT_STATE_NOT_FOUND', 'unknown client');
      client = { lmid: 0, results: new Map(), platform: input.platform };
      server.clients.set(input.clientId, client);
    }
    const results = [];
    for (const m of input.mutations) {
      if (m.id <= client.lmid) {
        results.push({ ...client.results.get(m.id), replayed: true });
        continue;
      }
      if (m.id > client.lmid + 1) return stopped(client, results, m.id, 'OUT_OF_ORDER', null);
      if (server.busy && server.busy.atId === m.id) {
        const { retryAfterMs } = server.busy;
        server.busy = null;
        return stopped(client, results, m.id, 'SERVER_BUSY', retryAfterMs);
      }
      const result = pushMutation(server, input.clientId, input.platform, m);
      client.lmid = m.id;
      client.results.set(m.id, result);
      results.push({ ...result, replayed: false });
    }
    return { __typename: 'SyncPushPayload', lastMutationId: client.lmid, results, stoppedAt: null,
      stopReason: null, retryAfterMs: null, serverEpoch: server.epoch };
  }

  function stopped(client, results, at, code, retryAfterMs) {
    return { __typename: 'SyncPushPayload', lastMutationId: client.lmid, results, stoppedAt: at,
      stopReason: { code, message: code, paths: null, retryable: true }, retryAfterMs, serverEpoch: server.epoch };
  }

  function changeOf(draft, since) {
    const full = since === 0 || draft.createdVersion > since;
    const fields = [];
    const removedPaths = [];
    for (const [path, field] of draft.fields) {
      if (field.value !== null && (full || field.version > since)) {
        fields.push({ path, value: field.value, hash: field.hash, version: String(field.version) });
      } else if (field.value === null && !full && field.version > since) {
        removedPaths.push(path);
      }
    }
    return {
      draftId: draft.id, status: draft.status, serviceCode: draft.serviceCode, formVersion: draft.formVersion,
      full, requiredFormVersion: null, version: String(draft.version), contentHash: server.contentHash(draft),
      fields, removedPaths,
      openConflicts: draft.conflicts.filter((c) => c.status === 'OPEN').map((c) => ({
        id: c.id, path: c.path, serverValue: c.serverValue, serverHash: H(c.serverValue),
        openedVersion: String(c.openedVersion), candidates: c.candidates.map((x) => ({ ...x })) })),
      attachments: [],
      quarantinedOps: server.quarantine.filter((q) => q.draftId === draft.id).length,
      applicationId: draft.applicationId, restorableUntil: draft.status === 'DELETED' ? '2026-12-23T00:00:00+08:00' : null,
    };
  }

  function pull(input) {
    let since = 0;
    let upTo = server.version;
    let after = [0, ''];
    let reset = true;
    const parts = input.cursor ? input.cursor.split('|') : null;
    if (parts && parts[0] === server.epoch && Number(parts[1]) <= server.version
      && Number(parts[1]) >= server.minValidVersion) {
      since = Number(parts[1]);
      reset = false;
      if (parts[2]) {
        upTo = Number(parts[2]);
        after = [Number(parts[3]), parts[4]];
      }
    }
    const limit = input.limit || options.pageLimit || 50;
    const selected = [...server.drafts.values()]
      .filter((d) => d.version > since && d.version <= upTo)
      .filter((d) => d.version > after[0] || (d.version === after[0] && d.id > after[1]))
      .sort((a, b) => a.version - b.version || (a.id < b.id ? -1 : 1));
    const page = selected.slice(0, limit);
    const hasMore = selected.length > limit;
    const last = page[page.length - 1];
    const cursor = hasMore
      ? [server.epoch, since, upTo, last.version, last.id].join('|')
      : [server.epoch, upTo].join('|');
    return { __typename: 'SyncPullPayload', cursor, hasMore, reset: reset && !(parts && parts[2]),
      snapshotVersion: String(upTo), serverEpoch: server.epoch, drafts: page.map((d) => changeOf(d, since)),
      clients: [...server.clients].map(([clientId, c]) => ({ clientId, lastMutationId: c.lmid })) };
  }

  function quarantinedOps(variables) {
    const nodes = server.quarantine.filter((q) => q.draftId === variables.draftId);
    return { edges: nodes.map((node) => ({ cursor: node.id, node })), pageInfo: { hasNextPage: false, endCursor: null } };
  }

  function acknowledge(input) {
    const draft = server.drafts.get(input.draftId);
    if (!draft) return { __typename: 'AcknowledgeQuarantinedOpsError', code: 'NOT_FOUND', message: 'no draft', path: null };
    const before = server.quarantine.length;
    server.quarantine = server.quarantine.filter((q) => !(q.draftId === input.draftId && input.ids.includes(q.id)));
    const removed = before - server.quarantine.length;
    if (removed) draft.version = ++server.version;
    return { __typename: 'QuarantinedOpsAcknowledged', removed, draftVersion: String(draft.version) };
  }

  // What the real server would answer, deep-copied as if it had crossed the network.
  server.handle = (query, variables) => {
    const copy = (value) => JSON.parse(JSON.stringify(value));
    const vars = copy(variables || {});
    if (/syncPush\(/.test(query)) {
      server.requests.push({ op: 'push', input: vars.input });
      return copy({ syncPush: push(vars.input) });
    }
    if (/syncPull\(/.test(query)) {
      server.requests.push({ op: 'pull', input: vars.input });
      return copy({ syncPull: pull(vars.input) });
    }
    if (/acknowledgeQuarantinedOps\(/.test(query)) {
      server.requests.push({ op: 'ack', input: vars.input });
      return copy({ acknowledgeQuarantinedOps: acknowledge(vars.input) });
    }
    if (/quarantinedOps\(/.test(query)) {
      server.requests.push({ op: 'quarantine', input: vars });
      return copy({ quarantinedOps: quarantinedOps(vars) });
    }
    throw new ApiError('GRAPHQL_VALIDATION_FAILED', `fake server does not know ${query.slice(0, 40)}`);
  };

  // One device's transport. intercept(op, forward) may throw, delay or replace the answer.
  server.connect = () => {
    const link = {
      offline: false,
      intercept: null,
      async graphql(query, variables) {
        await Promise.resolve();
        if (link.offline) throw new NetworkError('offline');
        const op = /syncPush\(/.test(query) ? 'push' : /syncPull\(/.test(query) ? 'pull' : 'other';
        const forward = () => server.handle(query, variables);
        return link.intercept ? link.intercept(op, forward, variables) : forward();
      },
    };
    return link;
  };

  server.field = (draftId, path) => {
    const field = server.drafts.get(draftId).fields.get(path);
    return field ? field.value : null;
  };
  return server;
}
