// WeChat mini-programs: wx.request (text answers, parsed by the client), wx.getStorage / wx.setStorage,
// wx.connectSocket (a SocketTask per socket), wx.onNetworkStatusChange. Chunks go up as the multipart POST
// variant through wx.uploadFile, which needs a file: each chunk is written to USER_DATA_PATH first, because a
// binary PUT body is not accepted by every WeChat version.
import { NetworkError } from '../errors.js';
import {
  absolute, containerClock, containerStorage, lowerKeys, onReconnect, socketUrl, taskSocket, toArrayBuffer,
  withStagedChunk,
} from './container.js';

// options: {baseUrl (https origin of the API, a legal domain of the mini-program), prefix = 'zsb:', timeoutMs}
export function wechatPlatform(wx, options) {
  const opts = options || {};
  const baseUrl = opts.baseUrl || '';
  const prefix = opts.prefix === undefined ? 'zsb:' : opts.prefix;
  const timeout = opts.timeoutMs || 30000;

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

  return {
    name: 'wechat',
    syncPlatform: 'WECHAT_MP',
    request({ url, method, headers, body }) {
      const data = body instanceof Uint8Array ? toArrayBuffer(body) : body;
      return transport(wx.request, {
        url: absolute(baseUrl, url), method: method || 'GET', header: headers || {}, data,
        dataType: 'text', responseType: 'text',
      });
    },
    uploadChunk({ url, headers, bytes, sha256 }) {
      return withStagedChunk(wx, bytes, (filePath) => transport(wx.uploadFile, {
        url: absolute(baseUrl, url), filePath, name: 'chunk', header: headers, formData: { sha256 },
      }));
    },
    storage: containerStorage(wx, prefix),
    openSocket(url, protocol) {
      if (!wx.connectSocket) return null;
      const task = wx.connectSocket({ url: socketUrl(baseUrl, url), protocols: [protocol], fail: () => {} });
      return task ? taskSocket(task) : null;
    },
    ...containerClock,
    onOnline: (callback) => onReconnect(wx, callback),
  };
}
