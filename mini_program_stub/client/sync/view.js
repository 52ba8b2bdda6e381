// Pure functions over the local state: applying a pulled DraftChange to the server copy, and the optimistic view
// (server copy + queued mutations replayed in order), which is how the engine rebases after every pull.

import { contentHash, itemFields } from '../hash.js';

export function copyFromChange(known, change) {
  const copy = change.full || !known
    ? { fields: {}, fieldVersions: {} }
    : { fields: { ...known.fields }, fieldVersions: { ...known.fieldVersions } };
  if (!change.full) {
    for (const path of change.removedPaths) {
      delete copy.fields[path];
      delete copy.fieldVersions[path];
    }
  }
  for (const entry of change.fields) {
    // Deltas may repeat fields (sync-protocol §9); applying them is idempotent.
    copy.fields[entry.path] = entry.value;
    copy.fieldVersions[entry.path] = entry.version;
  }
  return {
    ...copy,
    id: change.draftId,
    status: change.status,
    serviceCode: change.serviceCode,
    formVersion: change.formVersion,
    version: change.version,
    contentHash: change.contentHash,
    conflicts: change.openConflicts,
    attachments: change.attachments,
    quarantinedOps: change.quarantinedOps,
    applicationId: change.applicationId,
    restorableUntil: change.restorableUntil,
    requiredFormVersion: change.requiredFormVersion,
  };
}

// The result says which parts of an answered mutation really took effect; replaying only those keeps the view
// honest in the short window between a push answer and the pull that brings the server's copy.
function effectiveOps(entry) {
  const ops = entry.mutation.ops || [];
  if (!entry.result) return ops;
  if (entry.result.status === 'REJECTED') return [];
  const lost = new Set((entry.result.conflicts || []).map((c) => c.path));
  return ops.filter((op) => !lost.has(op.path));
}

const EDITABLE = new Set(['EDITING', 'CORRECTION']);

export function replayEntry(draft, entry) {
  const m = entry.mutation;
  if (entry.result && entry.result.status === 'REJECTED') return draft;
  let local = draft;
  if (m.type === 'CREATE_DRAFT' && !local) {
    local = {
      id: m.draftId, status: 'EDITING', serviceCode: m.serviceCode, formVersion: m.formVersion, version: null,
      fields: {}, fieldVersions: {}, conflicts: [], attachments: [], quarantinedOps: 0, applicationId: null,
    };
  }
  if (!local) return local;
  if (['CREATE_DRAFT', 'EDIT', 'RESOLVE_CONFLICT'].includes(m.type) && EDITABLE.has(local.status)) {
    const fields = { ...local.fields };
    for (const op of effectiveOps(entry)) {
      if (op.kind === 'SET') fields[op.path] = op.value;
      else if (op.kind === 'UNSET') delete fields[op.path];
      else for (const path of Object.keys(itemFields(fields, op.path))) delete fields[path];
    }
    local = { ...local, fields };
  } else if (m.type === 'DELETE_DRAFT' && local.status !== 'DELETED' && local.status !== 'SUBMITTED') {
    local = { ...local, statusBeforeDelete: local.status, status: 'DELETED' };
  } else if (m.type === 'RESTORE_DRAFT' && local.status === 'DELETED') {
    local = { ...local, status: local.statusBeforeDelete || 'EDITING' };
  } else if (m.type === 'SUBMIT' && entry.result && entry.result.applicationId && entry.result.status !== 'NOOP') {
    local = { ...local, status: 'SUBMITTED', applicationId: entry.result.applicationId };
  }
  return local;
}

// The local value a new op is based on: server copy with every queued mutation of the draft replayed.
export function optimisticDraft(state, draftId) {
  let local = state.drafts[draftId] || null;
  for (const entry of state.queue) {
    if (entry.mutation.draftId === draftId) local = replayEntry(local, entry);
  }
  return local;
}

const STATUS_NAMES = { EDITING: 'DRAFT' };

function conflictView(conflict) {
  return {
    id: conflict.id,
    path: conflict.path,
    serverValue: conflict.serverValue === undefined ? null : conflict.serverValue,
    serverHash: conflict.serverHash,
    candidates: (conflict.candidates || []).map((c) => ({ clientId: c.clientId, platform: c.platform || null,
      value: c.value === undefined ? null : c.value })),
  };
}

export function draftView(state, draftId) {
  const local = optimisticDraft(state, draftId);
  if (!local) return null;
  const entries = state.queue.filter((e) => e.mutation.draftId === draftId);
  // A conflict the user already answered disappears at once unless the server said the answer conflicted again.
  const answered = new Set(entries
    .filter((e) => e.mutation.type === 'RESOLVE_CONFLICT' && !(e.result && e.result.status === 'REJECTED'))
    .filter((e) => !(e.result && (e.result.conflicts || []).some((c) => c.id === e.mutation.conflictId)))
    .map((e) => e.mutation.conflictId));
  const fields = { ...local.fields };
  return {
    id: draftId,
    serviceCode: local.serviceCode,
    formVersion: local.formVersion,
    fields,
    status: STATUS_NAMES[local.status] || local.status,
    version: local.version === undefined ? null : local.version,
    contentHash: contentHash(fields),
    conflicts: (local.conflicts || []).filter((c) => !answered.has(c.id)).map(conflictView),
    applicationId: local.applicationId || null,
    attachments: local.attachments || [],
    restorableUntil: local.restorableUntil || null,
    requiredFormVersion: local.requiredFormVersion || null,
    pendingCount: entries.filter((e) => !e.result).length,
    quarantined: (state.quarantine[draftId] || []).map((q) => ({ ...q })),
    lastError: state.errors[draftId] || null,
  };
}
