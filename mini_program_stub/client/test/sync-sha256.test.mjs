import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';

import { sha256Hex, createSha256, utf8Encode } from '../sha256.js';

const referee = (bytes) => createHash('sha256').update(bytes).digest('hex');

test('FIPS 180-4 examples', () => {
  assert.equal(sha256Hex(''), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  assert.equal(sha256Hex('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  assert.equal(
    sha256Hex('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'),
    '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
  );
  assert.equal(sha256Hex('test'), '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08');
});

test('every length around the padding boundaries', () => {
  for (let n = 0; n <= 200; n++) {
    const bytes = new Uint8Array(n).map((_, i) => (i * 31 + n) & 0xff);
    assert.equal(sha256Hex(bytes), referee(bytes), `length ${n}`);
  }
});

test('a million a (FIPS 180-4) and a multi-megabyte buffer', () => {
  assert.equal(sha256Hex('a'.repeat(1000000)), 'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0');
  const big = new Uint8Array(3 * 1024 * 1024 + 7).map((_, i) => (i * 7) & 0xff);
  assert.equal(sha256Hex(big), referee(big));
});

test('incremental updates in odd-sized pieces equal the one-shot digest', () => {
  const bytes = new Uint8Array(5000).map((_, i) => (i * 13) & 0xff);
  for (const piece of [1, 3, 63, 64, 65, 127, 1000]) {
    const hasher = createSha256();
    for (let i = 0; i < bytes.length; i += piece) hasher.update(bytes.subarray(i, i + piece));
    assert.equal(hasher.hexDigest(), referee(bytes), `piece ${piece}`);
  }
  const mixed = createSha256().update('张三').update(new Uint8Array([0, 255])).update(new ArrayBuffer(3));
  assert.equal(mixed.hexDigest(), referee(Buffer.concat([Buffer.from('张三'), Buffer.from([0, 255, 0, 0, 0])])));
});

test('a finished hasher refuses reuse; bad inputs are TypeErrors', () => {
  const hasher = createSha256();
  hasher.hexDigest();
  assert.throws(() => hasher.update('x'));
  assert.throws(() => hasher.hexDigest());
  assert.throws(() => sha256Hex(42), TypeError);
  assert.throws(() => sha256Hex(null), TypeError);
  assert.throws(() => utf8Encode(7), TypeError);
});

test('utf8Encode equals Buffer for BMP, supplementary and lone surrogates', () => {
  for (const text of ['', 'abc', 'é', '张三', '😀𠀀', '\u0000\u007f\u0080\u07ff\u0800\uffff', 'a\ud800b', '\udc00']) {
    assert.deepEqual(Buffer.from(utf8Encode(text)), Buffer.from(text, 'utf8'), JSON.stringify(text));
  }
});
