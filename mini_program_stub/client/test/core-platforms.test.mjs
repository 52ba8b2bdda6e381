import { test } from 'node:test';
import assert from 'node:assert/strict';
import { webPlatform, socketUrl } from '../platform/web.js';
import { wechatPlatform } from '../platform/wechat.js';
import { alipayPlatform } from '../platform/alipay.js';
import { createUploads } from '../uploads.js';
import { NetworkError } from '../errors.js';

// A fake wx / my: records calls, answers with what the test scripted.
function fakeMiniProgram(kind) {
  const storage = new Map();
  const files = new Map();
  const calls = [];
  const listeners = { network: [], socket: {} };
  const api = {
    calls, storage, files, listeners,
    answer: null, // (args) => ({success: res} | {fail: err})
    env: { USER_DATA_PATH: kind === 'wx' ? 'wxfile://usr' : 'https://usr' },
    request(args) {
      calls.push(['request', args]);
      const outcome = api.answer(args);
      setTimeout(() => (outcome.success ? args.success(outcome.success) : args.fail(outcome.fail)), 0);
    },
    uploadFile(args) {
      calls.push(['uploadFile', args, files.get(args.filePath)]);
      const outcome = api.answer(args);
      setTimeout(() => (outcome.success ? args.success(outcome.success) : args.fail(outcome.fail)), 0);
    },
    getFileSystemManager() {
      return {
        writeFile(args) { files.set(args.filePath, new Uint8Array(args.data)); args.success({}); },
        unlink(args) { files.delete(args.filePath); },
      };
    },
    getStorage({ key, success, fail }) {
      if (storage.has(key)) success({ data: storage.get(key) });
      else if (kind === 'wx') fail({ errMsg: 'getStorage:fail data not found' });
      else success({ data: null });
    },
    setStorage({ key, data, success }) { storage.set(key, data); success({}); },
    removeStorage({ key, success }) { storage.delete(key); success({}); },
    onNetworkStatusChange(cb) { listeners.network.push(cb); },
    offNetworkStatusChange(cb) { listeners.network = listeners.network.filter((x) => x !== cb); },
  };
  return api;
}

function fakeTask() {
  const task = { sent: [], closed: null, handlers: {} };
  for (const name of ['onOpen', 'onMessage', 'onClose', 'onError']) task[name] = (cb) => { task.handlers[name] = cb; };
  task.send = ({ data }) => task.sent.push(data);
  task.close = (args) => { task.closed = args; };
  return task;
}

test('wechat: wx.request with text answers, lower-cased headers, binary bodies as ArrayBuffer', async () => {
  const wx = fakeMiniProgram('wx');
  wx.answer = () => ({ success: { statusCode: 200, header: { 'X-Request-Id': 'r1' }, data: '{"data":{}}' } });
  const platform = wechatPlatform(wx, { baseUrl: 'https://api.example.test' });
  const res = await platform.request({ url: '/graphql', method: 'POST', headers: { A: '1' }, body: '{}' });
  assert.deepEqual(res, { status: 200, headers: { 'x-request-id': 'r1' }, text: '{"data":{}}' });
  const args = wx.calls[0][1];
  assert.equal(args.url, 'https://api.example.test/graphql');
  assert.equal(args.dataType, 'text');
  assert.equal(args.responseType, 'text');
  assert.deepEqual(args.header, { A: '1' });
  await platform.request({ url: '/x', method: 'PUT', body: new Uint8Array([1, 2, 3]).subarray(1) });
  assert.ok(wx.calls[1][1].data instanceof ArrayBuffer);
  assert.deepEqual([...new Uint8Array(wx.calls[1][1].data)], [2, 3]);
  wx.answer = () => ({ fail: { errMsg: 'request:fail timeout' } });
  await assert.rejects(platform.request({ url: '/graphql' }), (e) => e instanceof NetworkError && /timeout/.test(e.message));
});

test('wechat: storage is promisified with a prefix; a missing key reads as null', async () => {
  const wx = fakeMiniProgram('wx');
  const platform = wechatPlatform(wx, { baseUrl: 'https://a.test' });
  assert.equal(await platform.storage.get('k'), null);
  await platform.storage.set('k', 'v');
  assert.equal(wx.storage.get('zsb:k'), 'v');
  assert.equal(await platform.storage.get('k'), 'v');
  await platform.storage.remove('k');
  assert.equal(await platform.storage.get('k'), null);
});

test('wechat: chunks go up through wx.uploadFile as the multipart variant from a staged file', async () => {
  const wx = fakeMiniProgram('wx');
  wx.answer = () => ({ success: { statusCode: 201, data: '{"receivedChunks":[0]}' } });
  const platform = wechatPlatform(wx, { baseUrl: 'https://a.test' });
  const res = await platform.uploadChunk({ url: '/sync/uploads/u1/chunks/0', headers: { Authorization: 'Bearer t' },
    bytes: new Uint8Array([9, 8, 7]), sha256: 'ab'.repeat(32) });
  assert.equal(res.status, 201);
  const [, args, staged] = wx.calls[0];
  assert.equal(args.url, 'https://a.test/sync/uploads/u1/chunks/0');
  assert.equal(args.name, 'chunk');
  assert.deepEqual(args.formData, { sha256: 'ab'.repeat(32) });
  assert.deepEqual(args.header, { Authorization: 'Bearer t' });
  assert.deepEqual([...staged], [9, 8, 7]);
  assert.equal(wx.files.size, 0); // the staged file is removed afterwards
});

test('uploads.js uses the platform hook instead of PUT when the adapter has one', async () => {
  const wx = fakeMiniProgram('wx');
  wx.answer = () => ({ success: { statusCode: 201, data: '{}' } });
  const platform = wechatPlatform(wx, { baseUrl: 'https://a.test' });
  const graphql = async (query) => {
    if (query.includes('createUpload')) {
      return { createUpload: { __typename: 'Upload', id: 'u9', size: 3, chunkSize: 2, receivedChunks: [], status: 'PENDING' } };
    }
    return { completeUpload: { __typename: 'Upload', id: 'u9', status: 'COMPLETE' } };
  };
  const uploads = createUploads({ graphql, platform, auth: { accessToken: async () => 't' }, clientId: async () => 'c' });
  await uploads.upload({ bytes: new Uint8Array([1, 2, 3]), fileName: 'x.png', mime: 'image/png' });
  assert.deepEqual(wx.calls.map((c) => c[0]), ['uploadFile', 'uploadFile']);
  assert.deepEqual(wx.calls.map((c) => c[1].url.split('/').pop()), ['0', '1']);
});

test('wechat: SocketTask wrapped; network events announce coming back online', async () => {
  const wx = fakeMiniProgram('wx');
  const task = fakeTask();
  wx.connectSocket = (args) => { wx.calls.push(['connectSocket', args]); return task; };
  const platform = wechatPlatform(wx, { baseUrl: 'https://a.test' });
  const socket = platform.openSocket('/graphql', 'graphql-transport-ws');
  assert.equal(wx.calls[0][1].url, 'wss://a.test/graphql');
  assert.deepEqual(wx.calls[0][1].protocols, ['graphql-transport-ws']);
  const seen = [];
  socket.onopen = () => seen.push('open');
  socket.onmessage = (text) => seen.push(text);
  socket.onclose = (code) => seen.push(code);
  task.handlers.onOpen();
  task.handlers.onMessage({ data: '{"type":"ping"}' });
  socket.send('{"type":"pong"}');
  task.handlers.onClose({ code: 4401 });
  assert.deepEqual(seen, ['open', '{"type":"ping"}', 4401]);
  assert.deepEqual(task.sent, ['{"type":"pong"}']);
  let online = 0;
  const off = platform.onOnline(() => { online += 1; });
  wx.listeners.network.forEach((cb) => cb({ isConnected: false }));
  wx.listeners.network.forEach((cb) => cb({ isConnected: true }));
  off();
  wx.listeners.network.forEach((cb) => cb({ isConnected: true }));
  assert.equal(online, 1);
});

test('alipay: my.request with dataType text; an HTTP error reported through fail is still an answer', async () => {
  const my = fakeMiniProgram('my');
  my.answer = () => ({ success: { status: 200, headers: { 'Content-Type': 'application/json' }, data: '{"a":1}' } });
  const platform = alipayPlatform(my, { baseUrl: 'https://a.test/' });
  const res = await platform.request({ url: '/graphql', method: 'POST', headers: { B: '2' }, body: '{}' });
  assert.deepEqual(res, { status: 200, headers: { 'content-type': 'application/json' }, text: '{"a":1}' });
  assert.equal(my.calls[0][1].dataType, 'text');
  assert.deepEqual(my.calls[0][1].headers, { B: '2' });
  assert.equal(my.calls[0][1].url, 'https://a.test/graphql');
  my.answer = () => ({ fail: { error: 19, status: 401, headers: {}, data: '{"code":"UNAUTHENTICATED"}' } });
  assert.equal((await platform.request({ url: '/x' })).status, 401);
  my.answer = () => ({ fail: { error: 12, errorMessage: '网络出错' } });
  await assert.rejects(platform.request({ url: '/x' }), (e) => e instanceof NetworkError && e.message === '网络出错');
  assert.equal(await platform.storage.get('missing'), null);
  await platform.storage.set('s', 'v');
  assert.equal(await platform.storage.get('s'), 'v');
});

test('alipay: my.uploadFile sends the chunk file part and the sha256 field', async () => {
  const my = fakeMiniProgram('my');
  my.answer = () => ({ success: { statusCode: 200, data: '{"receivedChunks":[0]}' } });
  const platform = alipayPlatform(my, { baseUrl: 'https://a.test' });
  const res = await platform.uploadChunk({ url: '/sync/uploads/u/chunks/0', headers: {}, bytes: new Uint8Array([5]),
    sha256: 'cd'.repeat(32) });
  assert.equal(res.status, 200);
  const [, args, staged] = my.calls[0];
  assert.equal(args.fileName, 'chunk');
  assert.deepEqual(args.formData, { sha256: 'cd'.repeat(32) });
  assert.deepEqual([...staged], [5]);
});

test('alipay: the classic single-socket API is wrapped through the global listeners', async () => {
  const my = fakeMiniProgram('my');
  const on = {};
  const off = [];
  for (const name of ['Open', 'Message', 'Close', 'Error']) {
    my[`onSocket${name}`] = (cb) => { on[name] = cb; };
    my[`offSocket${name}`] = (cb) => { off.push(name); if (on[name] === cb) delete on[name]; };
  }
  const sent = [];
  my.connectSocket = (args) => { my.calls.push(['connectSocket', args]); };
  my.sendSocketMessage = ({ data }) => sent.push(data);
  my.closeSocket = (args) => { sent.push(['close', args.code]); };
  const platform = alipayPlatform(my, { baseUrl: 'https://a.test', multipleSockets: false });
  const socket = platform.openSocket('/graphql', 'graphql-transport-ws');
  assert.equal(my.calls[0][1].url, 'wss://a.test/graphql');
  const seen = [];
  socket.onopen = () => seen.push('open');
  socket.onmessage = (text) => seen.push(text);
  socket.onclose = (code) => seen.push(code);
  on.Open();
  on.Message({ data: '{"type":"connection_ack"}' });
  socket.send('{"type":"ping"}');
  socket.close(1000, 'bye');
  on.Close({ code: 1000 });
  assert.deepEqual(seen, ['open', '{"type":"connection_ack"}', 1000]);
  assert.deepEqual(sent, ['{"type":"ping"}', ['close', 1000]]);
  assert.deepEqual(off.sort(), ['Close', 'Error', 'Message', 'Open']);
});

test('alipay: a SocketTask is used when the base library offers multiple sockets', () => {
  const my = fakeMiniProgram('my');
  const task = fakeTask();
  my.canIUse = (what) => what === 'connectSocket.object.multiple';
  my.connectSocket = (args) => { my.calls.push(['connectSocket', args]); return task; };
  const platform = alipayPlatform(my, { baseUrl: 'http://localhost:8000' });
  const socket = platform.openSocket('/graphql', 'graphql-transport-ws');
  assert.equal(my.calls[0][1].multiple, true);
  assert.equal(my.calls[0][1].url, 'ws://localhost:8000/graphql');
  socket.close(4000, 'x');
  assert.deepEqual(task.closed, { code: 4000, reason: 'x' });
});

test('web: fetch answers, NetworkError on a failed fetch, prefixed localStorage, ws URL', async () => {
  const fetched = [];
  const fetch = async (url, init) => {
    fetched.push([url, init]);
    if (url.endsWith('/down')) throw new TypeError('Failed to fetch');
    return { status: 201, headers: new Headers({ 'X-Request-Id': 'r' }), text: async () => 'ok' };
  };
  const items = new Map();
  const localStorage = { getItem: (k) => (items.has(k) ? items.get(k) : null), setItem: (k, v) => items.set(k, v),
    removeItem: (k) => items.delete(k) };
  const platform = webPlatform({ baseUrl: 'https://h5.test', fetch, localStorage, prefix: 't:' });
  const res = await platform.request({ url: '/graphql', method: 'POST', headers: {}, body: '{}' });
  assert.deepEqual(res, { status: 201, headers: { 'x-request-id': 'r' }, text: 'ok' });
  assert.equal(fetched[0][0], 'https://h5.test/graphql');
  await assert.rejects(platform.request({ url: '/down' }), (e) => e instanceof NetworkError && e.offline);
  await platform.storage.set('a', 'b');
  assert.equal(items.get('t:a'), 'b');
  assert.equal(await platform.storage.get('a'), 'b');
  assert.equal(socketUrl('https://h5.test', '/graphql'), 'wss://h5.test/graphql');
  assert.equal(socketUrl('http://127.0.0.1:8000', '/graphql'), 'ws://127.0.0.1:8000/graphql');
  assert.equal(webPlatform({ baseUrl: 'x', fetch, WebSocket: null }).openSocket('/graphql', 'p'), null);
});
