// Browsers (H5) and Node ≥ 20: fetch, localStorage under a key prefix (an in-memory map where there is none),
// WebSocket, and the window's 'online' event.
import { NetworkError } from '../errors.js';

function absolute(baseUrl, url) {
  return /^[a-z]+:\/\//i.test(url) ? url : `${baseUrl.replace(/\/$/, '')}${url}`;
}

export function socketUrl(baseUrl, url) {
  return absolute(baseUrl, url).replace(/^http(s?):\/\//i, 'ws$1://');
}

function memoryStorage() {
  const map = new Map();
  return {
    getItem: (key) => (map.has(key) ? map.get(key) : null),
    setItem: (key, value) => { map.set(key, String(value)); },
    removeItem: (key) => { map.delete(key); },
  };
}

function defaultStorage() {
  try {
    // Reading localStorage throws in some privacy modes.
    if (typeof localStorage !== 'undefined' && localStorage) return localStorage;
  } catch (error) { /* fall through */ }
  return memoryStorage();
}

// options: {baseUrl = location.origin, prefix = 'zsb:', fetch, localStorage, WebSocket, window}
export function webPlatform(options) {
  const opts = options || {};
  const baseUrl = opts.baseUrl || (typeof location !== 'undefined' ? location.origin : '');
  const prefix = opts.prefix === undefined ? 'zsb:' : opts.prefix;
  const fetchImpl = opts.fetch || globalThis.fetch.bind(globalThis);
  const store = opts.localStorage || defaultStorage();
  const Socket = 'WebSocket' in opts ? opts.WebSocket : globalThis.WebSocket;
  const win = opts.window || (typeof window !== 'undefined' ? window : null);

  return {
    name: 'web',
    syncPlatform: 'WEB',
    async request({ url, method, headers, body }) {
      let response;
      try {
        response = await fetchImpl(absolute(baseUrl, url), { method: method || 'GET', headers: headers || {}, body });
      } catch (error) {
        throw new NetworkError(error && error.message, error);
      }
      const lowered = {};
      response.headers.forEach((value, key) => { lowered[key.toLowerCase()] = value; });
      let text;
      try {
        text = await response.text();
      } catch (error) {
        throw new NetworkError('the connection dropped mid-answer', error);
      }
      return { status: response.status, headers: lowered, text };
    },
    storage: {
      async get(key) { return store.getItem(prefix + key); },
      async set(key, value) { store.setItem(prefix + key, value); },
      async remove(key) { store.removeItem(prefix + key); },
    },
    openSocket(url, protocol) {
      if (!Socket) return null;
      let ws;
      try {
        ws = new Socket(socketUrl(baseUrl, url), protocol);
      } catch (error) {
        return null;
      }
      const handle = {
        onopen: null, onmessage: null, onclose: null, onerror: null,
        send(text) { ws.send(text); },
        close(code, reason) { ws.close(code, reason); },
      };
      ws.onopen = () => { if (handle.onopen) handle.onopen(); };
      ws.onmessage = (event) => { if (handle.onmessage) handle.onmessage(String(event.data)); };
      ws.onclose = (event) => { if (handle.onclose) handle.onclose(event.code); };
      ws.onerror = () => { if (handle.onerror) handle.onerror(); };
      return handle;
    },
    now: () => Date.now(),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    random: () => Math.random(),
    onOnline(callback) {
      if (!win || !win.addEventListener) return () => {};
      win.addEventListener('online', callback);
      return () => win.removeEventListener('online', callback);
    },
  };
}
