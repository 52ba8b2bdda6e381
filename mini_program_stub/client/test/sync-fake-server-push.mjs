// The fake server's mutation rules (sync-protocol §8.3, §8.4, §10): one mutation, already in LMID order.

class Rejection extends Error {
  constructor(code, paths, applicationId) {
    super(code);
    this.code = code;
    this.paths = paths || null;
    this.applicationId = applicationId || null;
  }
}

function policyOf(server, path) {
  return path.split('/').pop() === '_order' ? 'LWW_SERVER_ORDER' : server.policies[path] || 'MANUAL';
}

function fieldRule(server, draft, op, ctx) {
  if (server.templatePaths && !server.templatePaths.some((p) => op.path === p || op.path.startsWith(p + '/'))) {
    throw new Rejection('UNKNOWN_PATH', [op.path]);
  }
  const values = server.values(draft);
  if (op.kind === 'REMOVE_ITEM') {
    const item = server.itemFields(values, op.path);
    if (!Object.keys(item).length) return;
    if (server.hash(item) === op.baseHash) {
      for (const path of Object.keys(item)) write(server, draft, path, null, ctx);
      return;
    }
    return conflict(server, draft, op.path, item, null, ctx);
  }
  const next = op.kind === 'SET' ? op.value : null;
  const current = values[op.path] === undefined ? null : values[op.path];
  if (server.hash(next) === server.hash(current)) return;
  if (server.hash(current) === op.baseHash || policyOf(server, op.path) === 'LWW_SERVER_ORDER') {
    write(server, draft, op.path, next, ctx);
    return;
  }
  conflict(server, draft, op.path, current, next, ctx);
}

function write(server, draft, path, value, ctx) {
  draft.fields.set(path, { value, hash: server.hash(value), version: ctx.v, writer: ctx.clientId });
  server.history.push({ draftId: draft.id, path, value, clientId: ctx.clientId, mutationId: ctx.m.id });
  ctx.changed = true;
}

function conflict(server, draft, path, serverValue, value, ctx) {
  let open = draft.conflicts.find((c) => c.path === path && c.status === 'OPEN');
  if (!open) {
    open = { id: server.nextId('conflict'), path, status: 'OPEN', serverValue, openedVersion: ctx.v, candidates: [] };
    draft.conflicts.push(open);
  }
  open.serverValue = serverValue;
  open.candidates.push({ clientId: ctx.clientId, platform: ctx.platform, value, valueHash: server.hash(value),
    clientTime: null });
  ctx.conflicts.push(open);
  ctx.changed = true;
}

function apply(server, m, ctx) {
  let draft = server.drafts.get(m.draftId);
  if (m.type === 'CREATE_DRAFT' && !draft) {
    draft = { id: m.draftId, status: 'EDITING', serviceCode: m.serviceCode, formVersion: m.formVersion,
      version: ctx.v, createdVersion: ctx.v, fields: new Map(), conflicts: [], applicationId: null };
    server.drafts.set(m.draftId, draft);
    ctx.changed = true;
  }
  if (!draft) throw new Rejection('NOT_OWNER');
  ctx.draft = draft;
  const editable = () => {
    if (draft.status === 'DELETED') throw new Rejection('DRAFT_DELETED');
    if (draft.status === 'SUBMITTED') throw new Rejection('DRAFT_SUBMITTED', null, draft.applicationId);
  };
  if (['CREATE_DRAFT', 'EDIT'].includes(m.type)) {
    editable();
    for (const op of m.ops || []) fieldRule(server, draft, op, ctx);
  } else if (m.type === 'RESOLVE_CONFLICT') {
    editable();
    const target = draft.conflicts.find((c) => c.id === m.conflictId);
    if (!target) throw new Rejection('NOT_OWNER');
    if (m.ops.some((op) => op.path !== target.path && !op.path.startsWith(target.path + '/'))) {
      throw new Rejection('UNKNOWN_PATH', m.ops.map((op) => op.path));
    }
    const before = ctx.conflicts.length;
    for (const op of m.ops) fieldRule(server, draft, op, ctx);
    if (target.status === 'OPEN' && ctx.conflicts.length === before) {
      target.status = 'RESOLVED';
      ctx.changed = true;
    }
  } else if (m.type === 'DELETE_DRAFT') {
    if (draft.status === 'DELETED') return;
    if (draft.status === 'SUBMITTED') throw new Rejection('DRAFT_SUBMITTED', null, draft.applicationId);
    const newer = server.history.some((h) => h.draftId === draft.id && h.clientId !== ctx.clientId
      && draft.fields.get(h.path) && draft.fields.get(h.path).version > Number(m.baseDraftVersion));
    if (newer) throw new Rejection('DELETE_CONFLICT');
    draft.statusBeforeDelete = draft.status;
    draft.status = 'DELETED';
    ctx.changed = true;
  } else if (m.type === 'RESTORE_DRAFT') {
    if (draft.status !== 'DELETED') return;
    draft.status = draft.statusBeforeDelete || 'EDITING';
    ctx.reoffered = server.quarantine.filter((q) => q.draftId === draft.id);
    ctx.changed = true;
  } else if (m.type === 'SUBMIT') {
    if (draft.status === 'DELETED') throw new Rejection('DRAFT_DELETED');
    if (draft.status === 'SUBMITTED') throw new Rejection('ALREADY_SUBMITTED', null, draft.applicationId);
    if (server.contentHash(draft) !== m.expectedContentHash) {
      const paths = [...draft.fields].filter(([, f]) => f.version > Number(m.baseDraftVersion)
        && f.writer !== ctx.clientId).map(([path]) => path).sort();
      throw new Rejection('CONTENT_CHANGED', paths);
    }
    const open = draft.conflicts.filter((c) => c.status === 'OPEN');
    if (open.length) throw new Rejection('UNRESOLVED_CONFLICTS', open.map((c) => c.path));
    draft.applicationId = server.nextId('application');
    server.applications.set(draft.applicationId, { draftId: draft.id, fields: server.values(draft),
      contentHash: server.contentHash(draft) });
    draft.status = 'SUBMITTED';
    ctx.changed = true;
  } else {
    throw new Rejection('INVALID_BATCH');
  }
}

export function pushMutation(server, clientId, platform, m) {
  server.history = server.history || [];
  const ctx = { clientId, platform, m, v: server.version + 1, changed: false, conflicts: [], reoffered: [], draft: null };
  const snapshot = structuredClone({ drafts: server.drafts, history: server.history });
  try {
    apply(server, m, ctx);
  } catch (error) {
    if (!(error instanceof Rejection)) throw error;
    // A mutation is atomic: undo whatever its earlier ops did, then quarantine it.
    server.drafts = snapshot.drafts;
    server.history = snapshot.history;
    const draft = server.drafts.get(m.draftId);
    if (m.ops && m.ops.length) {
      server.quarantine.push({ id: server.nextId('q'), clientId, mutationId: m.id, draftId: m.draftId,
        reason: error.code, message: error.code, mutation: m, createdAt: '2026-11-23T12:00:00+08:00' });
      if (draft) draft.version = ++server.version;
    }
    return { id: m.id, status: 'REJECTED', draftVersion: draft ? String(draft.version) : null,
      applicationId: error.applicationId, conflicts: null, reofferedOps: null,
      error: { code: error.code, message: error.code, paths: error.paths, retryable: false } };
  }
  if (ctx.changed) {
    server.version = ctx.v;
    ctx.draft.version = ctx.v;
  }
  const status = ctx.conflicts.length ? 'APPLIED_WITH_CONFLICTS' : ctx.changed ? 'APPLIED' : 'NOOP';
  return {
    id: m.id, status, draftVersion: String(ctx.draft.version), applicationId: m.type === 'SUBMIT' ? ctx.draft.applicationId : null,
    conflicts: ctx.conflicts.length ? ctx.conflicts.map((c) => ({ id: c.id, path: c.path, serverValue: c.serverValue,
      serverHash: server.hash(c.serverValue), openedVersion: String(c.openedVersion),
      candidates: c.candidates.map((x) => ({ ...x })) })) : null,
    reofferedOps: ctx.reoffered.length ? ctx.reoffered : null, error: null,
  };
}
