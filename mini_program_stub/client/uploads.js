// Resumable chunked uploads (sync-protocol.md §7, §11): hash in JS (mini-programs have no native SHA-256),
// createUpload, send only the chunks the server lacks, completeUpload. A failure mid-way is retried after
// re-reading `upload(id).receivedChunks`; calling upload() again with the same bytes resumes the same upload,
// because createUpload returns the unexpired upload of that hash.
import { ApiError, isNetworkError } from './errors.js';
import { createSha256 as defaultCreateSha256 } from './sha256.js';

const HASH_SLICE = 256 * 1024; // hash in slices so a big file never needs a second copy

const FIELDS = 'id sha256 size mime chunkSize receivedChunks status expiresAt';
const CREATE = `mutation CreateUpload($input: CreateUploadInput!) {
  createUpload(input: $input) { __typename ... on Upload { ${FIELDS} } ... on Error { code message path } } }`;
const READ = `query ReadUpload($id: ID!) { upload(id: $id) { ${FIELDS} } }`;
const COMPLETE = `mutation CompleteUpload($input: CompleteUploadInput!) {
  completeUpload(input: $input) { __typename ... on Upload { ${FIELDS} }
    ... on CompleteUploadError { code message path upload { ${FIELDS} } } } }`;

function hexOf(createSha256, bytes, start, end) {
  const hash = createSha256();
  for (let at = start; at < end; at += HASH_SLICE) hash.update(bytes.subarray(at, Math.min(end, at + HASH_SLICE)));
  return hash.hexDigest();
}

function chunkCount(size, chunkSize) {
  return Math.ceil(size / chunkSize);
}

function transient(error) {
  return isNetworkError(error) || (error instanceof ApiError && (error.status >= 500 || error.code === 'RATE_LIMITED'));
}

function refusal(payload) {
  return new ApiError(payload.code, payload.message, { path: payload.path, data: payload });
}

// options: {graphql, platform, auth, clientId: async () => string, registerClient?: async () => void,
//           createSha256?, maxAttempts?}
export function createUploads(options) {
  const { graphql, platform, auth } = options;
  const createSha256 = options.createSha256 || defaultCreateSha256;
  const maxAttempts = options.maxAttempts || 4;

  async function create(input) {
    const data = await graphql(CREATE, { input });
    return data.createUpload;
  }

  async function sendChunk(view, bytes, index) {
    const start = index * view.chunkSize;
    const end = Math.min(view.size, start + view.chunkSize);
    const body = bytes.subarray(start, end);
    const digest = hexOf(createSha256, bytes, start, end);
    const url = `/sync/uploads/${encodeURIComponent(view.id)}/chunks/${index}`;
    let token = await auth.accessToken();
    for (let tries = 0; ; tries += 1) {
      const headers = { Authorization: `Bearer ${token}` };
      // Mini-programs without a binary PUT send the multipart POST variant through their file upload API.
      const response = platform.uploadChunk
        ? await platform.uploadChunk({ url, headers, bytes: body, sha256: digest, index })
        : await platform.request({
          url, method: 'PUT', body,
          headers: { ...headers, 'X-Chunk-SHA256': digest, 'Content-Type': 'application/octet-stream' },
        });
      let answer = null;
      try { answer = JSON.parse(response.text); } catch (error) { answer = null; }
      if (response.status === 200 || response.status === 201) return answer;
      if (response.status === 401 && tries === 0) {
        token = await auth.refreshAfterRejection(token);
        if (token) continue;
      }
      const code = answer && answer.code ? answer.code : (response.status >= 500 ? 'SERVER_ERROR' : 'BAD_RESPONSE');
      throw new ApiError(code, (answer && answer.message) || `HTTP ${response.status}`, { status: response.status });
    }
  }

  async function sendMissing(view, bytes, total, onProgress) {
    const received = new Set(view.receivedChunks);
    const count = chunkCount(view.size, view.chunkSize);
    const sizeOf = (index) => Math.min(view.chunkSize, view.size - index * view.chunkSize);
    let sent = 0;
    for (const index of received) if (index < count) sent += sizeOf(index);
    if (onProgress) onProgress(sent, total);
    for (let index = 0; index < count; index += 1) {
      if (received.has(index)) continue;
      await sendChunk(view, bytes, index);
      received.add(index);
      sent += sizeOf(index);
      if (onProgress) onProgress(sent, total);
    }
  }

  // Sends what is missing, retrying transient failures with backoff from the server's own list of chunks.
  async function sendWithRetries(view, bytes, onProgress) {
    let current = view;
    for (let attempt = 1; ; attempt += 1) {
      try {
        if (attempt > 1) {
          current = (await graphql(READ, { id: view.id })).upload;
          if (!current) throw new ApiError('NOT_FOUND', 'the upload is gone; start again');
        }
        await sendMissing(current, bytes, view.size, onProgress);
        return;
      } catch (error) {
        if (!transient(error) || attempt >= maxAttempts) throw error;
        const delay = Math.min(30000, 1000 * 2 ** (attempt - 1));
        await platform.sleep(delay * (0.5 + platform.random() / 2));
      }
    }
  }

  async function upload(request) {
    const { bytes, fileName, mime, onProgress } = request || {};
    if (!(bytes instanceof Uint8Array) || bytes.length === 0) throw new TypeError('upload needs non-empty bytes');
    // A caller that referenced the file in a draft first already hashed it: a 50 MiB file is not hashed twice.
    // A wrong hash cannot slip through: completeUpload compares it with the bytes (CHECKSUM_MISMATCH).
    const known = typeof request.sha256 === 'string' && /^[0-9a-f]{64}$/.test(request.sha256);
    const sha256 = known ? request.sha256 : hexOf(createSha256, bytes, 0, bytes.length);
    const clientId = request.clientId || await options.clientId();
    const input = { clientId, sha256, size: bytes.length, mime, fileName: fileName || 'file' };
    let view = await create(input);
    const unknownClient = view.code === 'NOT_FOUND' && Array.isArray(view.path) && view.path[0] === 'clientId';
    if (unknownClient && options.registerClient) {
      // The server learns a sync client from its first push; a fresh install may not have pushed yet.
      await options.registerClient();
      view = await create(input);
    }
    if (view.__typename !== 'Upload') throw refusal(view);
    if (view.status !== 'COMPLETE') {
      await sendWithRetries(view, bytes, onProgress);
      let done = (await graphql(COMPLETE, { input: { uploadId: view.id } })).completeUpload;
      if (done.__typename !== 'Upload' && done.code === 'CHUNKS_MISSING' && done.upload) {
        await sendWithRetries(done.upload, bytes, onProgress);
        done = (await graphql(COMPLETE, { input: { uploadId: view.id } })).completeUpload;
      }
      if (done.__typename !== 'Upload') throw refusal(done);
      view = done;
    } else if (onProgress) {
      onProgress(bytes.length, bytes.length);
    }
    if (view.status === 'REJECTED') throw new ApiError('UPLOAD_REJECTED', 'the file was refused (type or scan)');
    return { blobSha256: sha256, name: input.fileName, size: bytes.length, mime, uploadId: view.id, status: view.status };
  }

  return { upload };
}
