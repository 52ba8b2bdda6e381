// The shared vectors of tests/sync/hash_vectors.json, also checked by the Python suite
// (tests/sync/test_merge.py, tests/client/test_canonical_vectors.py): byte-identical canonical JSON and hashes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';

import { canonicalize } from '../canonical.js';
import { H, NULL_HASH, contentHash, itemHash, checkValue } from '../hash.js';
import { utf8Encode } from '../sha256.js';

const vectorsPath = fileURLToPath(new URL('../../../tests/sync/hash_vectors.json', import.meta.url));
const vectors = JSON.parse(readFileSync(vectorsPath, 'utf8'));

test('the vector file is found and non-trivial', () => {
  assert.ok(vectors.length >= 20, `only ${vectors.length} vectors`);
});

for (const vector of vectors) {
  test(`vector: ${vector.name}`, () => {
    const text = canonicalize(vector.value);
    assert.equal(text, vector.canonical);
    assert.deepEqual(Buffer.from(utf8Encode(text)), Buffer.from(vector.canonical, 'utf8'));
    // node:crypto is only the referee here; the client itself never depends on it.
    assert.equal(createHash('sha256').update(vector.canonical, 'utf8').digest('hex'), vector.sha256);
    assert.equal(H(vector.value), vector.sha256);
    if ('contentHash' in vector) assert.equal(contentHash(vector.value), vector.contentHash);
    if ('itemPath' in vector) assert.equal(itemHash(vector.value, vector.itemPath), vector.itemHash);
  });
}

test('vectors with optional hashes exist, so the checks above ran', () => {
  assert.ok(vectors.some((v) => 'contentHash' in v));
  assert.ok(vectors.some((v) => 'itemHash' in v));
});

test('H(null) is the constant of sync-protocol.md §5', () => {
  assert.equal(H(null), NULL_HASH);
});

test('contentHash ignores null and undefined fields and key order', () => {
  assert.equal(contentHash({ b: '1', a: null, c: undefined }), H({ b: '1' }));
  assert.equal(contentHash({}), H({}));
  assert.equal(contentHash({ x: '1', y: '2' }), contentHash({ y: '2', x: '1' }));
});

test('canonicalize refuses what Python refuses or cannot represent', () => {
  const bad = [NaN, Infinity, -Infinity, undefined, () => 1, Symbol('s'), 10n, '\ud800', 'a\udc00b',
    { k: undefined }, [undefined], { '\ud800': 1 }, new Date(0), new Map()];
  for (const value of bad) {
    assert.throws(() => canonicalize(value), TypeError, String(typeof value));
  }
  const cyclic = {};
  cyclic.self = cyclic;
  assert.throws(() => canonicalize(cyclic), TypeError);
  assert.throws(() => canonicalize([1, , 3]), TypeError);
});

test('canonicalize formats numbers as ECMAScript does (JCS) and turns -0 into 0', () => {
  assert.equal(canonicalize(-0), '0');
  assert.equal(canonicalize([1e21, 0.1, 1e-7]), '[1e+21,0.1,1e-7]');
  assert.equal(canonicalize(Object.create(null)), '{}');
});

test('canonicalize matches JSON.stringify escaping for every BMP character', () => {
  let all = '';
  for (let c = 0; c < 0xd800; c++) all += String.fromCharCode(c);
  for (let c = 0xe000; c <= 0xffff; c++) all += String.fromCharCode(c);
  assert.equal(canonicalize(all), JSON.stringify(all));
  assert.equal(canonicalize('😀'), '"😀"');
});

test('checkValue refuses floats, unsafe integers and values over 64 KiB', () => {
  for (const value of [1.5, 2 ** 53, -(2 ** 53), { a: [0.5] }]) assert.throws(() => checkValue(value), TypeError);
  checkValue({ a: [Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER, '1.5'] });
  checkValue('x'.repeat(64 * 1024 - 2));
  assert.throws(() => checkValue('x'.repeat(64 * 1024 - 1)), TypeError);
  assert.throws(() => checkValue('张'.repeat(22000)), TypeError); // 66,002 UTF-8 bytes
});
