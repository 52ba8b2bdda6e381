// The client against a real `zsb serve` (driven by tests/client/test_js_client_live.py):
//   node core-live.mjs <base URL> <phone>
// Signs in with the SMS sandbox, checks APQ miss then hit, silent refresh (ahead of expiry, after a 401, single
// flight), the inbox socket, and sign-out. Prints one JSON line of findings; exits 1 on the first failure.
// Without arguments it does nothing, so a `node --test` run over the whole test folder is unaffected.
import assert from 'node:assert/strict';
import { createClient } from '../../index.js';
import { webPlatform } from '../../platform/web.js';

const [baseUrl, phone] = process.argv.slice(2);

// A text of its own per run, so the server's APQ store cannot know it yet.
const SEARCH = `query LiveSearch($q: String!) { searchServices(query: $q, first: 1) {
  edges { node { service { serviceCode } } } } }`;
const GUIDE = 'query LiveGuide($code: String!) { serviceGuide(serviceCode: $code) { formVersion } }';
const ME = `query LiveMe { me { id name } }\n# run ${Date.now()}-${Math.random()}`;

async function main() {
  const log = [];
  const chunkPuts = [];
  let failChunkOnce = null;
  const fetchLogged = async (url, init) => {
    const body = typeof init.body === 'string' && init.body.startsWith('{') ? JSON.parse(init.body) : {};
    const input = body.variables && body.variables.input;
    // An APQ miss sends the same refresh twice (hash, then text): count the refresh tokens spent instead.
    log.push({ url: String(url), method: init.method, refresh: input && input.refreshToken });
    const chunk = /\/chunks\/(\d+)$/.exec(String(url));
    if (chunk) {
      chunkPuts.push(Number(chunk[1]));
      if (failChunkOnce === Number(chunk[1])) {
        failChunkOnce = null;
        throw new TypeError('fetch failed'); // the network drops mid-upload
      }
    }
    return fetch(url, init);
  };
  const platform = webPlatform({ baseUrl, fetch: fetchLogged });
  const client = createClient({ platform, channel: 'H5', deviceName: 'core-live' });
  await client.ready;
  const found = {};

  await client.auth.requestSmsCode(phone);
  const sms = await (await fetch(`${baseUrl}/sandbox/sms/messages?phone=${phone}`)).json();
  const code = sms.messages[sms.messages.length - 1].params.code;
  const session = await client.auth.signInWithSms(phone, code);
  assert.ok(session.personId, 'signed in with a person id');
  assert.ok(session.accessTokenExpiresAt > Date.now(), 'expiry parsed');

  // APQ: the first call misses (GET with the hash) and sends the text (POST); the second is one GET.
  log.length = 0;
  const me = (await client.graphql(ME)).me;
  assert.equal(me.id, session.personId);
  found.apqMiss = log.map((entry) => entry.method);
  log.length = 0;
  await client.graphql(ME);
  found.apqHit = log.map((entry) => entry.method);
  assert.deepEqual(found.apqMiss, ['GET', 'POST']);
  assert.deepEqual(found.apqHit, ['GET']);

  // Refresh ahead of expiry: one rotation for three concurrent calls.
  const before = client.auth.session;
  client.auth.session.accessTokenExpiresAt = Date.now() - 1000;
  log.length = 0;
  await Promise.all([client.graphql(ME), client.graphql(ME), client.graphql(ME)]);
  found.refreshesAhead = new Set(log.filter((entry) => entry.refresh).map((entry) => entry.refresh)).size;
  assert.equal(found.refreshesAhead, 1);
  assert.notEqual(client.auth.session.refreshToken, before.refreshToken);

  // Refresh after the server refuses the token (401 UNAUTHENTICATED): once, then the calls are retried.
  client.auth.session.accessToken = 'not-a-token';
  log.length = 0;
  const answers = await Promise.all([client.graphql(ME), client.graphql(ME)]);
  found.refreshesAfter401 = new Set(log.filter((entry) => entry.refresh).map((entry) => entry.refresh)).size;
  assert.equal(found.refreshesAfter401, 1);
  assert.ok(answers.every((answer) => answer.me.id === session.personId));
  const stored = JSON.parse(await platform.storage.get('zsb.session'));
  assert.equal(stored.refreshToken, client.auth.session.refreshToken, 'the rotated pair is stored');

  // The inbox socket: graphql-transport-ws handshake with the bearer token in connection_init.
  if (typeof WebSocket !== 'undefined') {
    const updates = [];
    const stop = client.inbox.subscribe((update) => updates.push(update));
    for (let i = 0; i < 50 && client.inbox.mode !== 'live'; i += 1) await platform.sleep(100);
    found.inboxMode = client.inbox.mode;
    for (let i = 0; i < 30 && !updates.length; i += 1) await platform.sleep(100);
    found.inboxUpdates = updates.length;
    stop();
    assert.equal(found.inboxMode, 'live');
    assert.ok(updates.length >= 1, 'the unread count was fetched once the socket was up');
  } else {
    found.inboxMode = 'no WebSocket in this Node';
  }

  // A 2-chunk upload whose second chunk fails once: resumed from receivedChunks, chunk 0 is not sent again.
  // createUpload needs a sync client the server knows, so a draft is created and pushed first.
  const hit = (await client.graphql(SEARCH, { q: '居民身份证补领' })).searchServices.edges[0].node.service;
  const { formVersion } = (await client.graphql(GUIDE, { code: hit.serviceCode })).serviceGuide;
  client.drafts.createDraft({ serviceCode: hit.serviceCode, formVersion });
  await client.drafts.sync();
  const bytes = new Uint8Array(1024 * 1024 + 4096);
  bytes.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]); // PNG signature, for the server's sniffing
  for (let i = 8; i < bytes.length; i += 1) bytes[i] = (i * 31) % 256;
  failChunkOnce = 1;
  const ref = await client.uploads.upload({ bytes, fileName: 'live.png', mime: 'image/png' });
  found.upload = { status: ref.status, chunkPuts: chunkPuts.slice() };
  assert.deepEqual(chunkPuts, [0, 1, 1]);
  assert.equal(ref.status, 'COMPLETE');
  assert.match(ref.blobSha256, /^[0-9a-f]{64}$/);

  await client.auth.signOut();
  assert.equal(client.auth.session, null);
  await assert.rejects(client.graphql(ME), (error) => error.code === 'UNAUTHENTICATED');
  found.signedOut = true;
  client.drafts.stop();
  return found;
}

if (baseUrl && phone) {
  main().then(
    (found) => { console.log(JSON.stringify({ ok: true, found })); process.exit(0); },
    (error) => { console.log(JSON.stringify({ ok: false, error: String(error && error.stack) })); process.exit(1); },
  );
}
