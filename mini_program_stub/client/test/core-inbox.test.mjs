import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createGraphQL } from '../graphql.js';
import { createAuth, SESSION_KEY } from '../auth.js';
import { createInbox } from '../inbox.js';
import { memoryPlatform, settle } from '../platform/memory.js';
import { fakeGraphQLServer } from './core-helpers.mjs';

function world(platformOptions) {
  const state = { unread: 2, latest: 'n2', marked: [] };
  const server = fakeGraphQLServer({
    InboxLatest: () => ({ myInbox: { unreadCount: state.unread, edges: [{ node: { id: state.latest } }] } }),
    MyInbox: (vars) => ({ myInbox: { unreadCount: state.unread, pageInfo: { hasNextPage: false, endCursor: null },
      edges: [{ cursor: 'c1', node: { id: 'n2', title: '受理通知', readAt: null } }], first: vars.first } }),
    MarkRead: ({ input }) => {
      if (!input.ids.length) {
        return { markRead: { __typename: 'InvalidInputError', code: 'INVALID_INPUT', message: 'ids', path: ['ids'] } };
      }
      state.marked.push(...input.ids);
      state.unread = 0;
      return { markRead: { __typename: 'InboxMarkedRead', marked: input.ids.length } };
    },
  }, { tokens: ['access-1', 'access-2'] });
  const platform = memoryPlatform({ handler: server.handle, ...(platformOptions || {}) });
  platform.store.set(SESSION_KEY, JSON.stringify({ accessToken: 'access-1', refreshToken: 'refresh-1' }));
  const graphql = createGraphQL({ platform });
  const auth = createAuth({ platform, graphql });
  graphql.setAuth(auth);
  const inbox = createInbox({ graphql, platform, auth });
  return { state, server, platform, inbox, auth };
}

function latestCalls(server) {
  return server.calls.filter((call) => call.name === 'InboxLatest').length;
}

test('graphql-transport-ws handshake: init with the bearer token, subscribe after ack, next, ping/pong', async () => {
  const { platform, inbox, server } = world();
  const updates = [];
  const stop = inbox.subscribe((update) => updates.push(update));
  await settle();
  const socket = platform.sockets[0];
  assert.equal(socket.url, '/graphql');
  assert.equal(socket.protocol, 'graphql-transport-ws');
  socket.open();
  assert.deepEqual(socket.sent[0], { type: 'connection_init', payload: { Authorization: 'Bearer access-1' } });
  assert.equal(socket.sent.length, 1); // nothing subscribes before the ack
  socket.serverSend({ type: 'connection_ack' });
  await settle();
  const subscribe = socket.sent[1];
  assert.equal(subscribe.type, 'subscribe');
  assert.match(subscribe.payload.query, /inboxUpdates\s*{\s*itemId unreadCount/);
  assert.deepEqual(updates, [{ itemId: 'n2', unreadCount: 2 }]); // caught up once after the ack
  socket.serverSend({ id: subscribe.id, type: 'next', payload: { data: { inboxUpdates: { itemId: 'n3', unreadCount: 3 } } } });
  assert.deepEqual(updates[1], { itemId: 'n3', unreadCount: 3 });
  socket.serverSend({ type: 'ping' });
  assert.deepEqual(socket.sent[socket.sent.length - 1], { type: 'pong' });
  assert.equal(inbox.mode, 'live');
  await platform.advance(60000);
  assert.equal(latestCalls(server), 1); // no polling while the socket is live
  stop();
  assert.deepEqual(socket.sent[socket.sent.length - 1], { id: subscribe.id, type: 'complete' });
  assert.equal(socket.closed.code, 1000);
});

test('a socket that keeps failing falls back to polling every 15 s, and back to live when it recovers', async () => {
  const { platform, inbox, server, state } = world();
  const updates = [];
  inbox.subscribe((update) => updates.push(update));
  for (let i = 0; i < 3; i += 1) {
    await settle();
    platform.sockets[platform.sockets.length - 1].serverClose(1006);
    await platform.advance(i === 2 ? 0 : 5000);
  }
  assert.equal(platform.sockets.length, 3);
  assert.equal(inbox.mode, 'polling');
  assert.equal(latestCalls(server), 1);
  assert.deepEqual(updates, [{ itemId: 'n2', unreadCount: 2 }]);
  state.unread = 5;
  state.latest = 'n5';
  await platform.advance(15000);
  assert.equal(latestCalls(server), 2);
  assert.deepEqual(updates[1], { itemId: 'n5', unreadCount: 5 });
  await platform.advance(15000);
  assert.equal(updates.length, 2); // unchanged counts are not re-announced
  // The socket keeps retrying with backoff; once acknowledged, polling stops.
  await platform.advance(60000);
  const socket = platform.sockets[platform.sockets.length - 1];
  assert.ok(platform.sockets.length > 3);
  socket.open();
  socket.serverSend({ type: 'connection_ack' });
  await settle();
  assert.equal(inbox.mode, 'live');
  const polled = latestCalls(server);
  await platform.advance(45000);
  assert.equal(latestCalls(server), polled);
});

test('a container without WebSocket polls from the start', async () => {
  const { platform, inbox, server } = world({ sockets: false });
  const updates = [];
  inbox.subscribe((update) => updates.push(update));
  await settle();
  assert.equal(inbox.mode, 'polling');
  assert.equal(latestCalls(server), 1);
  await platform.advance(30000);
  assert.equal(latestCalls(server), 3);
});

test('a socket closed for an expired token (4401) refreshes and reconnects with the new token', async () => {
  const { platform, inbox, server } = world();
  const refreshes = [];
  const handle = platform.handler;
  platform.handler = (req) => {
    if (req.body && req.body.includes('RefreshSession')) {
      refreshes.push(req);
      return { status: 200, body: { data: { refreshSession: { __typename: 'AuthPayload', accessToken: 'access-2',
        refreshToken: 'refresh-2', accessTokenExpiresAt: '2030-01-01T00:00:00Z',
        refreshTokenExpiresAt: '2030-01-01T00:00:00Z', sessionId: 's', newAccount: false, me: { id: 'p' } } } } };
    }
    return handle(req);
  };
  inbox.subscribe(() => {});
  await settle();
  platform.sockets[0].open();
  platform.sockets[0].serverSend({ type: 'connection_ack' });
  await settle();
  platform.sockets[0].serverClose(4401);
  await settle();
  assert.equal(refreshes.length, 1);
  assert.equal(platform.sockets.length, 2);
  platform.sockets[1].open();
  assert.deepEqual(platform.sockets[1].sent[0].payload, { Authorization: 'Bearer access-2' });
});

test('a protocol refusal (4400) stops reconnecting and polls instead', async () => {
  const { platform, inbox } = world();
  inbox.subscribe(() => {});
  await settle();
  platform.sockets[0].serverClose(4400);
  await platform.advance(120000);
  assert.equal(platform.sockets.length, 1);
  assert.equal(inbox.mode, 'polling');
});

test('no acknowledgement within 10 s closes the socket and retries', async () => {
  const { platform, inbox } = world();
  inbox.subscribe(() => {});
  await settle();
  platform.sockets[0].open();
  await platform.advance(10000);
  assert.equal(platform.sockets[0].closed.code, 4408);
  await platform.advance(5000);
  assert.equal(platform.sockets.length, 2);
});

test('list and markRead', async () => {
  const { inbox, state } = world();
  const page = await inbox.list({ first: 5 });
  assert.equal(page.unreadCount, 2);
  assert.equal(page.edges[0].node.id, 'n2');
  assert.deepEqual(await inbox.markRead(['n2']), { __typename: 'InboxMarkedRead', marked: 1 });
  assert.deepEqual(state.marked, ['n2']);
  await assert.rejects(inbox.markRead([]), (error) => error.code === 'INVALID_INPUT');
});

test('ws client: error and complete end a subscription; a failing token lookup backs off instead of throwing', async () => {
  const { createSubscriptionClient } = await import('../ws.js');
  const platform = memoryPlatform();
  let tokenCalls = 0;
  const sockets = createSubscriptionClient({
    platform, url: '/graphql',
    token: async () => {
      tokenCalls += 1;
      if (tokenCalls === 1) throw new Error('rate limited');
      return 't';
    },
  });
  const seen = [];
  sockets.subscribe({ query: 'subscription A { a }' }, { next: (p) => seen.push(['a', p]), error: (e) => seen.push(['a-error', e]) });
  await settle();
  assert.equal(platform.sockets.length, 0);
  await platform.advance(2000);
  assert.equal(platform.sockets.length, 1);
  const socket = platform.sockets[0];
  socket.open();
  socket.serverSend({ type: 'connection_ack' });
  sockets.subscribe({ query: 'subscription B { b }' }, { complete: () => seen.push(['b-complete']) });
  const [a, b] = socket.sent.filter((m) => m.type === 'subscribe');
  socket.serverSend({ id: a.id, type: 'error', payload: [{ message: 'no such client' }] });
  socket.serverSend({ id: b.id, type: 'complete' });
  socket.serverSend({ id: a.id, type: 'next', payload: { data: { a: 1 } } }); // after the error: ignored
  socket.serverSend('not json at all');
  assert.deepEqual(seen, [['a-error', [{ message: 'no such client' }]], ['b-complete']]);
  assert.equal(sockets.connected, true);
});
