import test from 'node:test';
import assert from 'node:assert/strict';
import { spaceKeyOf, tokenClaims } from '../claims.js';

const encode = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
const token = (claims) => `${encode({ alg: 'ES256' })}.${encode(claims)}.signature`;

test('claims of a token are read without verification, UTF-8 included', () => {
  assert.deepEqual(tokenClaims(token({ sub: 'p1', act: 'e1', note: '演示' })), { sub: 'p1', act: 'e1', note: '演示' });
});

test('a malformed or missing token has no claims', () => {
  for (const bad of [undefined, null, '', 'abc', 'a.!!!.c', `x.${encode([1, 2])}.y`, 'a.bm90IGpzb24.c']) {
    assert.deepEqual(tokenClaims(bad), {});
  }
});

test('the draft store key follows the space the token stands for', () => {
  const person = { kind: 'citizen', personId: 'p1', sessionId: 's1' };
  assert.equal(spaceKeyOf({ ...person, accessToken: token({ sub: 'p1' }) }), 'p1');
  assert.equal(spaceKeyOf({ ...person, accessToken: token({ sub: 'p1', act: 'e9' }) }), 'p1/E:e9');
  assert.equal(spaceKeyOf({ ...person, accessToken: token({ sub: 'p1', agt: 'a3' }) }), 'p1/A:a3');
  assert.equal(spaceKeyOf({ kind: 'operator', accessToken: token({ sub: 'o1' }) }), null);
  assert.equal(spaceKeyOf(null), null);
});
