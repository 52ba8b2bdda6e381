// Lost acknowledgements, stale and duplicated replies, offline periods and restarts from storage.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { NetworkError } from '../errors.js';
import { createFakeServer } from './sync-fake-server.mjs';
import { device, pushedIds, historyOf } from './sync-helpers.mjs';

test('lost ack: the server applied, the reply is lost, the resend is replayed and nothing applies twice', async () => {
  const server = createFakeServer();
  const { drafts, link } = await device(server);
  const id = drafts.createDraft({ serviceCode: 'S1', formVersion: '1', fields: { f1: '张三' } });
  drafts.edit(id, 'f2', '110101199001011234');
  link.intercept = (op, forward) => {
    if (op !== 'push') return forward();
    forward();
    link.intercept = null;
    throw new NetworkError('connection lost before the response arrived');
  };
  await assert.rejects(drafts.sync(), (e) => e.offline === true);
  assert.equal(server.clients.get(drafts.clientId).lmid, 2, 'the server did apply the batch');
  assert.equal(drafts.get(id).pendingCount, 2, 'the device cannot know: both stay queued');
  assert.equal(drafts.status.online, false);
  await drafts.sync();
  assert.deepEqual(pushedIds(server), [[1, 2], [1, 2]]);
  const replies = server.requests.filter((r) => r.op === 'push');
  assert.equal(replies.length, 2);
  assert.equal(historyOf(server, id).length, 2, 'one history entry per op');
  assert.equal(drafts.get(id).pendingCount, 0);
  assert.deepEqual(drafts.get(id).fields, { f1: '张三', f2: '110101199001011234' });
  assert.equal(drafts.status.online, true);
  // The next edit continues the numbering; nothing is resent.
  drafts.edit(id, 'f1', '李四');
  await drafts.sync();
  assert.deepEqual(pushedIds(server).at(-1), [3]);
});

test('a stale duplicated reply does not move the client backwards', async () => {
  const server = createFakeServer();
  const { drafts, link } = await device(server);
  const id = drafts.createDraft({ serviceCode: 'S1', formVersion: '1' });
  drafts.edit(id, 'f1', 'a');
  let firstReply = null;
  link.intercept = (op, forward) => {
    const reply = forward();
    if (op === 'push' && !firstReply) firstReply = reply;
    return reply;
  };
  await drafts.sync();
  drafts.edit(id, 'f1', 'b');
  drafts.edit(id, 'f2', 'c');
  // The network hands back the first push's reply again, for a request the server never saw.
  link.intercept = (op, forward) => {
    if (op === 'push') {
      link.intercept = null;
      return JSON.parse(JSON.stringify(firstReply));
    }
    return forward();
  };
  await assert.rejects(drafts.sync(), (e) => e.code === 'NO_PROGRESS');
  assert.deepEqual(drafts.get(id).fields, { f1: 'b', f2: 'c' }, 'the view still shows the queued edits');
  assert.equal(drafts.get(id).pendingCount, 2);
  await drafts.sync();
  assert.deepEqual(pushedIds(server), [[1, 2], [3, 4]]);
  assert.equal(server.field(id, 'f1'), 'b');
  assert.equal(drafts.get(id).pendingCount, 0);
});

test('replies that answer more than was asked (another request landed first) are replayed, not reapplied', async () => {
  const server = createFakeServer();
  const { drafts, link } = await device(server);
  const id = drafts.createDraft({ serviceCode: 'S1', formVersion: '1' });
  drafts.edit(id, 'f1', 'a');
  // The request is duplicated on the wire: the server sees it twice, the device gets the second answer.
  link.intercept = (op, forward) => {
    if (op !== 'push') return forward();
    forward();
    return forward();
  };
  await drafts.sync();
  const answers = server.clients.get(drafts.clientId);
  assert.equal(answers.lmid, 2);
  assert.equal(historyOf(server, id).length, 1);
  assert.equal(drafts.get(id).pendingCount, 0);
  assert.deepEqual(drafts.get(id).fields, { f1: 'a' });
});

test('offline: edits queue with increasing ids, survive a restart from storage, and all arrive once', async () => {
  const server = createFakeServer();
  const first = await device(server);
  const id = first.drafts.createDraft({ serviceCode: 'S1', formVersion: '1', fields: { f1: 'a' } });
  await first.drafts.sync();
  first.link.offline = true;
  first.drafts.edit(id, 'f1', 'b');
  first.drafts.edit(id, 'f2', 'x');
  await assert.rejects(first.drafts.sync(), (e) => e.offline === true);
  first.drafts.edit(id, 'f3', 'y');
  await first.drafts.flushed();
  const clientId = first.drafts.clientId;
  first.drafts.stop();

  // The app is killed and started again, still offline.
  const second = await device(server, { store: first.store });
  second.link.offline = true;
  assert.equal(second.drafts.clientId, clientId);
  assert.deepEqual(second.drafts.get(id).fields, { f1: 'b', f2: 'x', f3: 'y' });
  assert.equal(second.drafts.get(id).pendingCount, 3);
  second.drafts.edit(id, 'f4', 'z');
  second.link.offline = false;
  await second.drafts.sync();
  assert.deepEqual(pushedIds(server), [[1], [2, 3, 4, 5]]);
  assert.deepEqual(server.drafts.get(id).fields.get('f4').value, 'z');
  assert.equal(historyOf(server, id).length, 5);
  assert.equal(second.drafts.get(id).pendingCount, 0);
});

test('a restart after a lost ack resends the sent batch, which the server replays', async () => {
  const server = createFakeServer();
  const first = await device(server);
  const id = first.drafts.createDraft({ serviceCode: 'S1', formVersion: '1', fields: { f1: 'a' } });
  first.drafts.edit(id, 'f1', 'b');
  first.link.intercept = (op, forward) => {
    forward();
    throw new NetworkError('lost');
  };
  await assert.rejects(first.drafts.sync());
  await first.drafts.flushed();
  const second = await device(server, { store: first.store });
  // The sent mutation must not be folded into by a new edit of the same path: it may already be applied.
  second.drafts.edit(id, 'f1', 'c');
  await second.drafts.sync();
  assert.deepEqual(pushedIds(server), [[1, 2], [1, 2, 3]]);
  assert.equal(server.field(id, 'f1'), 'c');
  assert.equal(historyOf(server, id, 'f1').length, 3);
});

test('consecutive unsent edits of one path coalesce; sent ones are never changed or renumbered', async () => {
  const server = createFakeServer();
  const { drafts, link } = await device(server);
  const id = drafts.createDraft({ serviceCode: 'S1', formVersion: '1', fields: { name: 'a' } });
  await drafts.sync();
  link.offline = true;
  for (const text of ['张', '张三', '张三丰']) drafts.edit(id, 'name', text);
  drafts.edit(id, 'other', 'x');
  drafts.edit(id, 'name', '张三丰2'); // another path came between: a new mutation
  await assert.rejects(drafts.sync());
  drafts.edit(id, 'name', '张三丰3'); // the previous one was sent (its answer lost or not): a new mutation
  link.offline = false;
  await drafts.sync();
  const sent = server.requests.filter((r) => r.op === 'push').map((r) => r.input.mutations);
  assert.deepEqual(sent.map((batch) => batch.map((m) => m.id)), [[1], [2, 3, 4, 5]]);
  const last = sent[1];
  assert.equal(last[0].ops[0].value, '张三丰');
  assert.equal(last[0].ops[0].baseHash, server.hash('a'), 'the base is what the user saw before the first keystroke');
  assert.equal(last[2].ops[0].baseHash, server.hash('张三丰'));
  assert.equal(last[3].ops[0].baseHash, server.hash('张三丰2'));
  assert.equal(server.field(id, 'name'), '张三丰3');
  assert.equal(drafts.get(id).conflicts.length, 0);
});
