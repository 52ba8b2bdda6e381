// Alipay mini-programs: my.request (dataType 'text'), my.getStorage / my.setStorage, my.uploadFile for chunks
// (the multipart POST variant: a binary PUT needs client ≥ 10.1.82), my.onNetworkStatusChange.
// Sockets: Alipay's classic API is one socket per mini-program driven by global listeners
// (my.onSocketOpen / my.sendSocketMessage / my.closeSocket); newer base libraries return a SocketTask when asked
// with `multiple: true`. Both are wrapped; on the classic API opening a socket closes the previous one.
import { NetworkError } from '../errors.js';

function absolute(baseUrl, url) {
  return /^[a-z]+:\/\//i.test(url) ? url : `${baseUrl.replace(/\/$/, '')}${url}`;
}

function lowerKeys(headers) {
  const out = {};
  for (const key of Object.keys(headers || {})) out[key.toLowerCase()] = String(headers[key]);
  return out;
}

function toArrayBuffer(bytes) {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
}

function call(api, args) {
  return new Promise((resolve, reject) => api({ ...args, success: resolve, fail: reject }));
}

function answer(res) {
  const status = res.status || res.statusCode;
  const text = typeof res.data === 'string' ? res.data : JSON.stringify(res.data === undefined ? null : res.data);
  return { status, headers: lowerKeys(res.headers || res.header), text };
}

// Older clients report an HTTP status ≥ 400 through `fail` (error 19) with the answer attached: that is an answer,
// not a network failure.
function failure(err) {
  if (err && typeof (err.status || err.statusCode) === 'number') return answer(err);
  throw new NetworkError((err && (err.errorMessage || err.error)) || 'request failed', err);
}

function classicSocket(my, url, protocol) {
  const handle = {
    onopen: null, onmessage: null, onclose: null, onerror: null,
    send(text) { my.sendSocketMessage({ data: text }); },
    close(code, reason) { my.closeSocket({ code, reason }); },
  };
  const listeners = {
    open: () => { if (handle.onopen) handle.onopen(); },
    message: (res) => { if (handle.onmessage) handle.onmessage(String(res.data)); },
    close: (res) => {
      detach();
      if (handle.onclose) handle.onclose(res && res.code);
    },
    error: () => { if (handle.onerror) handle.onerror(); },
  };
  function detach() {
    if (my.offSocketOpen) my.offSocketOpen(listeners.open);
    if (my.offSocketMessage) my.offSocketMessage(listeners.message);
    if (my.offSocketClose) my.offSocketClose(listeners.close);
    if (my.offSocketError) my.offSocketError(listeners.error);
  }
  my.onSocketOpen(listeners.open);
  my.onSocketMessage(listeners.message);
  my.onSocketClose(listeners.close);
  my.onSocketError(listeners.error);
  my.connectSocket({ url, protocols: [protocol], header: { 'Sec-WebSocket-Protocol': protocol }, fail: listeners.error });
  return handle;
}

function taskSocket(task) {
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

// options: {baseUrl, prefix = 'zsb:', timeoutMs, multipleSockets (default: true when my.canIUse says so)}
export function alipayPlatform(my, options) {
  const opts = options || {};
  const baseUrl = opts.baseUrl || '';
  const prefix = opts.prefix === undefined ? 'zsb:' : opts.prefix;
  const timeout = opts.timeoutMs || 30000;
  const multiple = opts.multipleSockets !== undefined ? opts.multipleSockets
    : Boolean(my.canIUse && my.canIUse('connectSocket.object.multiple'));
  let classic = null;
  let chunkFiles = 0;

  function transport(api, args) {
    return new Promise((resolve, reject) => {
      api({
        ...args,
        timeout,
        success: (res) => resolve(answer(res)),
        fail: (err) => { try { resolve(failure(err)); } catch (error) { reject(error); } },
      });
    });
  }

  return {
    name: 'alipay',
    syncPlatform: 'ALIPAY_MP',
    request({ url, method, headers, body }) {
      const data = body instanceof Uint8Array ? toArrayBuffer(body) : body;
      return transport(my.request, {
        url: absolute(baseUrl, url), method: method || 'GET', headers: headers || {}, data, dataType: 'text',
      });
    },
    async uploadChunk({ url, headers, bytes, sha256 }) {
      const fs = my.getFileSystemManager();
      chunkFiles += 1;
      const filePath = `${my.env.USER_DATA_PATH}/zsb-chunk-${Date.now()}-${chunkFiles}`;
      await call(fs.writeFile.bind(fs), { filePath, data: toArrayBuffer(bytes) }).catch((err) => {
        throw new NetworkError((err && err.errorMessage) || 'cannot stage the chunk', err);
      });
      try {
        return await transport(my.uploadFile, {
          url: absolute(baseUrl, url), filePath, fileName: 'chunk', fileType: 'image', header: headers,
          formData: { sha256 },
        });
      } finally {
        fs.unlink({ filePath, fail: () => {} });
      }
    },
    storage: {
      async get(key) {
        try {
          const res = await call(my.getStorage, { key: prefix + key });
          return typeof res.data === 'string' ? res.data : null;
        } catch (err) {
          return null;
        }
      },
      async set(key, value) { await call(my.setStorage, { key: prefix + key, data: value }); },
      async remove(key) { await call(my.removeStorage, { key: prefix + key }).catch(() => null); },
    },
    openSocket(url, protocol) {
      if (!my.connectSocket) return null;
      const wsUrl = absolute(baseUrl, url).replace(/^http(s?):\/\//i, 'ws$1://');
      if (multiple) {
        const task = my.connectSocket({ url: wsUrl, multiple: true, protocols: [protocol], fail: () => {} });
        if (task && task.onOpen) return taskSocket(task);
      }
      if (classic) classic.close(1000, 'replaced');
      classic = classicSocket(my, wsUrl, protocol);
      return classic;
    },
    now: () => Date.now(),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    random: () => Math.random(),
    onOnline(callback) {
      const listener = (res) => { if (res && res.isConnected) callback(); };
      my.onNetworkStatusChange(listener);
      return () => { if (my.offNetworkStatusChange) my.offNetworkStatusChange(listener); };
    },
  };
}
