import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createGraphQL } from '../graphql.js';
import { createAuth, SESSION_KEY } from '../auth.js';
import { ApiError, NetworkError } from '../errors.js';
import { memoryPlatform } from '../platform/memory.js';
import { fakeGraphQLServer } from './core-helpers.mjs';

const ME = 'query Me { me { id } }';
const NOW = 1700000000000;

function iso(ms) { return new Date(ms).toISOString(); }

function payload(n, now) {
  const issuedAt = now || NOW;
  return {
    __typename: 'AuthPayload', accessToken: `access-${n}`, refreshToken: `refresh-${n}`,
    accessTokenExpiresAt: iso(issuedAt + 600000), refreshTokenExpiresAt: iso(issuedAt + 86400000),
    sessionId: 's1', newAccount: false, me: { id: 'p1', name: '测试甲' },
  };
}

function setup(extra) {
  let generation = 1;
  let platform = null;
  const resolvers = {
    Me: (vars, ctx) => ({ me: { id: ctx.token ? 'p1' : null } }),
    SignInWithSms: (vars, ctx) => {
      if (vars.input.code !== '123456') {
        return { signInWithSms: { __typename: 'OtpRejectedError', code: 'OTP_REJECTED', message: 'wrong', path: null,
          attemptsLeft: 2 } };
      }
      ctx.server.validTokens.add('access-1');
      return { signInWithSms: payload(1) };
    },
    RefreshSession: (vars, ctx) => {
      if (vars.input.refreshToken !== `refresh-${generation}`) {
        return { refreshSession: { __typename: 'AuthenticationError', code: 'REFRESH_TOKEN_REUSED', message: 'no' } };
      }
      ctx.server.validTokens.delete(`access-${generation}`);
      generation += 1;
      ctx.server.validTokens.add(`access-${generation}`);
      return { refreshSession: payload(generation, platform.now()) };
    },
    ...(extra || {}),
  };
  const server = fakeGraphQLServer(resolvers);
  platform = memoryPlatform({ handler: server.handle, now: NOW });
  const graphql = createGraphQL({ platform });
  const auth = createAuth({ platform, graphql, channel: 'H5' });
  graphql.setAuth(auth);
  const changes = [];
  auth.onChange((session) => changes.push(session));
  return { server, platform, graphql, auth, changes };
}

function refreshCount(server) {
  return server.calls.filter((call) => call.name === 'RefreshSession').length;
}

test('SMS sign-in stores the session and announces it; a wrong code throws with attemptsLeft', async () => {
  const { auth, platform, changes, server, graphql } = setup();
  await assert.rejects(auth.signInWithSms('19900000001', '000000'), (error) => {
    assert.ok(error instanceof ApiError);
    assert.equal(error.code, 'OTP_REJECTED');
    assert.equal(error.extensions.attemptsLeft, 2);
    return true;
  });
  assert.equal(auth.session, null);
  const session = await auth.signInWithSms('19900000001', '123456');
  assert.equal(session.accessToken, 'access-1');
  assert.equal(session.personId, 'p1');
  assert.equal(session.accessTokenExpiresAt, NOW + 600000);
  assert.equal(JSON.parse(platform.store.get(SESSION_KEY)).refreshToken, 'refresh-1');
  assert.equal(changes.length, 1);
  const signIn = server.calls.find((call) => call.name === 'SignInWithSms');
  assert.equal(signIn.variables.input.channel, 'H5');
  await graphql(ME);
  assert.equal(server.calls[server.calls.length - 1].token, 'access-1');
});

test('two concurrent calls refused with an expired token trigger exactly one refresh', async () => {
  const { auth, platform, server, graphql } = setup();
  await auth.signInWithSms('19900000001', '123456');
  server.validTokens.delete('access-1'); // the server considers it expired before our clock does
  const [a, b] = await Promise.all([graphql(ME), graphql(ME)]);
  assert.deepEqual(a, { me: { id: 'p1' } });
  assert.deepEqual(b, { me: { id: 'p1' } });
  assert.equal(refreshCount(server), 1);
  assert.equal(auth.session.accessToken, 'access-2');
  const stored = JSON.parse(platform.store.get(SESSION_KEY));
  assert.equal(stored.accessToken, 'access-2');
  assert.equal(stored.refreshToken, 'refresh-2');
  const meCalls = server.calls.filter((call) => call.name === 'Me');
  assert.deepEqual(meCalls.map((call) => call.token).slice(-2), ['access-2', 'access-2']);
});

test('a token about to expire is refreshed before the call, once for concurrent calls', async () => {
  const { auth, platform, server, graphql } = setup();
  await auth.signInWithSms('19900000001', '123456');
  await platform.advance(600000 - 10000); // 10 s left: inside the refresh margin
  await Promise.all([graphql(ME), graphql(ME), graphql(ME)]);
  assert.equal(refreshCount(server), 1);
  assert.ok(server.calls.filter((call) => call.name === 'Me').every((call) => call.token === 'access-2'));
});

test('a rejected refresh signs out: session cleared, onChange(null), the call throws', async () => {
  const { auth, platform, server, graphql, changes } = setup();
  await auth.signInWithSms('19900000001', '123456');
  await auth.refresh(); // refresh-1 is now used up
  server.validTokens.clear();
  // Simulate a stale refresh token: put the old pair back as if restored from an old backup.
  await auth.adoptSession(payload(1));
  await assert.rejects(graphql(ME), (error) => error instanceof ApiError && error.code === 'UNAUTHENTICATED');
  assert.equal(auth.session, null);
  assert.equal(platform.store.has(SESSION_KEY), false);
  assert.equal(changes[changes.length - 1], null);
});

test('a refresh that cannot reach the server keeps the session', async () => {
  const { auth, platform, server, graphql, changes } = setup();
  await auth.signInWithSms('19900000001', '123456');
  server.validTokens.clear();
  const handle = platform.handler;
  platform.handler = (req) => (req.body && req.body.includes('refreshToken') ? 'offline' : handle(req));
  await assert.rejects(graphql(ME), (error) => error instanceof NetworkError);
  assert.equal(auth.session.refreshToken, 'refresh-1');
  assert.equal(JSON.parse(platform.store.get(SESSION_KEY)).refreshToken, 'refresh-1');
  assert.notEqual(changes[changes.length - 1], null);
  platform.handler = handle; // back online: the same session refreshes fine
  assert.deepEqual(await graphql(ME), { me: { id: 'p1' } });
  assert.equal(auth.session.refreshToken, 'refresh-2');
});

test('a refresh answered with a server fault keeps the session', async () => {
  const { auth, platform, server, graphql } = setup();
  await auth.signInWithSms('19900000001', '123456');
  server.validTokens.clear();
  const handle = platform.handler;
  platform.handler = (req) => (req.body && req.body.includes('refreshToken') ? { status: 503, text: 'busy' } : handle(req));
  await assert.rejects(graphql(ME), (error) => error instanceof ApiError && error.code === 'SERVER_ERROR');
  assert.equal(auth.session.refreshToken, 'refresh-1');
});

test('the session is loaded from storage; anonymous calls carry no token; sign-out clears it', async () => {
  const { platform, server } = setup({ SignOut: () => ({ signOut: { __typename: 'SignedOut', sessionsEnded: 1 } }) });
  const stored = { accessToken: 'access-1', refreshToken: 'refresh-1', accessTokenExpiresAt: NOW + 600000 };
  platform.store.set(SESSION_KEY, JSON.stringify(stored));
  server.validTokens.add('access-1');
  const graphql = createGraphQL({ platform });
  const auth = createAuth({ platform, graphql });
  graphql.setAuth(auth);
  await graphql(ME);
  assert.equal(server.calls[server.calls.length - 1].token, 'access-1');
  await graphql(ME, {}, { anonymous: true });
  assert.equal(server.calls[server.calls.length - 1].token, null);
  server.calls.length = 0;
  await auth.signOut();
  assert.deepEqual(server.calls.map((call) => [call.name, call.token]), [['SignOut', 'access-1']]);
  assert.equal(auth.session, null);
  assert.equal(platform.store.has(SESSION_KEY), false);
});

test('corrupt stored session reads as signed out', async () => {
  const { platform } = setup();
  platform.store.set(SESSION_KEY, '{not json');
  const auth = createAuth({ platform, graphql: createGraphQL({ platform }) });
  assert.equal(await auth.load(), null);
  assert.equal(await auth.accessToken(), null);
});

test('sign-out still ends the local session when the server is unreachable', async () => {
  const { auth, platform, changes } = setup();
  await auth.signInWithSms('19900000001', '123456');
  platform.handler = () => 'offline';
  await auth.signOut();
  assert.equal(auth.session, null);
  assert.equal(changes[changes.length - 1], null);
});
