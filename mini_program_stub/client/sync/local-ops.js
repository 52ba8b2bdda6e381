// Building mutations from what the user did. Every op's baseHash is H(the value the user saw before this op, own
// pending edits included: sync-protocol §6, §8.4 rule 2), fixed when queued and never recomputed on a rebase, so
// a concurrent change the user never saw surfaces as a conflict instead of being overwritten.

import { H, checkValue, itemFields, itemHash } from '../hash.js';

const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

export function checkPath(path) {
  if (typeof path !== 'string' || !path || path.length > 256
    || !path.split('/').every((s) => s === '_order' || SEGMENT.test(s))) {
    throw new TypeError(`not a draft field path: ${JSON.stringify(path)}`);
  }
}

export function fieldOp(values, path, value, baseVersion) {
  checkPath(path);
  const current = values[path] === undefined ? null : values[path];
  const op = value === null || value === undefined
    ? { path, kind: 'UNSET', baseHash: H(current) }
    : (checkValue(value), { path, kind: 'SET', value, baseHash: H(current) });
  if (baseVersion != null) op.baseVersion = String(baseVersion);
  return op;
}

export function removeItemOp(values, itemPath) {
  checkPath(itemPath);
  return { path: itemPath, kind: 'REMOVE_ITEM', baseHash: itemHash(values, itemPath) };
}

// Answering a conflict: the base is what the server holds (the conflict's serverValue), which the user has now
// seen. For an item conflict (edit beat remove), null removes the item and anything else keeps the server's item.
export function resolutionOps(conflict, value) {
  const server = conflict.serverValue === undefined ? null : conflict.serverValue;
  const isItem = server !== null && typeof server === 'object' && !Array.isArray(server)
    && Object.keys(server).length > 0 && Object.keys(server).every((p) => p.startsWith(conflict.path + '/'));
  if (isItem) {
    if (value === null || value === undefined) return [removeItemOp(server, conflict.path)];
    return Object.keys(itemFields(server, conflict.path)).map((p) => fieldOp(server, p, server[p]));
  }
  return [fieldOp({ [conflict.path]: server }, conflict.path, value)];
}

// A keystroke-by-keystroke field edit becomes one op when the previous mutation is an EDIT of the same single
// path that has never left the device: the server would end in the same state (same base, last value), and no
// id is renumbered. Returns true when the edit was folded in.
export function coalesce(queue, draftId, op) {
  const last = queue[queue.length - 1];
  if (!last || last.sent || last.result) return false;
  const m = last.mutation;
  if (m.type !== 'EDIT' || m.draftId !== draftId || m.ops.length !== 1 || op.kind === 'REMOVE_ITEM') return false;
  const previous = m.ops[0];
  if (previous.path !== op.path || previous.kind === 'REMOVE_ITEM') return false;
  const merged = { path: op.path, kind: op.kind, baseHash: previous.baseHash };
  if (op.kind === 'SET') merged.value = op.value;
  if (previous.baseVersion != null) merged.baseVersion = previous.baseVersion;
  m.ops = [merged];
  return true;
}
