// The offline draft-sync engine (sync-protocol.md, README "Draft sync for client developers"): `client.drafts`.

import { createStore } from './store.js';
import { draftView, optimisticDraft } from './view.js';
import { pushOnce, unsentEntries } from './push.js';
import { pullOnce, fetchQuarantine } from './pull.js';
import { createLoop } from './loop.js';
import { ACKNOWLEDGE } from './documents.js';
import { SyncStop, SyncFatal } from './errors.js';
import { uuid4, uuid7 } from './ids.js';
import { fieldOp, removeItemOp, resolutionOps, coalesce } from './local-ops.js';
import { createRound } from './round.js';

export { SyncStop, SyncFatal };

export function createSyncEngine(options) {
  const { graphql, platform } = options;
  const storage = options.storage || platform.storage;
  const listeners = new Set();
  const results = new Map(); // mutation id -> its first answer, for submit()
  let state = null;
  let store = null;
  let opening = null;
  let openingKey = null;
  let offPokes = null;
  let offOnline = null;
  const status = { online: true, syncing: false, pending: 0, lastSyncedAt: null, lastError: null };

  function emit(event) {
    for (const listener of [...listeners]) {
      try { listener(event); } catch (error) { /* a broken listener must not break sync */ }
    }
  }

  function updateStatus(patch) {
    Object.assign(status, patch || {});
    if (state) {
      status.pending = state.queue.filter((e) => !e.result).length;
      status.lastSyncedAt = state.lastSyncedAt;
    }
    emit({ type: 'status' });
  }

  const ctx = {
    get state() { return state; },
    graphql,
    platformName: platform.syncPlatform || 'WEB',
    pageLimit: options.pageLimit || null,
    now: () => platform.now(),
    dirty: new Set(),
    touched: new Set(),
    reoffered: [],
    results,
    persist() {
      const { written, bytes } = store.save(state, ctx.dirty);
      ctx.dirty = new Set();
      // Mini-program storage is 10 MB: warn rather than drop (sync-protocol §13).
      if (bytes > 900 * 1024) status.lastError = { code: 'QUEUE_LARGE', message: 'offline queue is large' };
      return written;
    },
    flushEvents() {
      for (const draftId of ctx.touched) emit({ type: 'change', draftId });
      ctx.touched = new Set();
      updateStatus();
    },
  };

  function requireOpen() {
    if (!state) throw new Error('drafts: await open() first');
  }

  function resolveSpace(space) {
    const chosen = space !== undefined ? space : options.space;
    const key = typeof chosen === 'function' ? chosen() : chosen;
    return key ? String(key) : 'default';
  }

  // Idempotent per space; a different space (another person signed in) stops the loop, swaps the whole local
  // store and restarts the loop if it was running.
  async function open(space) {
    const key = resolveSpace(space);
    if (opening && openingKey === key) return opening;
    const wasRunning = loop.running;
    if (state) engine.stop();
    openingKey = key;
    const previous = opening || Promise.resolve();
    opening = previous.catch(() => {}).then(async () => {
      // A round still running writes into the state it started with; swap only after it ends.
      await round.idle();
      await (store ? store.flushed() : null);
      const nextStore = createStore(storage, key);
      const loaded = await nextStore.load();
      if (!loaded.clientId) loaded.clientId = uuid4(platform);
      store = nextStore;
      state = loaded;
      results.clear();
      ctx.dirty = new Set();
      await ctx.persist();
      updateStatus();
      emit({ type: 'change' });
      if (wasRunning) engine.start();
    }).catch((error) => {
      openingKey = null;
      throw error;
    });
    return opening;
  }

  function enqueue(draftId, type, formVersion, extra) {
    const id = Math.max(state.issued, state.lmid) + 1;
    state.issued = id;
    const mutation = { id, draftId, type, formVersion, ...extra };
    state.queue.push({ mutation, sent: false, result: null });
    afterLocalChange(draftId);
    return id;
  }

  function afterLocalChange(draftId) {
    ctx.persist();
    ctx.touched.add(draftId);
    ctx.flushEvents();
    loop.trigger(false);
  }

  function localDraft(draftId) {
    const local = optimisticDraft(state, draftId);
    if (!local) throw new Error(`drafts: unknown draft ${draftId}`);
    return local;
  }

  const round = createRound({ ctx, pushOnce, pullOnce, fetchQuarantine, unsentEntries, platform, updateStatus,
    reRegister: () => {
      // The server no longer knows this client (backup restore): a new clientId re-sends every unanswered edit.
      const unanswered = state.queue.filter((e) => !e.result);
      state.clientId = uuid4(platform);
      unanswered.forEach((e, i) => { e.mutation = { ...e.mutation, id: i + 1 }; e.sent = false; });
      Object.assign(state, { queue: unanswered, issued: unanswered.length, lmid: 0, pushedThrough: 0,
        pulledLmid: 0, cursor: null });
      results.clear();
    } });

  const loop = createLoop({ platform, round, hasWork: () => Boolean(state && unsentEntries(state).length),
    options: options.backoff, onDelay: (delay, error) => updateStatus({ nextRetryMs: delay, lastError: errorInfo(error) }) });

  function errorInfo(error) {
    return error ? { code: error.code || error.name, message: error.message } : null;
  }

  const engine = {
    open,
    get clientId() { return state ? state.clientId : null; },
    get status() { return { ...status }; },

    createDraft({ serviceCode, formVersion, fields = {}, draftId } = {}) {
      requireOpen();
      if (!serviceCode || !formVersion) throw new TypeError('createDraft needs serviceCode and formVersion');
      const id = draftId || uuid7(platform);
      const values = {};
      const ops = [];
      for (const [path, value] of Object.entries(fields)) {
        if (value === null || value === undefined) continue;
        ops.push(fieldOp(values, path, value));
        values[path] = value;
      }
      enqueue(id, 'CREATE_DRAFT', String(formVersion), ops.length ? { serviceCode, ops } : { serviceCode });
      return id;
    },

    edit(draftId, path, value) {
      requireOpen();
      const local = localDraft(draftId);
      const baseVersion = state.drafts[draftId] && state.drafts[draftId].fieldVersions[path];
      const op = fieldOp(local.fields, path, value, baseVersion);
      if (coalesce(state.queue, draftId, op)) {
        afterLocalChange(draftId);
        return state.queue[state.queue.length - 1].mutation.id;
      }
      return enqueue(draftId, 'EDIT', local.formVersion, { ops: [op] });
    },

    removeItem(draftId, itemPath) {
      requireOpen();
      const local = localDraft(draftId);
      return enqueue(draftId, 'EDIT', local.formVersion, { ops: [removeItemOp(local.fields, itemPath)] });
    },

    remove(draftId) {
      requireOpen();
      const local = localDraft(draftId);
      const copy = state.drafts[draftId];
      return enqueue(draftId, 'DELETE_DRAFT', local.formVersion, { baseDraftVersion: copy ? copy.version : '0' });
    },

    restore(draftId) {
      requireOpen();
      return enqueue(draftId, 'RESTORE_DRAFT', localDraft(draftId).formVersion, {});
    },

    get(draftId) {
      requireOpen();
      return draftView(state, draftId);
    },

    list() {
      requireOpen();
      const ids = new Set([...Object.keys(state.drafts), ...state.queue.map((e) => e.mutation.draftId)]);
      return [...ids].map((id) => draftView(state, id)).filter(Boolean);
    },

    resolveConflict(draftId, conflictId, value) {
      requireOpen();
      const view = draftView(state, draftId);
      const conflict = view && view.conflicts.find((c) => c.id === conflictId);
      if (!conflict) throw new Error(`drafts: no open conflict ${conflictId} on ${draftId}`);
      return enqueue(draftId, 'RESOLVE_CONFLICT', view.formVersion,
        { conflictId, ops: resolutionOps(conflict, value) });
    },

    // Flush, pull, then SUBMIT exactly what the view shows (sync-protocol §10).
    async submit(draftId) {
      requireOpen();
      await round();
      const view = draftView(state, draftId);
      if (!view) throw new Error(`drafts: unknown draft ${draftId}`);
      if (view.status === 'SUBMITTED') return { status: 'APPLIED', applicationId: view.applicationId };
      if (view.conflicts.length) {
        return { status: 'REJECTED', error: { code: 'UNRESOLVED_CONFLICTS', paths: view.conflicts.map((c) => c.path) } };
      }
      const copy = state.drafts[draftId];
      const id = enqueue(draftId, 'SUBMIT', view.formVersion,
        { baseDraftVersion: copy ? copy.version : '0', expectedContentHash: view.contentHash });
      try {
        await round();
      } catch (error) {
        if (!results.has(id)) return { status: 'PENDING', error: errorInfo(error) };
      }
      const result = results.get(id);
      if (!result) return { status: 'PENDING' };
      if (result.status === 'REJECTED') {
        return { status: 'REJECTED', applicationId: result.applicationId || null,
          error: { code: result.error.code, message: result.error.message, paths: result.error.paths || [] } };
      }
      return { status: 'APPLIED', applicationId: result.applicationId };
    },

    async acknowledgeQuarantined(draftId, ids) {
      requireOpen();
      if ((state.quarantine[draftId] || []).some((q) => q.id == null)) await fetchQuarantine(ctx, draftId);
      const known = (state.quarantine[draftId] || []).filter((q) => q.id != null);
      const chosen = [...new Set(ids || known.map((q) => q.id))];
      if (!chosen.length) return 0;
      const answer = (await graphql(ACKNOWLEDGE, { input: { draftId, ids: chosen } })).acknowledgeQuarantinedOps;
      if (answer.__typename !== 'QuarantinedOpsAcknowledged') throw new SyncStop(answer.code, answer.message);
      state.quarantine[draftId] = (state.quarantine[draftId] || []).filter((q) => !chosen.includes(q.id));
      if (!state.quarantine[draftId].length && state.errors[draftId] && state.errors[draftId].type !== 'SUBMIT') {
        delete state.errors[draftId]; // the user has seen the rejected edit: it is no longer an error to show
      }
      afterLocalChange(draftId);
      return answer.removed;
    },

    sync: () => round(),

    start() {
      requireOpen();
      if (!offOnline && platform.onOnline) {
        offOnline = platform.onOnline(() => { updateStatus({ online: true }); loop.trigger(true); });
      }
      loop.start();
    },

    stop() {
      loop.stop();
      if (offOnline) offOnline();
      offOnline = null;
    },

    // A poke source: (clientId, onPoke) -> unsubscribe, e.g. the syncPoke subscription of the [core] ws client.
    attachPokes(source) {
      if (offPokes) offPokes();
      // Without the background loop a poke still pulls once, so a page that only calls sync() stays live.
      const onPoke = () => (loop.running ? loop.trigger(true) : round().catch(() => {}));
      offPokes = source ? source(state.clientId, onPoke) : null;
    },

    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    flushed: () => (store ? store.flushed() : Promise.resolve()),
  };
  return engine;
}
