// A platform for tests: in-memory storage, a scripted `request`, fake sockets and a fake clock whose timers run
// only when the test advances time, so backoff and polling are tested without waiting.
import { NetworkError } from '../errors.js';

function lowerKeys(headers) {
  const out = {};
  for (const key of Object.keys(headers || {})) out[key.toLowerCase()] = headers[key];
  return out;
}

// A fake socket the test drives from the server side: `serverSend(obj)`, `serverClose(code)`, `open()`; the
// client's frames are in `sent` (parsed JSON).
function fakeSocket(url, protocol) {
  const socket = {
    url, protocol, sent: [], closed: null,
    onopen: null, onmessage: null, onclose: null, onerror: null,
    send(text) {
      if (socket.closed) throw new Error('socket closed');
      socket.sent.push(JSON.parse(text));
    },
    close(code, reason) {
      if (socket.closed) return;
      socket.closed = { code: code || 1000, reason: reason || '', byClient: true };
      if (socket.onclose) socket.onclose(code || 1000);
    },
    open() { if (socket.onopen) socket.onopen(); },
    serverSend(message) { if (socket.onmessage) socket.onmessage(JSON.stringify(message)); },
    serverClose(code) {
      if (socket.closed) return;
      socket.closed = { code, reason: '', byClient: false };
      if (socket.onclose) socket.onclose(code);
    },
  };
  return socket;
}

// options.handler(req) -> {status, headers?, body?: object, text?: string} | Promise of it; throwing (or returning
// 'offline') makes the request fail as a NetworkError. options.sockets: false for a platform without WebSocket.
export function memoryPlatform(options) {
  const opts = options || {};
  // options.store: a Map kept by the test across platform instances (an app restarted on the same phone).
  const store = opts.store || new Map(Object.entries(opts.storage || {}));
  const timers = [];
  const onlineListeners = new Set();
  let clock = opts.now === undefined ? 1700000000000 : opts.now;
  let sequence = 0;
  const platform = {
    name: 'memory',
    syncPlatform: opts.syncPlatform || 'WEB',
    requests: [],
    sockets: [],
    sleeps: [], // every sleep asked for, in order: what backoff tests read
    store,
    handler: opts.handler || null,
    async request(req) {
      const copy = { url: req.url, method: req.method || 'GET', headers: lowerKeys(req.headers), body: req.body };
      platform.requests.push(copy);
      if (!platform.handler) throw new NetworkError('no handler');
      let answer;
      try {
        answer = await platform.handler(copy);
      } catch (error) {
        throw error && error.name === 'NetworkError' ? error : new NetworkError(String(error && error.message));
      }
      if (answer === 'offline') throw new NetworkError('offline');
      const text = answer.text !== undefined ? answer.text : JSON.stringify(answer.body === undefined ? {} : answer.body);
      return { status: answer.status || 200, headers: lowerKeys(answer.headers), text };
    },
    storage: {
      async get(key) { return store.has(key) ? store.get(key) : null; },
      async set(key, value) {
        if (typeof value !== 'string') throw new TypeError('storage holds strings');
        store.set(key, value);
      },
      async remove(key) { store.delete(key); },
    },
    openSocket(url, protocol) {
      if (opts.sockets === false) return null;
      const socket = fakeSocket(url, protocol);
      platform.sockets.push(socket);
      if (opts.onSocket) opts.onSocket(socket);
      return socket;
    },
    now() { return clock; },
    sleep(ms) {
      platform.sleeps.push(ms);
      return new Promise((resolve) => {
        timers.push({ at: clock + Math.max(0, ms), seq: sequence++, resolve });
      });
    },
    random() { return opts.random === undefined ? 0.5 : opts.random; },
    onOnline(callback) {
      onlineListeners.add(callback);
      return () => onlineListeners.delete(callback);
    },
    // Test controls below.
    goOnline() { for (const callback of [...onlineListeners]) callback(); },
    pendingTimers() { return timers.length; },
    async advance(ms) {
      const target = clock + ms;
      for (;;) {
        await settle();
        timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
        if (!timers.length || timers[0].at > target) break;
        const due = timers.shift();
        clock = due.at;
        due.resolve();
      }
      clock = target;
      await settle();
    },
  };
  return platform;
}

// Lets pending promise chains (including awaited fake requests) run before the test looks.
export async function settle(rounds) {
  for (let i = 0; i < (rounds || 20); i += 1) await new Promise((resolve) => nextTurn(resolve));
}

const nextTurn = typeof setImmediate === 'function' ? setImmediate : (fn) => setTimeout(fn, 0);
