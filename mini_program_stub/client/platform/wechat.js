// WeChat mini-programs: wx.request (text answers, parsed by the client), wx.getStorage / wx.setStorage,
// wx.connectSocket (a SocketTask per socket), wx.onNetworkStatusChange. Chunks go up as the multipart POST
// variant through wx.uploadFile, which needs a file: each chunk is written to USER_DATA_PATH first, because a
// binary PUT body is not accepted by every WeChat version.
import { NetworkError } from '../errors.js';

function absolute(baseUrl, url) {
  return /^[a-z]+:\/\//i.test(url) ? url : `${baseUrl.replace(/\/$/, '')}${url}`;
}

function lowerKeys(headers) {
  const out = {};
  for (const key of Object.keys(headers || {})) out[key.toLowerCase()] = String(headers[key]);
  return out;
}

export function toArrayBuffer(bytes) {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
}

function call(api, args) {
  return new Promise((resolve, reject) => api({ ...args, success: resolve, fail: reject }));
}

// options: {baseUrl (https origin of the API, a legal domain of the mini-program), prefix = 'zsb:', timeoutMs}
export function wechatPlatform(wx, options) {
  const opts = options || {};
  const baseUrl = opts.baseUrl || '';
  const prefix = opts.prefix === undefined ? 'zsb:' : opts.prefix;
  const timeout = opts.timeoutMs || 30000;
  let chunkFiles = 0;

  function transport(api, args) {
    return new Promise((resolve, reject) => {
      api({
        ...args,
        timeout,
        success: (res) => resolve({ status: res.statusCode, headers: lowerKeys(res.header),
          text: typeof res.data === 'string' ? res.data : JSON.stringify(res.data) }),
        fail: (err) => reject(new NetworkError((err && err.errMsg) || 'request failed', err)),
      });
    });
  }

  async function writeTempFile(bytes) {
    const fs = wx.getFileSystemManager();
    chunkFiles += 1;
    const filePath = `${wx.env.USER_DATA_PATH}/zsb-chunk-${Date.now()}-${chunkFiles}`;
    await call(fs.writeFile.bind(fs), { filePath, data: toArrayBuffer(bytes) }).catch((err) => {
      throw new NetworkError((err && err.errMsg) || 'cannot stage the chunk', err);
    });
    return { filePath, drop: () => fs.unlink({ filePath, fail: () => {} }) };
  }

  const platform = {
    name: 'wechat',
    syncPlatform: 'WECHAT_MP',
    request({ url, method, headers, body }) {
      const data = body instanceof Uint8Array ? toArrayBuffer(body) : body;
      return transport(wx.request, {
        url: absolute(baseUrl, url), method: method || 'GET', header: headers || {}, data,
        dataType: 'text', responseType: 'text',
      });
    },
    async uploadChunk({ url, headers, bytes, sha256 }) {
      const staged = await writeTempFile(bytes);
      try {
        return await transport(wx.uploadFile, {
          url: absolute(baseUrl, url), filePath: staged.filePath, name: 'chunk', header: headers, formData: { sha256 },
        });
      } finally {
        staged.drop();
      }
    },
    storage: {
      async get(key) {
        try {
          const res = await call(wx.getStorage, { key: prefix + key });
          return typeof res.data === 'string' ? res.data : null;
        } catch (err) {
          return null; // "data not found"
        }
      },
      async set(key, value) { await call(wx.setStorage, { key: prefix + key, data: value }); },
      async remove(key) { await call(wx.removeStorage, { key: prefix + key }).catch(() => null); },
    },
    openSocket(url, protocol) {
      if (!wx.connectSocket) return null;
      const task = wx.connectSocket({
        url: absolute(baseUrl, url).replace(/^http(s?):\/\//i, 'ws$1://'), protocols: [protocol], fail: () => {},
      });
      if (!task) return null;
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
    },
    now: () => Date.now(),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    random: () => Math.random(),
    onOnline(callback) {
      const listener = (res) => { if (res && res.isConnected) callback(); };
      wx.onNetworkStatusChange(listener);
      return () => { if (wx.offNetworkStatusChange) wx.offNetworkStatusChange(listener); };
    },
  };
  return platform;
}
