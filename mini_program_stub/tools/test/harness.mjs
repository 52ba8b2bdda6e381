// Runs a mini-program project in node: fake container globals (wx / my, App, Page, getApp) whose network API is
// a scripted GraphQL server, so pages execute for real against the vendored shared client.
// Needs the client vendored into the project first (tools/vendor-client.mjs).
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT_FIELD = /^[a-zA-Z]+$/;
const realSetTimeout = globalThis.setTimeout;

// The client sleeps with plain timers it cannot cancel (poll and backoff waits); unref'd, they no longer keep
// the test process alive after the last scenario. The harness's own waits keep real timers.
function unrefTimers() {
  globalThis.setTimeout = (callback, ms, ...args) => {
    const timer = realSetTimeout(callback, ms, ...args);
    timer.unref();
    return timer;
  };
}

// `answers` maps a root field name to (variables) => value; a query gets every root field it mentions.
// A request naming none of them fails like a dropped connection (the sync engine then just stays offline).
export function scriptedServer(answers) {
  const calls = [];
  function handle(opts) {
    const payload = opts.method === 'GET' ? {} : JSON.parse(opts.data || '{}');
    if (!payload.query) {
      return { status: 200, body: { errors: [{ message: 'PersistedQueryNotFound', extensions: { code: 'PERSISTED_QUERY_NOT_FOUND' } }] } };
    }
    const data = {};
    for (const field of Object.keys(answers)) {
      if (!ROOT_FIELD.test(field) || !new RegExp(`\\b${field}\\s*[({]`).test(payload.query)) continue;
      calls.push({ field, variables: payload.variables || {} });
      data[field] = answers[field](payload.variables || {});
    }
    return Object.keys(data).length ? { status: 200, body: { data } } : null;
  }
  return { calls, handle, called: (field) => calls.filter((call) => call.field === field) };
}

function fakeCanvas(log) {
  const context = {
    fillStyle: '',
    scale() {},
    setFillStyle(style) { context.fillStyle = style; },
    fillRect(x, y, w, h) { log.push(['fillRect', context.fillStyle, x, y, w, h]); },
    draw() { log.push(['draw']); },
  };
  return { node: { width: 0, height: 0, getContext: () => context }, width: 240, height: 240, context };
}

export function fakeContainer(server, log) {
  const storage = new Map();
  const canvas = fakeCanvas(log);
  const record = (name) => (options) => log.push([name, options]);
  return {
    env: { USER_DATA_PATH: '/tmp' },
    request(options) {
      setImmediate(() => {
        const answer = server.handle(options);
        if (!answer) options.fail({ errMsg: 'request:fail', errorMessage: 'request:fail' });
        else options.success({ statusCode: answer.status, status: answer.status, header: {}, headers: {}, data: JSON.stringify(answer.body) });
      });
    },
    getStorage({ key, success, fail }) {
      if (storage.has(key)) success({ data: storage.get(key) });
      else fail({ errMsg: 'getStorage:fail data not found' });
    },
    setStorage({ key, data, success }) { storage.set(key, data); success({}); },
    removeStorage({ key, success }) { storage.delete(key); success({}); },
    onNetworkStatusChange() {},
    offNetworkStatusChange() {},
    login({ success }) { success({ code: 'wx-login-code' }); },
    getAuthCode({ scopes, success }) { log.push(['getAuthCode', scopes]); success({ authCode: 'alipay-auth-code' }); },
    requestPayment(options) { log.push(['requestPayment', options]); options.success({ errMsg: 'requestPayment:ok' }); },
    tradePay(options) { log.push(['tradePay', options]); options.success({ resultCode: '9000' }); },
    // A picked file the page then cannot read: the page's read-failure path, without the chunked upload protocol.
    chooseMessageFile(options) {
      log.push(['chooseMessageFile', options.extension]);
      options.success({ tempFiles: [{ path: '/tmp/scan.pdf', name: 'scan.pdf' }] });
    },
    chooseImage(options) { log.push(['chooseImage']); options.success({ tempFilePaths: ['/tmp/scan.jpg'] }); },
    getFileSystemManager: () => ({
      readFile({ filePath, fail }) { log.push(['readFile', filePath]); fail({ errMsg: 'readFile:fail no such file' }); },
    }),
    datePicker(options) { log.push(['datePicker', options.currentDate]); options.success({ date: '2026-12-01' }); },
    createSelectorQuery: () => ({ select: () => ({ fields: () => ({ exec: (callback) => callback([canvas]) }) }) }),
    getWindowInfo: () => ({ pixelRatio: 2 }),
    createCanvasContext: () => canvas.context,
    showToast: record('toast'),
    navigateTo: ({ url }) => log.push(['navigateTo', url]),
    redirectTo: ({ url }) => log.push(['redirectTo', url]),
    switchTab: ({ url }) => log.push(['switchTab', url]),
    navigateBack: () => log.push(['navigateBack']),
    setTabBarBadge: record('setTabBarBadge'),
    removeTabBarBadge: record('removeTabBarBadge'),
    setNavigationBarTitle: record('title'),
    setNavigationBar: record('title'),
    stopPullDownRefresh() {},
    setClipboardData: record('clipboard'),
    setClipboard: record('clipboard'),
  };
}

// Loads app.js, launches it, and returns `open(route, query)` making fresh page instances the way the
// container does: a copy of the Page({...}) object whose setData merges into `data`.
// `request` replaces the scripted server with another transport (e.g. one reaching a live `zsb serve`).
export async function bootProject({ projectDir, globalName, answers, request }) {
  const log = [];
  const server = scriptedServer(answers);
  const definitions = new Map();
  let app = null;
  let loading = null;
  unrefTimers();
  globalThis[globalName] = fakeContainer(server, log);
  if (request) globalThis[globalName].request = request;
  globalThis.App = (definition) => { app = definition; };
  globalThis.getApp = () => app;
  globalThis.Page = (definition) => definitions.set(loading, definition);
  await import(pathToFileURL(join(projectDir, 'app.js')).href);
  app.onLaunch();

  async function open(route, query = {}) {
    if (!definitions.has(route)) {
      loading = route;
      await import(pathToFileURL(join(projectDir, `${route}.js`)).href);
    }
    const definition = definitions.get(route);
    const page = { ...definition, data: structuredClone(definition.data) };
    page.setData = (patch, callback) => {
      Object.assign(page.data, patch);
      if (callback) callback();
    };
    if (page.onLoad) await page.onLoad(query);
    if (page.onShow) await page.onShow();
    // Containers do not await lifecycle hooks, and pages start loads from them without returning the promise.
    await settle();
    return page;
  }

  return { app, open, log, server };
}

// The event object a tap on an element with data-* attributes produces (both containers fill currentTarget).
export function tapOn(dataset) {
  return { currentTarget: { dataset }, target: { dataset }, detail: {} };
}

// Older Alipay base libraries fill only `target`.
export function tapOnTarget(dataset) {
  return { target: { dataset }, detail: {} };
}

export function inputOf(value, dataset = {}) {
  return { currentTarget: { dataset }, target: { dataset }, detail: { value } };
}

export function settle() {
  return new Promise((resolve) => realSetTimeout(resolve, 50));
}
