// Alipay mini-programs: my.request (dataType 'text'), my.getStorage / my.setStorage, my.uploadFile for chunks
// (the multipart POST variant: a binary PUT needs client ≥ 10.1.82), my.onNetworkStatusChange.
// Sockets: Alipay's classic API is one socket per mini-program driven by global listeners
// (my.onSocketOpen / my.sendSocketMessage / my.closeSocket); newer base libraries return a SocketTask when asked
// with `multiple: true`. Both are wrapped; on the classic API opening a socket closes the previous one.
import { NetworkError } from '../errors.js';
import {
  absolute, containerClock, containerStorage, lowerKeys, onReconnect, socketUrl, taskSocket, toArrayBuffer,
  withStagedChunk,
} from './container.js';

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

// options: {baseUrl, prefix = 'zsb:', timeoutMs, multipleSockets (default: true when my.canIUse says so)}
export function alipayPlatform(my, options) {
  const opts = options || {};
  const baseUrl = opts.baseUrl || '';
  const prefix = opts.prefix === undefined ? 'zsb:' : opts.prefix;
  const timeout = opts.timeoutMs || 30000;
  const multiple = opts.multipleSockets !== undefined ? opts.multipleSockets
    : Boolean(my.canIUse && my.canIUse('connectSocket.object.multiple'));
  let classic = null;

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
    uploadChunk({ url, headers, bytes, sha256 }) {
      return withStagedChunk(my, bytes, (filePath) => transport(my.uploadFile, {
        url: absolute(baseUrl, url), filePath, fileName: 'chunk', fileType: 'image', header: headers,
        formData: { sha256 },
      }));
    },
    storage: containerStorage(my, prefix),
    openSocket(url, protocol) {
      if (!my.connectSocket) return null;
      const wsUrl = socketUrl(baseUrl, url);
      if (multiple) {
        const task = my.connectSocket({ url: wsUrl, multiple: true, protocols: [protocol], fail: () => {} });
        if (task && task.onOpen) return taskSocket(task);
      }
      if (classic) classic.close(1000, 'replaced');
      classic = classicSocket(my, wsUrl, protocol);
      return classic;
    },
    ...containerClock,
    onOnline: (callback) => onReconnect(my, callback),
  };
}
