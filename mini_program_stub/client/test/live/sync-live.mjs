// Two JS sync engines against a real `zsb serve` (driven by tests/client/test_js_sync_live.py):
//   node sync-live.mjs <base URL> [phone]
// The README's worked example (resident 13 on the app and in the WeChat mini-program): offline edits of one field,
// the conflict shown on both devices, resolved, submitted once, a late edit quarantined; plus a lost ACK.
// Prints one JSON line of findings; exits 1 on the first failure. Without arguments it does nothing.
import assert from 'node:assert/strict';
import { createClient } from '../../index.js';
import { webPlatform } from '../../platform/web.js';
import { contentHash } from '../../hash.js';

const [baseUrl, phone = '19900000013'] = process.argv.slice(2);
const ITEM = '居民身份证补领';
const HISTORY = `query LiveHistory($draftId: ID!) { draftHistory(draftId: $draftId, first: 100) {
  edges { node { path value clientId mutationId } } } }`;
const APPLICATION = 'query LiveApplication($id: ID!) { application(id: $id) { id formData } }';

// A device: its own storage and a network the script can cut, or let finish on the server and lose the answer.
async function device(syncPlatform) {
  const net = { offline: false, loseNextPushReply: false };
  const fetchThrough = async (url, init) => {
    if (net.offline) throw new TypeError('fetch failed: offline');
    const response = await fetch(url, init);
    if (!net.loseNextPushReply) return response;
    const text = await response.clone().text();
    if (!text.includes('"lastMutationId"')) return response;
    net.loseNextPushReply = false;
    throw new TypeError('connection lost before the response arrived');
  };
  const platform = { ...webPlatform({ baseUrl, fetch: fetchThrough, WebSocket: null }), syncPlatform };
  const client = createClient({ platform, channel: 'H5', deviceName: `sync-live-${syncPlatform}` });
  await client.ready;
  await client.auth.requestSmsCode(phone);
  const sms = await (await fetch(`${baseUrl}/sandbox/sms/messages?phone=${phone}`)).json();
  await client.auth.signInWithSms(phone, sms.messages[sms.messages.length - 1].params.code);
  await client.drafts.open();
  return { client, drafts: client.drafts, net };
}

async function catalogItem(client) {
  const search = await client.graphql(`query LiveSearch($q: String!) { searchServices(query: $q, first: 5) {
    edges { node { service { serviceCode name } } } } }`, { q: ITEM }, { anonymous: true });
  const hit = search.searchServices.edges.map((e) => e.node.service).find((s) => s.name === ITEM);
  assert.ok(hit, `${ITEM} is in the catalog`);
  const guide = await client.graphql('query LiveGuide($code: String!) { serviceGuide(serviceCode: $code) { formVersion } }',
    { code: hit.serviceCode }, { anonymous: true });
  return { serviceCode: hit.serviceCode, formVersion: guide.serviceGuide.formVersion };
}

// The application's formData nests the '/'-joined draft paths (applicant/name -> {applicant: {name}}).
function flatten(value, prefix = '', out = {}) {
  for (const [key, inner] of Object.entries(value)) {
    const path = prefix ? `${prefix}/${key}` : key;
    if (inner && typeof inner === 'object' && !Array.isArray(inner) && !('blobSha256' in inner)) flatten(inner, path, out);
    else out[path] = inner;
  }
  return out;
}

async function main() {
  const found = {};
  const app = await device('WEB');
  const mini = await device('WECHAT_MP');
  const item = await catalogItem(app.client);
  const form = {
    'applicant/name': '胡演示十三', 'applicant/id_number': '110101199001011234',
    'applicant/mobile': phone, 'card/lost_date': '2026-11-20',
  };

  // 1-2. The app creates the draft, losing the answer of its first push; the resend is replayed.
  const x = app.drafts.createDraft({ ...item, fields: form });
  app.net.loseNextPushReply = true;
  await assert.rejects(app.drafts.sync(), (e) => e.offline === true);
  await app.drafts.sync();
  assert.equal(app.drafts.get(x).pendingCount, 0);
  assert.equal(app.drafts.get(x).contentHash, contentHash(form));
  await mini.drafts.sync();
  assert.deepEqual(mini.drafts.get(x).fields, form);

  // 3. Offline, both choose a different 领取方式; the app reaches the server first.
  app.net.offline = mini.net.offline = true;
  app.drafts.edit(x, 'delivery/method', '邮寄');
  mini.drafts.edit(x, 'delivery/method', '窗口领取');
  await assert.rejects(mini.drafts.sync(), (e) => e.offline === true);
  assert.equal(mini.drafts.status.online, false);
  app.net.offline = mini.net.offline = false;
  await app.drafts.sync();
  await mini.drafts.sync();
  const [conflict] = mini.drafts.get(x).conflicts;
  assert.equal(conflict.path, 'delivery/method');
  assert.equal(conflict.serverValue, '邮寄');
  assert.deepEqual(conflict.candidates.map((c) => [c.clientId, c.value]), [[mini.drafts.clientId, '窗口领取']]);
  await app.drafts.sync();
  assert.equal(app.drafts.get(x).conflicts.length, 1, 'the app shows the open conflict too');
  found.conflict = conflict.path;

  // 4. Submitting now is refused.
  const blocked = await app.drafts.submit(x);
  assert.equal(blocked.status, 'REJECTED');
  assert.equal(blocked.error.code, 'UNRESOLVED_CONFLICTS');

  // 5. The mini-program keeps 窗口领取.
  mini.drafts.resolveConflict(x, conflict.id, '窗口领取');
  await mini.drafts.sync();
  assert.equal(mini.drafts.get(x).conflicts.length, 0);
  assert.equal(mini.drafts.get(x).fields['delivery/method'], '窗口领取');

  // 6. The app submits what it shows.
  const done = await app.drafts.submit(x);
  assert.equal(done.status, 'APPLIED', JSON.stringify(done));
  const shown = app.drafts.get(x);
  assert.equal(shown.status, 'SUBMITTED');
  assert.deepEqual(shown.fields, { ...form, 'delivery/method': '窗口领取' });
  const application = (await app.client.graphql(APPLICATION, { id: done.applicationId })).application;
  assert.deepEqual(flatten(application.formData), shown.fields, 'the application holds exactly the submitted map');
  found.applicationId = done.applicationId;

  // 7. The mini-program, unaware, edits once more: quarantined, shown, acknowledged.
  mini.drafts.edit(x, 'card/lost_date', '2026-11-19');
  await mini.drafts.sync();
  const late = mini.drafts.get(x);
  assert.equal(late.status, 'SUBMITTED');
  assert.equal(late.fields['card/lost_date'], '2026-11-20');
  assert.deepEqual(late.quarantined.map((q) => [q.code, q.path, q.value]),
    [['DRAFT_SUBMITTED', 'card/lost_date', '2026-11-19']]);
  assert.equal(await mini.drafts.acknowledgeQuarantined(x), 1);
  await mini.drafts.sync();
  assert.equal(mini.drafts.get(x).quarantined.length, 0);

  // Exactly once: one history entry per applied op despite the lost ACK and resend.
  const history = (await app.client.graphql(HISTORY, { draftId: x })).draftHistory.edges.map((e) => e.node);
  found.history = history.length;
  assert.equal(history.filter((h) => h.clientId === app.drafts.clientId && h.mutationId === 1).length, 4);
  assert.equal(history.length, 6, JSON.stringify(history)); // 4 created + 邮寄 + the resolution
  found.clients = [app.drafts.clientId, mini.drafts.clientId];
  console.log(JSON.stringify({ ok: true, ...found }));
}

if (baseUrl) {
  main().catch((error) => {
    console.log(JSON.stringify({ ok: false, error: String(error && error.stack) }));
    process.exit(1);
  });
}
