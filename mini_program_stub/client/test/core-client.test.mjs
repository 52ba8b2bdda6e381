import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createClient, ApiError, NetworkError, unwrap } from '../index.js';
import { SESSION_KEY } from '../auth.js';
import { memoryPlatform, settle } from '../platform/memory.js';
import { fakeGraphQLServer } from './core-helpers.mjs';

function session(personId) {
  return JSON.stringify({ kind: 'citizen', accessToken: 'access-1', refreshToken: 'refresh-1', personId });
}

test('createClient wires auth, graphql, uploads, inbox and drafts over one platform', async () => {
  const server = fakeGraphQLServer({ Me: () => ({ me: { id: 'p1' } }) }, { tokens: ['access-1'] });
  const platform = memoryPlatform({ handler: server.handle });
  platform.store.set(SESSION_KEY, session('p1'));
  const client = createClient({ platform, channel: 'H5' });
  await client.ready;
  assert.equal(client.auth.session.personId, 'p1');
  assert.deepEqual(await client.graphql('query Me { me { id } }'), { me: { id: 'p1' } });
  assert.equal(server.calls[0].token, 'access-1');
  assert.equal(typeof client.drafts.createDraft, 'function');
  assert.ok(client.drafts.clientId);
  assert.equal(typeof client.uploads.upload, 'function');
  assert.equal(typeof client.inbox.subscribe, 'function');
  assert.equal(client.unwrap, unwrap);
  assert.ok(new ApiError('X') instanceof Error && new NetworkError().offline);
});

test('inbox and syncPoke share one socket', async () => {
  const server = fakeGraphQLServer({
    InboxLatest: () => ({ myInbox: { unreadCount: 1, edges: [{ node: { id: 'n1' } }] } }),
  }, { tokens: ['access-1'] });
  const platform = memoryPlatform({ handler: server.handle });
  platform.store.set(SESSION_KEY, session('p1'));
  const client = createClient({ platform });
  await client.ready;
  client.inbox.subscribe(() => {});
  await settle();
  assert.equal(platform.sockets.length, 1);
  const socket = platform.sockets[0];
  socket.open();
  socket.serverSend({ type: 'connection_ack' });
  await settle();
  const subscribed = socket.sent.filter((m) => m.type === 'subscribe').map((m) => m.payload.query);
  assert.equal(subscribed.length, 2);
  assert.ok(subscribed.some((q) => q.includes('syncPoke')));
  assert.ok(subscribed.some((q) => q.includes('inboxUpdates')));
  assert.equal(platform.sockets.length, 1);
});

test('drafts are stored per person: another sign-in opens another store', async () => {
  const platform = memoryPlatform({ handler: () => 'offline' });
  platform.store.set(SESSION_KEY, session('p1'));
  const client = createClient({ platform });
  await client.ready;
  const firstClientId = client.drafts.clientId;
  await client.auth.adoptSession({ accessToken: 'a2', refreshToken: 'r2', me: { id: 'p2' } });
  await settle();
  await client.drafts.open();
  assert.notEqual(client.drafts.clientId, firstClientId);
});

test('createClient refuses a missing platform', () => {
  assert.throws(() => createClient({}), TypeError);
});
