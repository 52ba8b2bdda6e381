import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createGraphQL } from '../graphql.js';
import { createAuth, SESSION_KEY } from '../auth.js';
import { createUploads } from '../uploads.js';
import { ApiError } from '../errors.js';
import { memoryPlatform } from '../platform/memory.js';
import { createSha256 } from '../sha256.js';
import { fakeGraphQLServer, sha256, json } from './core-helpers.mjs';

const CHUNK = 1024;

// An upload server as sync/uploads.py behaves: chunks checked by length and SHA-256, 201 stored / 200 same bytes.
function uploadWorld(options) {
  const opts = options || {};
  const uploads = new Map();
  const clients = new Set(opts.clients || ['client-1']);
  const view = (u) => ({ __typename: 'Upload', id: u.id, sha256: u.sha256, size: u.size, mime: u.mime,
    chunkSize: CHUNK, receivedChunks: [...u.chunks.keys()].sort((a, b) => a - b), status: u.status,
    expiresAt: '2030-01-01T00:00:00Z' });
  const chunkPuts = [];
  const server = fakeGraphQLServer({
    CreateUpload: ({ input }) => {
      if (!clients.has(input.clientId)) {
        return { createUpload: { __typename: 'CreateUploadError', code: 'NOT_FOUND', message: 'no client', path: ['clientId'] } };
      }
      for (const u of uploads.values()) if (u.sha256 === input.sha256) return { createUpload: view(u) };
      const u = { id: `u${uploads.size + 1}`, sha256: input.sha256, size: input.size, mime: input.mime,
        chunks: new Map(), status: 'PENDING' };
      uploads.set(u.id, u);
      return { createUpload: view(u) };
    },
    ReadUpload: ({ id }) => ({ upload: uploads.has(id) ? view(uploads.get(id)) : null }),
    CompleteUpload: ({ input }) => {
      const u = uploads.get(input.uploadId);
      if (u.chunks.size < Math.ceil(u.size / CHUNK)) {
        return { completeUpload: { __typename: 'CompleteUploadError', code: 'CHUNKS_MISSING', message: 'missing',
          path: null, upload: view(u) } };
      }
      const whole = Buffer.concat([...u.chunks.keys()].sort((a, b) => a - b).map((i) => u.chunks.get(i)));
      if (sha256(whole) !== u.sha256) {
        return { completeUpload: { __typename: 'CompleteUploadError', code: 'CHECKSUM_MISMATCH', message: 'bad',
          path: null, upload: view(u) } };
      }
      u.status = 'COMPLETE';
      return { completeUpload: view(u) };
    },
  }, {
    tokens: ['access-1'],
    other(req) {
      const match = /^\/sync\/uploads\/([^/]+)\/chunks\/(\d+)$/.exec(req.url);
      if (!match) return json(404, {});
      if (req.headers.authorization !== 'Bearer access-1') return json(401, { code: 'UNAUTHENTICATED', message: 'no' });
      const u = uploads.get(match[1]);
      const index = Number(match[2]);
      chunkPuts.push({ index, method: req.method });
      if (opts.failAt && opts.failAt(index, chunkPuts.length)) return 'offline';
      const body = Buffer.from(req.body);
      const digest = req.headers['x-chunk-sha256'];
      if (!digest || digest !== sha256(body)) return json(422, { code: 'CHECKSUM_MISMATCH', message: 'bad chunk' });
      const expected = Math.min(CHUNK, u.size - index * CHUNK);
      if (body.length !== expected) return json(400, { code: 'CHUNK_TOO_SHORT', message: 'short' });
      const already = u.chunks.has(index);
      u.chunks.set(index, body);
      return json(already ? 200 : 201, { id: u.id, receivedChunks: [...u.chunks.keys()], status: u.status });
    },
  });
  const platform = memoryPlatform({ handler: server.handle });
  platform.store.set(SESSION_KEY, JSON.stringify({ accessToken: 'access-1', refreshToken: 'r' }));
  const graphql = createGraphQL({ platform });
  const auth = createAuth({ platform, graphql });
  graphql.setAuth(auth);
  const registered = [];
  const uploader = createUploads({
    graphql, platform, auth,
    clientId: async () => opts.clientId || 'client-1',
    registerClient: async () => { registered.push(true); clients.add(opts.clientId); },
    maxAttempts: opts.maxAttempts,
    createSha256: opts.createSha256,
  });
  return { uploads, chunkPuts, platform, uploader, registered };
}

function bytesOf(length) {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i += 1) bytes[i] = (i * 7 + 3) % 251;
  return bytes;
}

test('a file goes up in chunks, each with its SHA-256, then completes', async () => {
  const world = uploadWorld();
  const bytes = bytesOf(CHUNK * 3 + 100);
  const progress = [];
  const ref = await world.uploader.upload({ bytes, fileName: 'a.pdf', mime: 'application/pdf',
    onProgress: (sent, total) => progress.push([sent, total]) });
  assert.equal(ref.blobSha256, sha256(bytes));
  assert.deepEqual({ name: ref.name, size: ref.size, mime: ref.mime, uploadId: ref.uploadId, status: ref.status },
    { name: 'a.pdf', size: bytes.length, mime: 'application/pdf', uploadId: 'u1', status: 'COMPLETE' });
  assert.deepEqual(world.chunkPuts.map((p) => [p.index, p.method]), [[0, 'PUT'], [1, 'PUT'], [2, 'PUT'], [3, 'PUT']]);
  assert.equal(world.uploads.get('u1').chunks.get(3).length, 100);
  assert.deepEqual(progress[progress.length - 1], [bytes.length, bytes.length]);
  assert.deepEqual(progress[0], [0, bytes.length]);
});

test('a failure mid-way is retried from receivedChunks: only the missing chunks are sent again', async () => {
  let failures = 0;
  const world = uploadWorld({ failAt: (index) => index === 2 && failures++ === 0 });
  const bytes = bytesOf(CHUNK * 4);
  const pending = world.uploader.upload({ bytes, fileName: 'b.png', mime: 'image/png' });
  await world.platform.advance(60000); // lets the backoff sleep pass
  const ref = await pending;
  assert.equal(ref.status, 'COMPLETE');
  assert.deepEqual(world.chunkPuts.map((p) => p.index), [0, 1, 2, 2, 3]);
});

test('a second upload() of the same bytes resumes the earlier upload', async () => {
  const world = uploadWorld({ failAt: (index, n) => index === 1 && n === 2, maxAttempts: 1 });
  const bytes = bytesOf(CHUNK * 3);
  await assert.rejects(world.uploader.upload({ bytes, fileName: 'c.pdf', mime: 'application/pdf' }),
    (error) => error.name === 'NetworkError');
  assert.deepEqual(world.chunkPuts.map((p) => p.index), [0, 1]);
  const ref = await world.uploader.upload({ bytes, fileName: 'c.pdf', mime: 'application/pdf' });
  assert.equal(ref.uploadId, 'u1');
  assert.deepEqual(world.chunkPuts.map((p) => p.index), [0, 1, 1, 2]);
});

test('an already complete blob is not sent again', async () => {
  const world = uploadWorld();
  const bytes = bytesOf(10);
  await world.uploader.upload({ bytes, fileName: 'd.pdf', mime: 'application/pdf' });
  const puts = world.chunkPuts.length;
  const ref = await world.uploader.upload({ bytes, fileName: 'd.pdf', mime: 'application/pdf' });
  assert.equal(ref.status, 'COMPLETE');
  assert.equal(world.chunkPuts.length, puts);
});

test('an unregistered sync client is registered once, then the upload proceeds', async () => {
  const world = uploadWorld({ clientId: 'fresh' });
  await world.uploader.upload({ bytes: bytesOf(5), fileName: 'e.pdf', mime: 'application/pdf' });
  assert.equal(world.registered.length, 1);
});

test('bad input is refused before any request; an unknown client surfaces as ApiError', async () => {
  const world = uploadWorld({ clientId: 'ghost' });
  await assert.rejects(world.uploader.upload({ bytes: new Uint8Array(0), mime: 'image/png' }), TypeError);
  await assert.rejects(world.uploader.upload({ bytes: 'text', mime: 'image/png' }), TypeError);
  assert.equal(world.platform.requests.length, 0);
  const stuck = createUploads({ graphql: createGraphQL({ platform: world.platform }), platform: world.platform,
    auth: null, clientId: async () => 'ghost' });
  await assert.rejects(stuck.upload({ bytes: bytesOf(3), mime: 'image/png' }),
    (error) => error instanceof ApiError && error.code === 'NOT_FOUND' && error.path[0] === 'clientId');
});

test('a chunk refused for its checksum is not retried', async () => {
  const world = uploadWorld();
  const uploader = createUploads({
    graphql: createGraphQL({ platform: world.platform }),
    auth: { accessToken: async () => 'access-1', refreshAfterRejection: async () => null },
    clientId: async () => 'client-1',
    // A platform hook that corrupts the digest: the server must answer 422 and the client must give up.
    platform: { ...world.platform, uploadChunk: (req) => world.platform.request({ url: req.url, method: 'PUT',
      headers: { ...req.headers, 'X-Chunk-SHA256': '0'.repeat(64) }, body: req.bytes }) },
  });
  await assert.rejects(uploader.upload({ bytes: bytesOf(CHUNK + 1), mime: 'image/png' }),
    (error) => error instanceof ApiError && error.code === 'CHECKSUM_MISMATCH' && error.status === 422);
  assert.equal(world.chunkPuts.length, 1);
});

test('a chunk refused with 401 refreshes the token once and is sent again', async () => {
  const world = uploadWorld();
  let token = 'stale';
  const refreshed = [];
  const uploader = createUploads({
    graphql: createGraphQL({ platform: world.platform }),
    platform: world.platform,
    auth: {
      accessToken: async () => token,
      refreshAfterRejection: async (stale) => { refreshed.push(stale); token = 'access-1'; return token; },
    },
    clientId: async () => 'client-1',
  });
  const ref = await uploader.upload({ bytes: bytesOf(CHUNK + 5), fileName: 'f.pdf', mime: 'application/pdf' });
  assert.equal(ref.status, 'COMPLETE');
  assert.deepEqual(refreshed, ['stale']);
  assert.deepEqual(world.chunkPuts.map((p) => p.index), [0, 1]);
});

test('a hash the caller already computed is used as is; a malformed one is computed again', async () => {
  let hashers = 0;
  const world = uploadWorld({ createSha256: () => { hashers += 1; return createSha256(); } });
  const bytes = bytesOf(CHUNK + 10); // two chunks, each hashed for its X-Chunk-SHA256
  const given = await world.uploader.upload({ bytes, fileName: 'b.png', mime: 'image/png', sha256: sha256(bytes) });
  assert.equal(given.blobSha256, sha256(bytes));
  assert.equal(hashers, 2); // the chunks only: the whole file was not hashed again
  hashers = 0;
  const malformed = await world.uploader.upload({ bytes, fileName: 'b.png', mime: 'image/png', sha256: 'XYZ' });
  assert.equal(malformed.blobSha256, sha256(bytes));
  assert.ok(hashers >= 1); // the whole file at least (its chunks are already stored)
});
