// The background loop on a fake clock: exponential backoff with jitter, retryAfterMs, online events, pokes.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { backoffDelay, retryDelay } from '../sync/loop.js';
import { createFakeServer } from './sync-fake-server.mjs';
import { device, pushedIds } from './sync-helpers.mjs';

test('backoffDelay doubles with equal jitter and is capped', () => {
  const opts = { baseMs: 1000, maxMs: 60000 };
  assert.deepEqual([0, 1, 2, 3].map((n) => backoffDelay(n, () => 0, opts)), [500, 1000, 2000, 4000]);
  assert.deepEqual([0, 1, 2, 3].map((n) => backoffDelay(n, () => 0.999999, opts)), [1000, 2000, 4000, 8000]);
  assert.equal(backoffDelay(40, () => 1, opts), 60000);
  assert.equal(retryDelay({ retryAfterMs: 1200 }, 5, () => 0.5, opts), 1300, 'retryAfterMs is a floor');
  assert.equal(retryDelay({ retryAfterMs: 1200 }, 5, () => 0, opts), 1200);
});

test('offline: the loop backs off 750, 1500, 3000 ... ms; an online event syncs at once', async () => {
  const server = createFakeServer();
  const { drafts, link, platform } = await device(server);
  const id = drafts.createDraft({ serviceCode: 'S1', formVersion: '1' });
  link.offline = true;
  const statuses = [];
  drafts.subscribe((event) => { if (event.type === 'status') statuses.push(drafts.status.online); });
  drafts.start();
  await platform.advance(0);
  for (const ms of [750, 1500, 3000, 6000, 12000]) await platform.advance(ms);
  assert.deepEqual(platform.sleeps, [750, 1500, 3000, 6000, 12000, 24000]);
  assert.equal(drafts.status.online, false);
  assert.ok(statuses.includes(false));
  // An edit during a backoff does not cut it short.
  drafts.edit(id, 'f', 'v');
  await platform.advance(10);
  assert.equal(platform.sleeps.length, 6);
  assert.equal(server.requests.length, 0);
  link.offline = false;
  platform.goOnline();
  await platform.advance(0);
  assert.deepEqual(pushedIds(server), [[1, 2]]);
  assert.equal(drafts.status.online, true);
  assert.equal(drafts.status.pending, 0);
  assert.equal(platform.sleeps.at(-1), 30000, 'then it polls');
  // Backoff starts over after a success.
  link.offline = true;
  await platform.advance(30000);
  assert.equal(platform.sleeps.at(-1), 750);
  drafts.stop();
});

test('SERVER_BUSY stops the batch; the loop waits retryAfterMs and resends from stoppedAt', async () => {
  const server = createFakeServer();
  const { drafts, platform } = await device(server);
  const id = drafts.createDraft({ serviceCode: 'S1', formVersion: '1' });
  drafts.edit(id, 'a', '1');
  drafts.edit(id, 'b', '2');
  server.busy = { atId: 2, retryAfterMs: 1200 };
  drafts.start();
  await platform.advance(0);
  assert.deepEqual(pushedIds(server), [[1, 2, 3]]);
  assert.equal(drafts.status.lastError.code, 'SERVER_BUSY');
  assert.equal(platform.sleeps.at(-1), 1300, 'retryAfterMs plus a little jitter');
  await platform.advance(1299);
  assert.equal(pushedIds(server).length, 1, 'not before retryAfterMs');
  await platform.advance(1);
  assert.deepEqual(pushedIds(server), [[1, 2, 3], [2, 3]]);
  assert.equal(server.clients.get(drafts.clientId).lmid, 3);
  assert.deepEqual(drafts.get(id).fields, { a: '1', b: '2' });
  drafts.stop();
});

test('a poke wakes the loop for a pull; stop() ends it', async () => {
  const server = createFakeServer();
  const app = await device(server);
  const mp = await device(server);
  let poke = null;
  mp.drafts.attachPokes((clientId, onPoke) => {
    assert.equal(clientId, mp.drafts.clientId);
    poke = onPoke;
    return () => { poke = null; };
  });
  mp.drafts.start();
  await mp.platform.advance(0);
  const id = app.drafts.createDraft({ serviceCode: 'S1', formVersion: '1', fields: { f: 'x' } });
  await app.drafts.sync();
  assert.equal(mp.drafts.get(id), null);
  const changes = [];
  mp.drafts.subscribe((event) => { if (event.type === 'change') changes.push(event.draftId); });
  poke();
  await mp.platform.advance(0);
  assert.deepEqual(mp.drafts.get(id).fields, { f: 'x' });
  assert.ok(changes.includes(id));
  mp.drafts.stop();
  const before = server.requests.length;
  await mp.platform.advance(120000);
  assert.equal(server.requests.length, before);
});

test('an unknown client (backup restore) re-registers under a new clientId and resends its edits from 1', async () => {
  const server = createFakeServer();
  const { drafts } = await device(server);
  const id = drafts.createDraft({ serviceCode: 'S1', formVersion: '1', fields: { f: 'a' } });
  await drafts.sync();
  const oldClient = drafts.clientId;
  server.clients.delete(oldClient);
  drafts.edit(id, 'f', 'b');
  drafts.edit(id, 'g', 'c');
  await drafts.sync();
  assert.notEqual(drafts.clientId, oldClient);
  assert.deepEqual(pushedIds(server, drafts.clientId), [[1, 2]]);
  assert.equal(server.field(id, 'f'), 'b');
  assert.equal(drafts.get(id).pendingCount, 0);
});

test('a refusal retrying cannot fix stops the loop and keeps the queue', async () => {
  const server = createFakeServer();
  const { drafts, link, platform } = await device(server);
  drafts.createDraft({ serviceCode: 'S1', formVersion: '1' });
  link.intercept = () => ({ syncPush: { __typename: 'SyncPushRejected', code: 'CLIENT_UPGRADE_REQUIRED',
    message: 'too old', path: null, retryable: false, retryAfterMs: null, serverEpoch: 'e', clientLastMutationId: 0 } });
  drafts.start();
  await platform.advance(0);
  await platform.advance(600000);
  assert.equal(drafts.status.lastError.code, 'CLIENT_UPGRADE_REQUIRED');
  assert.equal(drafts.status.pending, 1);
  assert.deepEqual(platform.sleeps, []);
});

test('without the background loop a poke still pulls once', async () => {
  const server = createFakeServer();
  const app = await device(server);
  const mp = await device(server);
  let poke = null;
  mp.drafts.attachPokes((clientId, onPoke) => { poke = onPoke; return () => {}; });
  const id = app.drafts.createDraft({ serviceCode: 'S1', formVersion: '1', fields: { f: 'y' } });
  await app.drafts.sync();
  poke();
  await mp.platform.advance(0);
  assert.deepEqual(mp.drafts.get(id).fields, { f: 'y' });
  assert.deepEqual(mp.platform.sleeps, [], 'no loop was started');
});
