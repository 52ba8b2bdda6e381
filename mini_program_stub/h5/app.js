// The H5 shell of 掌上办: one client, a hash router, the header and the bottom nav. Pages live in ./pages/*.js and
// are imported when first opened, so a missing or broken page shows an error instead of a blank app.
//
// A page module:  export async function render(ctx, params) { … }   // may return a cleanup function
//   ctx    = { client, root, navigate(hash, {replace}?), toast(text), el, onLeave(fn), signedIn() }
//            root is the page's own element; once the page is left, ctx.navigate does nothing and root is detached,
//            so a slow render cannot hijack the next page. onLeave(fn) (or the returned function) runs on leaving:
//            unsubscribe there.
//   params = { ...named parameters of the route (see ROUTES), query: {key: value} of `#/path?key=value`, route }
// Also exported for pages: el, fill(node, ...children), client, navigate, toast, errorText, errorBox, loading, formatDateTime, formatDate,
// actingAs() (the enterprise the session acts for, or null), actAs(enterpriseId | null), openDrafts() (the draft
// store of the current space: use it instead of client.drafts.open()), spaceKey(), refreshHeader(), ROUTES.
import { createClient, spaceKeyOf } from './client/index.js';
import { webPlatform } from './client/platform/web.js';
import { el, fill, toast, errorText, errorBox, loading } from './dom.js';

export const client = createClient({ platform: webPlatform({ baseUrl: location.origin }), channel: 'H5' });

// Route patterns in match order (`form/new/…` before `form/:draftId`); auth: a citizen session is needed.
export const ROUTES = [
  { pattern: 'signin', page: 'signin' },
  { pattern: '', page: 'my', auth: true },
  { pattern: 'search', page: 'search' },
  { pattern: 'guide/:serviceCode', page: 'guide' },
  { pattern: 'form/new/:serviceCode', page: 'form', auth: true },
  { pattern: 'form/:draftId', page: 'form', auth: true },
  { pattern: 'drafts', page: 'drafts', auth: true },
  { pattern: 'applications', page: 'applications', auth: true },
  { pattern: 'application/:id', page: 'application', auth: true },
  { pattern: 'progress', page: 'progress' },
  { pattern: 'bills', page: 'bills', auth: true },
  { pattern: 'pay/result/:orderId', page: 'pay_result', auth: true },
  { pattern: 'pay/return', page: 'pay_result', auth: true }, // the cashier's way back: the order this browser left
  { pattern: 'pay/:billId', page: 'pay', auth: true },
  { pattern: 'wallet', page: 'wallet', auth: true },
  { pattern: 'license/:id', page: 'license', auth: true },
  { pattern: 'verify', page: 'verify' },
  { pattern: 'inbox', page: 'inbox', auth: true },
  { pattern: 'rate/:applicationId', page: 'rate', auth: true },
  { pattern: 'handle', page: 'handle' },
];

export { el, fill, toast, errorText, errorBox, loading, formatDate, formatDateTime, pageThrough } from './dom.js';

const signedIn = () => Boolean(client.auth.session && client.auth.session.kind !== 'operator');

export function navigate(hash, options) {
  const target = hash.startsWith('#') ? hash : `#${hash.startsWith('/') ? '' : '/'}${hash}`;
  if (target === location.hash) {
    route();
  } else if (options && options.replace) {
    location.replace(target);
  } else {
    location.hash = target;
  }
}

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, '');
  const [path, search = ''] = raw.split('?');
  const query = Object.fromEntries(new URLSearchParams(search));
  return { path: path.replace(/\/+$/, ''), query, raw };
}

function matchRoute(path) {
  const segments = path === '' ? [] : path.split('/');
  for (const entry of ROUTES) {
    const parts = entry.pattern === '' ? [] : entry.pattern.split('/');
    if (parts.length !== segments.length) continue;
    const params = {};
    const ok = parts.every((part, i) => {
      if (part.startsWith(':')) {
        params[part.slice(1)] = decodeURIComponent(segments[i]);
        return segments[i] !== '';
      }
      return part === segments[i];
    });
    if (ok) return { entry, params };
  }
  return null;
}

let visit = 0;
let cleanups = [];

function leave() {
  for (const fn of cleanups.splice(0)) {
    try { fn(); } catch (error) { console.error('page cleanup failed', error); }
  }
}

async function route() {
  const mine = ++visit;
  const stale = () => mine !== visit;
  leave();
  const { path, query, raw } = parseHash();
  const match = matchRoute(path);
  const host = document.getElementById('page');
  const root = el('div', { class: 'page-body', dataset: { page: match ? match.entry.page : 'none' } });
  host.replaceChildren(root);
  markNav(path);
  if (!match) {
    root.append(el('div', { class: 'error', testid: 'page-not-found' }, `没有这个页面：#/${path}`));
    return;
  }
  if (match.entry.auth && !signedIn()) {
    navigate(`#/signin?next=${encodeURIComponent(`/${raw}`)}`, { replace: true });
    return;
  }
  const ctx = {
    client,
    root,
    el,
    toast,
    signedIn,
    navigate: (hash, options) => { if (!stale()) navigate(hash, options); },
    onLeave: (fn) => { if (stale()) fn(); else cleanups.push(fn); },
  };
  root.append(loading());
  let page;
  try {
    page = await import(`./pages/${match.entry.page}.js`);
  } catch (error) {
    if (stale()) return;
    console.error(error);
    root.replaceChildren(el('div', { class: 'error', testid: 'page-error' }, `页面加载失败（${match.entry.page}）：${errorText(error)}`));
    return;
  }
  if (stale()) return;
  root.replaceChildren();
  try {
    const cleanup = await page.render(ctx, { ...match.params, query, route: match.entry.pattern });
    if (typeof cleanup === 'function') ctx.onLeave(cleanup);
  } catch (error) {
    if (stale()) return;
    console.error(error);
    root.append(errorBox(error));
  }
}

function markNav(path) {
  const first = path.split('/')[0];
  for (const link of document.querySelectorAll('.app-nav a')) {
    link.classList.toggle('active', link.dataset.route === first);
  }
}

// --- header, inbox badge, background sync: follow the session ---

// The enterprise the session acts for decides the sync space (sync-protocol.md §2: P:{person} or E:{enterprise}),
// and a clientId belongs to one space for good: the draft store is opened per (person, space). Remembered per
// session so that a page reloaded offline still opens the right store.
const ACTING_KEY = 'zsb.h5.actingAs';
let actingAsEnterprise = null;
export const actingAs = () => actingAsEnterprise;

function rememberActing(enterprise, sessionId) {
  actingAsEnterprise = enterprise ? { id: enterprise.id, name: enterprise.name } : null;
  if (sessionId && actingAsEnterprise) {
    localStorage.setItem(ACTING_KEY, JSON.stringify({ sessionId, ...actingAsEnterprise }));
  } else {
    localStorage.removeItem(ACTING_KEY);
  }
}

function recallActing(session) {
  try {
    const stored = JSON.parse(localStorage.getItem(ACTING_KEY) || 'null');
    return stored && session && stored.sessionId === session.sessionId ? { id: stored.id, name: stored.name } : null;
  } catch (error) {
    return null;
  }
}

// The client keys its draft store by the space the session's token stands for (person, or enterprise acted for).
export const spaceKey = () => spaceKeyOf(client.auth.session);

export async function openDrafts() {
  await client.drafts.open();
  return client.drafts;
}

let syncedSpace = null;
async function followSpace() {
  const key = spaceKey();
  if (key === syncedSpace) return;
  syncedSpace = key;
  try { client.drafts.stop(); } catch (error) { /* never started */ }
  if (!key) return;
  try {
    await openDrafts();
    if (syncedSpace === key) client.drafts.start();
  } catch (error) {
    console.error('draft sync did not start', error);
  }
}

let headerRun = 0;
export async function refreshHeader() {
  const box = document.querySelector('[data-testid="header-user"]');
  const mine = ++headerRun;
  const session = client.auth.session;
  if (!session) {
    box.replaceChildren(el('a', { href: '#/signin', testid: 'header-signin' }, '登录'));
    return;
  }
  let name = session.name || (session.operator && session.operator.name) || '已登录';
  if (session.kind !== 'operator') {
    try {
      const data = await client.graphql('query HeaderMe { me { id name actingAs { id name } } }');
      if (mine !== headerRun) return;
      name = data.me.name || name;
      const before = spaceKey();
      rememberActing(data.me.actingAs, session.sessionId);
      if (spaceKey() !== before) followSpace();
    } catch (error) {
      // Offline: the remembered name and enterprise will do until the next change.
    }
  }
  if (mine !== headerRun) return;
  fill(box,
    el('span', { class: 'who', testid: 'header-name' }, name),
    actingAsEnterprise && el('span', { class: 'acting', testid: 'header-acting-as' }, `代 ${actingAsEnterprise.name}`),
    el('button', { type: 'button', class: 'link', testid: 'header-signout', onclick: signOut }, '退出'),
  );
}

const ACT_AS = `mutation ActAs($input: ActAsInput!) { actAs(input: $input) { __typename
  ... on AuthPayload { accessToken accessTokenExpiresAt refreshToken refreshTokenExpiresAt sessionId newAccount
    me { id name actingAs { id name } } }
  ... on Error { code message path } } }`;

// Acts for an enterprise (legal representative or 经办人) or, with null, for oneself again: the server rotates the
// session into tokens carrying the enterprise, and drafts then live in the enterprise's sync space.
export async function actAs(enterpriseId) {
  const data = await client.graphql(ACT_AS, { input: { enterpriseId } });
  const payload = client.unwrap(data.actAs);
  // Remembered first: adopting the session notifies followSession, which recalls it for the new tokens.
  rememberActing(payload.me.actingAs, payload.sessionId);
  await client.auth.adoptSession(payload);
  await followSpace();
  refreshHeader();
  return actingAsEnterprise;
}

async function signOut() {
  try { client.drafts.stop(); } catch (error) { /* not started */ }
  await client.auth.signOut();
  toast('已退出登录');
  navigate('#/signin');
}

function setBadge(count) {
  const badge = document.querySelector('[data-testid="nav-inbox-badge"]');
  const n = Math.max(0, Number(count) || 0);
  badge.textContent = n > 99 ? '99+' : String(n);
  badge.dataset.count = String(n);
  badge.hidden = n === 0;
}

let stopInbox = null;
let signedInAs = null;

function followSession(session) {
  const citizen = session && session.kind !== 'operator' ? session : null;
  const key = citizen ? `${citizen.personId}:${citizen.sessionId}` : null;
  if (key !== signedInAs) {
    const wasSignedIn = signedInAs !== null;
    signedInAs = key;
    if (stopInbox) { stopInbox(); stopInbox = null; }
    actingAsEnterprise = recallActing(citizen);
    if (citizen) {
      stopInbox = client.inbox.subscribe((update) => setBadge(update.unreadCount));
      client.graphql('query InboxBadge { myInbox(first: 1) { unreadCount } }')
        .then((data) => { if (signedInAs === key) setBadge(data.myInbox.unreadCount); })
        .catch(() => { /* the subscription's polling fills it in */ });
    } else {
      setBadge(0);
      if (wasSignedIn && matchRoute(parseHash().path)?.entry.auth) navigate('#/signin', { replace: true });
    }
  }
  followSpace();
  refreshHeader();
}

function watchConnectivity() {
  const show = () => document.body.classList.toggle('offline', !navigator.onLine);
  window.addEventListener('online', show);
  window.addEventListener('offline', show);
  show();
}

async function start() {
  watchConnectivity();
  window.addEventListener('hashchange', route);
  await client.ready;
  client.auth.onChange(followSession);
  // Not awaited: the first page must not wait for the draft store or the inbox.
  followSession(client.auth.session);
  route();
}

start().catch((error) => {
  console.error(error);
  document.getElementById('page').replaceChildren(errorBox(error, 'app-error'));
});
