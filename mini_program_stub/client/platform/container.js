// What the WeChat and Alipay adapters share: both containers take callback-style APIs (success / fail), key-value
// storage, SocketTasks, network status events, and chunks staged as files for their multipart upload.
import { NetworkError } from '../errors.js';

export function absolute(baseUrl, url) {
  return /^[a-z]+:\/\//i.test(url) ? url : `${baseUrl.replace(/\/$/, '')}${url}`;
}

export function socketUrl(baseUrl, url) {
  return absolute(baseUrl, url).replace(/^http(s?):\/\//i, 'ws$1://');
}

export function lowerKeys(headers) {
  const out = {};
  for (const key of Object.keys(headers || {})) out[key.toLowerCase()] = String(headers[key]);
  return out;
}

export function toArrayBuffer(bytes) {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
}

export function call(api, args) {
  return new Promise((resolve, reject) => api({ ...args, success: resolve, fail: reject }));
}

// The container's storage under a key prefix; a missing key is null, as on the web.
export function containerStorage(api, prefix) {
  return {
    async get(key) {
      try {
        const res = await call(api.getStorage, { key: prefix + key });
        return typeof res.data === 'string' ? res.data : null;
      } catch (err) {
        return null; // "data not found"
      }
    },
    async set(key, value) { await call(api.setStorage, { key: prefix + key, data: value }); },
    async remove(key) { await call(api.removeStorage, { key: prefix + key }).catch(() => null); },
  };
}

// A SocketTask (wx.connectSocket, my.connectSocket with `multiple`) as the client's socket handle.
export function taskSocket(task) {
  const handle = {
    onopen: null, onmessage: null, onclose: null, onerror: null,
    send(text) { task.send({ data: text }); },
    close(code, reason) { task.close({ code, reason }); },
  };
  task.onOpen(() => { if (handle.onopen) handle.onopen(); });
  task.onMessage((res) => { if (handle.onmessage) handle.onmessage(String(res.data)); });
  task.onClose((res) => { if (handle.onclose) handle.onclose(res && res.code); });
  task.onError(() => { if (handle.onerror) handle.onerror(); });
  return handle;
}

export function onReconnect(api, callback) {
  const listener = (res) => { if (res && res.isConnected) callback(); };
  api.onNetworkStatusChange(listener);
  return () => { if (api.offNetworkStatusChange) api.offNetworkStatusChange(listener); };
}

// Both upload APIs send a file, not bytes: each chunk is written under USER_DATA_PATH and removed afterwards.
let stagedChunks = 0;
export async function withStagedChunk(api, bytes, send) {
  const fs = api.getFileSystemManager();
  stagedChunks += 1;
  const filePath = `${api.env.USER_DATA_PATH}/zsb-chunk-${Date.now()}-${stagedChunks}`;
  await call(fs.writeFile.bind(fs), { filePath, data: toArrayBuffer(bytes) }).catch((err) => {
    throw new NetworkError((err && (err.errMsg || err.errorMessage)) || 'cannot stage the chunk', err);
  });
  try {
    return await send(filePath);
  } finally {
    fs.unlink({ filePath, fail: () => {} });
  }
}

export const containerClock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: () => Math.random(),
};
