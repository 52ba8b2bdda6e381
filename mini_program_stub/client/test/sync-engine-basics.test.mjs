import { test } from 'node:test';
import assert from 'node:assert/strict';

import { createSyncEngine } from '../sync/index.js';
import { H, NULL_HASH, contentHash } from '../hash.js';
import { createFakeServer } from './sync-fake-server.mjs';
import { fakePlatform } from './sync-fake-platform.mjs';

async function device(server, { store, syncPlatform = 'WEB' } = {}) {
  const link = server.connect();
  const platform = fakePlatform({ store, syncPlatform });
  const drafts = createSyncEngine({ graphql: link.graphql, platform, storage: platform.storage, space: 'P:13' });
  await drafts.open();
  return { drafts, link, platform };
}

const pushes = (server) => server.requests.filter((r) => r.op === 'push').map((r) => r.input);

test('create, edit, sync: ids 1, 2, 3 and baseHash of what the user saw', async () => {
  const server = createFakeServer();
  const { drafts } = await device(server);
  const id = drafts.createDraft({ serviceCode: 'S1', formVersion: '1', fields: { 'applicant/name': '张三' } });
  drafts.edit(id, 'applicant/mobile', '19900000013');
  drafts.edit(id, 'applicant/name', '李四');
  assert.equal(drafts.get(id).fields['applicant/name'], '李四');
  assert.equal(drafts.get(id).pendingCount, 3);
  await drafts.sync();
  const [input] = pushes(server);
  assert.deepEqual(input.mutations.map((m) => m.id), [1, 2, 3]);
  assert.equal(input.mutations[0].ops[0].baseHash, NULL_HASH);
  assert.equal(input.mutations[2].ops[0].baseHash, H('张三'));
  assert.equal(input.platform, 'WEB');
  const view = drafts.get(id);
  assert.deepEqual(view.fields, { 'applicant/name': '李四', 'applicant/mobile': '19900000013' });
  assert.equal(view.pendingCount, 0);
  assert.equal(view.status, 'DRAFT');
  assert.equal(view.contentHash, server.contentHash(server.drafts.get(id)));
  assert.equal(view.version, String(server.drafts.get(id).version));
  assert.equal(drafts.status.pending, 0);
});

test('edit refuses bad paths and values at once, queuing nothing', async () => {
  const server = createFakeServer();
  const { drafts } = await device(server);
  const id = drafts.createDraft({ serviceCode: 'S1', formVersion: '1' });
  for (const path of ['', '__proto__', '../x', 'a//b', 'a'.repeat(65), 'x/'.repeat(130) + 'x']) {
    assert.throws(() => drafts.edit(id, path, 'v'), TypeError, path);
  }
  assert.throws(() => drafts.edit(id, 'f', 1.5), TypeError);
  assert.throws(() => drafts.edit(id, 'f', 2 ** 53), TypeError);
  assert.throws(() => drafts.edit('nope', 'f', 'v'), /unknown draft/);
  assert.equal(drafts.get(id).pendingCount, 1);
});

test('each space has its own store and clientId; open() is idempotent', async () => {
  const server = createFakeServer();
  const platform = fakePlatform();
  let person = 'P:1';
  const drafts = createSyncEngine({ graphql: server.connect().graphql, platform, space: () => person });
  await Promise.all([drafts.open(), drafts.open()]);
  const first = drafts.clientId;
  const mine = drafts.createDraft({ serviceCode: 'S1', formVersion: '1', fields: { f: '一' } });
  await drafts.sync();
  person = 'P:2';
  await drafts.open();
  assert.notEqual(drafts.clientId, first);
  assert.equal(drafts.get(mine), null, 'another person never sees the first one\'s drafts');
  assert.deepEqual(drafts.list(), []);
  person = 'P:1';
  await drafts.open();
  assert.equal(drafts.clientId, first);
  assert.deepEqual(drafts.get(mine).fields, { f: '一' });
  assert.ok([...platform.store.keys()].every((k) => k.startsWith('zsb.sync.P:')));
});

test('nothing works before open(), and a corrupt store version is refused', async () => {
  const platform = fakePlatform();
  const drafts = createSyncEngine({ graphql: async () => ({}), platform });
  assert.throws(() => drafts.createDraft({ serviceCode: 'S', formVersion: '1' }), /open\(\)/);
  assert.throws(() => drafts.get('x'), /open\(\)/);
  platform.store.set('zsb.sync.default.meta', JSON.stringify({ v: 99 }));
  await assert.rejects(drafts.open(), /not supported/);
});

test('switching space waits for the running round, so answers never land in the other person\'s store', async () => {
  const server = createFakeServer();
  const platform = fakePlatform();
  const link = server.connect();
  let person = 'P:1';
  const drafts = createSyncEngine({ graphql: link.graphql, platform, space: () => person });
  await drafts.open();
  const id = drafts.createDraft({ serviceCode: 'S1', formVersion: '1', fields: { f: '一' } });
  let release;
  const gate = new Promise((resolve) => { release = resolve; });
  link.intercept = async (op, forward) => {
    await gate;
    return forward();
  };
  const syncing = drafts.sync();
  person = 'P:2';
  const switching = drafts.open();
  release();
  await syncing;
  await switching;
  assert.deepEqual(drafts.list(), []);
  person = 'P:1';
  await drafts.open();
  assert.equal(drafts.get(id).pendingCount, 0);
  assert.equal(drafts.get(id).version, String(server.drafts.get(id).version));
});
