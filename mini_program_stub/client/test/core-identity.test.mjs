// When the identity behind the token changes (actAs, another person), drafts and sockets follow the new space.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spaceKeyOf, tokenClaims } from '../claims.js';
import { createSubscriptionClient } from '../ws.js';
import { memoryPlatform, settle } from '../platform/memory.js';

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

test('renew() reconnects at once under the current token and sends every subscription again', async () => {
  const platform = memoryPlatform({ handler: () => ({ status: 200, body: {} }) });
  let token = 'token-of-the-person';
  const sockets = createSubscriptionClient({ platform, url: '/graphql', token: async () => token });
  sockets.subscribe({ query: 'subscription P { syncPoke(clientId: "c1") }' }, {});
  await settle();
  const first = platform.sockets[0];
  first.open();
  first.serverSend({ type: 'connection_ack' });
  await settle();

  token = 'token-acting-for-the-enterprise';
  sockets.renew();
  await settle();

  assert.deepEqual(first.closed, { code: 1000, reason: 'identity changed', byClient: true });
  const second = platform.sockets[1];
  assert.ok(second, 'a new socket at once, not after a backoff');
  second.open();
  assert.deepEqual(second.sent[0], { type: 'connection_init', payload: { Authorization: `Bearer ${token}` } });
  second.serverSend({ type: 'connection_ack' });
  await settle();
  assert.equal(second.sent[1].type, 'subscribe');
  assert.equal(sockets.failures, 0);
});
