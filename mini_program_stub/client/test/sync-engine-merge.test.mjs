// Two devices: conflicts exposed and resolved, SUBMIT guarded by the content hash, resets, quarantine.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { H, contentHash } from '../hash.js';
import { NetworkError } from '../errors.js';
import { createFakeServer } from './sync-fake-server.mjs';
import { device, pushes, historyOf } from './sync-helpers.mjs';

async function twoDevices(server) {
  const app = await device(server, { syncPlatform: 'WEB' });
  const mp = await device(server, { syncPlatform: 'WECHAT_MP' });
  const id = app.drafts.createDraft({ serviceCode: 'S1', formVersion: '1',
    fields: { 'applicant/name': '胡演示十三', 'card/lost_date': '2026-11-01' } });
  await app.drafts.sync();
  await mp.drafts.sync();
  return { app, mp, id };
}

test('the README worked example: both devices edit one field, conflict, resolve, submit', async () => {
  const server = createFakeServer();
  const { app, mp, id } = await twoDevices(server);
  assert.deepEqual(mp.drafts.get(id).fields, app.drafts.get(id).fields);
  app.link.offline = mp.link.offline = true;
  app.drafts.edit(id, 'delivery/method', '邮寄');
  mp.drafts.edit(id, 'delivery/method', '窗口领取');
  app.link.offline = mp.link.offline = false;
  await app.drafts.sync();
  await mp.drafts.sync();
  const [conflict] = mp.drafts.get(id).conflicts;
  assert.equal(conflict.path, 'delivery/method');
  assert.equal(conflict.serverValue, '邮寄');
  assert.deepEqual(conflict.candidates.map((c) => [c.clientId, c.value]), [[mp.drafts.clientId, '窗口领取']]);
  assert.equal(mp.drafts.get(id).fields['delivery/method'], '邮寄', 'the server value stays until resolved');
  await app.drafts.sync();
  assert.equal(app.drafts.get(id).conflicts.length, 1, 'both devices see the open conflict');

  const blocked = await app.drafts.submit(id);
  assert.equal(blocked.status, 'REJECTED');
  assert.deepEqual(blocked.error, { code: 'UNRESOLVED_CONFLICTS', paths: ['delivery/method'] });

  const resolveId = mp.drafts.resolveConflict(id, conflict.id, '窗口领取');
  assert.equal(mp.drafts.get(id).conflicts.length, 0, 'an answered conflict leaves the view at once');
  assert.equal(mp.drafts.get(id).fields['delivery/method'], '窗口领取');
  await mp.drafts.sync();
  const resolve = pushes(server, mp.drafts.clientId).at(-1).mutations[0];
  assert.equal(resolve.id, resolveId);
  assert.equal(resolve.type, 'RESOLVE_CONFLICT');
  assert.equal(resolve.conflictId, conflict.id);
  assert.equal(resolve.ops[0].baseHash, H('邮寄'));
  assert.equal(server.field(id, 'delivery/method'), '窗口领取');

  const done = await app.drafts.submit(id);
  assert.equal(done.status, 'APPLIED');
  assert.ok(done.applicationId);
  const submit = pushes(server, app.drafts.clientId).at(-1).mutations.at(-1);
  assert.equal(submit.type, 'SUBMIT');
  assert.equal(submit.expectedContentHash, contentHash(app.drafts.get(id).fields));
  assert.equal(submit.baseDraftVersion, String(server.drafts.get(id).version - 1));
  assert.deepEqual(server.applications.get(done.applicationId).fields, app.drafts.get(id).fields);
  assert.equal(app.drafts.get(id).status, 'SUBMITTED');
  assert.equal(app.drafts.get(id).applicationId, done.applicationId);

  // The mini-program, unaware, edits: rejected, quarantined, shown, then acknowledged.
  mp.drafts.edit(id, 'card/lost_date', '2026-11-02');
  await mp.drafts.sync();
  const view = mp.drafts.get(id);
  assert.equal(view.status, 'SUBMITTED');
  assert.equal(view.fields['card/lost_date'], '2026-11-01');
  assert.equal(view.quarantined.length, 1);
  assert.equal(view.quarantined[0].code, 'DRAFT_SUBMITTED');
  assert.equal(view.quarantined[0].path, 'card/lost_date');
  assert.equal(view.quarantined[0].value, '2026-11-02');
  assert.ok(view.quarantined[0].id, 'the server entry id was fetched for acknowledgement');
  assert.equal(view.lastError.code, 'DRAFT_SUBMITTED');
  assert.equal(await mp.drafts.acknowledgeQuarantined(id), 1);
  assert.equal(server.quarantine.length, 0);
  assert.equal(mp.drafts.get(id).quarantined.length, 0);
  assert.equal(mp.drafts.get(id).lastError, null);
  assert.equal(await mp.drafts.acknowledgeQuarantined(id), 0, 'nothing left to acknowledge');
  await mp.drafts.sync();
  assert.equal(mp.drafts.get(id).quarantined.length, 0);
});

test('keeping the server value resolves the conflict with a NOOP op', async () => {
  const server = createFakeServer();
  const { app, mp, id } = await twoDevices(server);
  app.drafts.edit(id, 'f', 'A1');
  mp.drafts.edit(id, 'f', 'A2');
  await app.drafts.sync();
  await mp.drafts.sync();
  const [conflict] = mp.drafts.get(id).conflicts;
  mp.drafts.resolveConflict(id, conflict.id, conflict.serverValue);
  await mp.drafts.sync();
  assert.equal(mp.drafts.get(id).conflicts.length, 0);
  assert.equal(server.drafts.get(id).conflicts[0].status, 'RESOLVED');
  assert.equal(server.field(id, 'f'), 'A1');
  assert.throws(() => mp.drafts.resolveConflict(id, conflict.id, 'x'), /no open conflict/);
});

test('an edit based on a value the user never saw conflicts even after a rebase', async () => {
  const server = createFakeServer();
  const { app, mp, id } = await twoDevices(server);
  mp.link.offline = true;
  mp.drafts.edit(id, 'applicant/name', '甲'); // based on 胡演示十三
  app.drafts.edit(id, 'applicant/name', '乙');
  await app.drafts.sync();
  // The mini-program's push is stopped (SERVER_BUSY) but the round still pulls and rebases: its pending edit
  // replays on top of the server's new value, with the base it had when the user typed.
  mp.link.offline = false;
  server.busy = { atId: 1, retryAfterMs: 500 };
  await assert.rejects(mp.drafts.sync(), (e) => e.code === 'SERVER_BUSY');
  assert.equal(mp.drafts.get(id).fields['applicant/name'], '甲');
  assert.equal(mp.drafts.get(id).version, String(server.drafts.get(id).version));
  assert.equal(mp.drafts.get(id).conflicts.length, 0);
  await mp.drafts.sync();
  assert.equal(pushes(server, mp.drafts.clientId).at(-1).mutations[0].ops[0].baseHash, H('胡演示十三'));
  assert.equal(mp.drafts.get(id).fields['applicant/name'], '乙');
  assert.equal(mp.drafts.get(id).conflicts[0].candidates[0].value, '甲');
});

test('CONTENT_CHANGED: a change lands between the pull and the SUBMIT; the user sees it and submits again', async () => {
  const server = createFakeServer();
  const { app, mp, id } = await twoDevices(server);
  app.link.intercept = async (op, forward, variables) => {
    if (op === 'push' && variables.input.mutations.some((m) => m.type === 'SUBMIT')) {
      app.link.intercept = null;
      mp.drafts.edit(id, 'card/lost_date', '2026-10-31');
      await mp.drafts.sync();
    }
    return forward();
  };
  const first = await app.drafts.submit(id);
  assert.equal(first.status, 'REJECTED');
  assert.equal(first.error.code, 'CONTENT_CHANGED');
  assert.deepEqual(first.error.paths, ['card/lost_date']);
  assert.equal(app.drafts.get(id).fields['card/lost_date'], '2026-10-31', 'the unseen change is now shown');
  assert.equal(app.drafts.get(id).lastError.code, 'CONTENT_CHANGED');
  assert.equal(server.applications.size, 0);
  const second = await app.drafts.submit(id);
  assert.equal(second.status, 'APPLIED');
  assert.equal(app.drafts.get(id).lastError, null);
  assert.equal(server.applications.get(second.applicationId).contentHash, app.drafts.get(id).contentHash);
  const again = await mp.drafts.submit(id);
  assert.equal(again.status, 'APPLIED', 'already submitted on the other device: the view says so');
  assert.equal(again.applicationId, second.applicationId);
});

test('a reset pull replaces the server copy and keeps the pending mutations', async () => {
  const server = createFakeServer();
  const { app, id } = await twoDevices(server);
  const gone = app.drafts.createDraft({ serviceCode: 'S1', formVersion: '1', fields: { f: 'x' } });
  await app.drafts.sync();
  // A backup restore: new epoch, the second draft is gone, the first has a field the client never saw.
  server.drafts.delete(gone);
  server.epoch = 'epoch-2';
  server.drafts.get(id).fields.set('restored', { value: 'r', hash: H('r'), version: 1, writer: 'other' });
  server.busy = { atId: 3, retryAfterMs: 800 };
  app.drafts.edit(id, 'applicant/name', '新名字');
  await assert.rejects(app.drafts.sync(), (e) => e.code === 'SERVER_BUSY' && e.retryAfterMs === 800);
  assert.equal(app.drafts.get(gone), null, 'the reset dropped the draft the server no longer has');
  const view = app.drafts.get(id);
  assert.equal(view.fields.restored, 'r');
  assert.equal(view.fields['applicant/name'], '新名字', 'the pending edit replays on the new snapshot');
  assert.equal(view.pendingCount, 1);
  await app.drafts.sync();
  assert.equal(server.field(id, 'applicant/name'), '新名字');
  assert.equal(app.drafts.get(id).pendingCount, 0);
  assert.deepEqual(app.drafts.list().map((d) => d.id), [id]);
});

test('delete, an edit from the other device is quarantined, restore brings the draft back', async () => {
  const server = createFakeServer();
  const { app, mp, id } = await twoDevices(server);
  app.drafts.remove(id);
  assert.equal(app.drafts.get(id).status, 'DELETED');
  await app.drafts.sync();
  mp.drafts.edit(id, 'applicant/name', '迟到的修改');
  await mp.drafts.sync();
  assert.equal(mp.drafts.get(id).status, 'DELETED');
  assert.equal(mp.drafts.get(id).quarantined[0].code, 'DRAFT_DELETED');
  mp.drafts.restore(id);
  await mp.drafts.sync();
  assert.equal(mp.drafts.get(id).status, 'DRAFT');
  assert.equal(historyOf(server, id, 'applicant/name').length, 1);
});

test('a rejected edit leaves the view at once and is shown as quarantined, even before the pull', async () => {
  const server = createFakeServer({ templatePaths: ['applicant', 'card', 'delivery'] });
  const { app, id } = await twoDevices(server);
  app.drafts.edit(id, 'applicant/name', '好名字');
  app.drafts.edit(id, 'bogus/path', '坏');
  app.drafts.edit(id, 'card/lost_date', '2026-11-03');
  app.link.intercept = (op, forward) => {
    if (op === 'pull') throw new NetworkError('lost');
    return forward();
  };
  await assert.rejects(app.drafts.sync());
  let view = app.drafts.get(id);
  assert.equal(view.fields['bogus/path'], undefined);
  assert.equal(view.fields['applicant/name'], '好名字');
  assert.equal(view.pendingCount, 0, 'all three were answered');
  assert.deepEqual(view.quarantined.map((q) => [q.id, q.path, q.value, q.code]),
    [[null, 'bogus/path', '坏', 'UNKNOWN_PATH']]);
  assert.equal(view.lastError.code, 'UNKNOWN_PATH');
  app.link.intercept = null;
  await app.drafts.sync();
  view = app.drafts.get(id);
  assert.equal(view.quarantined.length, 1);
  assert.ok(view.quarantined[0].id);
  assert.equal(server.field(id, 'card/lost_date'), '2026-11-03', 'the queue is not wedged behind the poison pill');
});

test('edit beats remove: an item conflict, resolved by removing the item after all', async () => {
  const server = createFakeServer();
  const { app, mp, id } = await twoDevices(server);
  app.drafts.edit(id, 'members/m3/name', '丙');
  app.drafts.edit(id, 'members/m3/_order', 'a0');
  await app.drafts.sync();
  await mp.drafts.sync();
  mp.drafts.edit(id, 'members/m3/name', '丙二');
  await mp.drafts.sync();
  app.drafts.removeItem(id, 'members/m3');
  assert.equal(app.drafts.get(id).fields['members/m3/name'], undefined, 'removed in the view at once');
  await app.drafts.sync();
  const [conflict] = app.drafts.get(id).conflicts;
  assert.equal(conflict.path, 'members/m3');
  assert.deepEqual(conflict.serverValue, { 'members/m3/name': '丙二', 'members/m3/_order': 'a0' });
  assert.equal(app.drafts.get(id).fields['members/m3/name'], '丙二', 'the item is kept until someone decides');
  app.drafts.resolveConflict(id, conflict.id, null);
  await app.drafts.sync();
  const op = pushes(server, app.drafts.clientId).at(-1).mutations[0].ops[0];
  assert.deepEqual([op.kind, op.path, op.baseHash], ['REMOVE_ITEM', 'members/m3', H(conflict.serverValue)]);
  assert.equal(app.drafts.get(id).conflicts.length, 0);
  assert.equal(app.drafts.get(id).fields['members/m3/name'], undefined);
  await mp.drafts.sync();
  assert.deepEqual(mp.drafts.get(id).fields, app.drafts.get(id).fields, 'both devices converge');
  assert.equal(mp.drafts.get(id).contentHash, server.contentHash(server.drafts.get(id)));
});
