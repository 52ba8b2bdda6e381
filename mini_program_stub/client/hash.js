// Hashes of sync-protocol.md §5, mirroring sync/merge.py (value_hash, map_hash, item_hash, check_value).

import { canonicalize } from './canonical.js';
import { sha256Hex, utf8Encode } from './sha256.js';

export const NULL_HASH = '74234e98afe7498fb5daf1f36ac2d78acc339464f950703b8c019892f982b90b';
export const MAX_VALUE_BYTES = 64 * 1024;

export function H(value) {
  return sha256Hex(canonicalize(value));
}

function nonNull(fields) {
  const out = {};
  for (const [path, value] of Object.entries(fields || {})) {
    if (value !== null && value !== undefined) out[path] = value;
  }
  return out;
}

// The content hash is over the non-null fields only: a cleared field and a never-set one are the same draft.
export function contentHash(fields) {
  return H(nonNull(fields));
}

export function itemFields(fields, itemPath) {
  const prefix = itemPath + '/';
  const out = {};
  for (const [path, value] of Object.entries(fields || {})) {
    if (path.startsWith(prefix) && value !== null && value !== undefined) out[path] = value;
  }
  return out;
}

export function itemHash(fields, itemPath) {
  return H(itemFields(fields, itemPath));
}

function checkNumbers(value) {
  if (typeof value === 'number') {
    // Floats are refused by the server (VALIDATION_FAILED); numeric form inputs travel as strings.
    if (!Number.isSafeInteger(value)) throw new TypeError(`sync values hold safe integers only, not ${value}`);
  } else if (Array.isArray(value)) {
    value.forEach(checkNumbers);
  } else if (value !== null && typeof value === 'object') {
    Object.values(value).forEach(checkNumbers);
  }
}

// Throws TypeError for a value the server would reject as VALIDATION_FAILED or VALUE_TOO_LARGE, so the UI learns
// at once instead of after a round trip and a quarantine entry.
export function checkValue(value) {
  checkNumbers(value);
  const size = utf8Encode(canonicalize(value)).length;
  if (size > MAX_VALUE_BYTES) {
    throw new TypeError(`value is ${size} bytes of canonical JSON, over ${MAX_VALUE_BYTES}`);
  }
}
