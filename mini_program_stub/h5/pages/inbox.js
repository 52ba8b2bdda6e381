// 消息: the inbox, newest first, live: an inboxUpdates event (or the client's polling fallback) reloads the list.
// Opening an item marks it read and reports the open of its delivery once.
import { el, errorBox, errorText, loading, formatDateTime } from '../app.js';

const INBOX = `query MyInbox($first: Int) { myInbox(first: $first) { unreadCount
  edges { node { id category title body deeplink createdAt readAt deliveryId } } } }`;
const MARK_READ = `mutation MarkRead($input: MarkReadInput!) { markRead(input: $input) { __typename
  ... on InboxMarkedRead { marked } ... on Error { code message } } }`;
const OPENED = `mutation TrackNotificationOpened($input: TrackNotificationOpenedInput!) {
  trackNotificationOpened(input: $input) { __typename ... on NotificationOpened { openedAt } ... on Error { code } } }`;

const CATEGORY = { CRITICAL: '重要', SERVICE: '服务', CAMPAIGN: '推荐' };

/** The H5 route of an app deeplink (zsb://applications/ID …), or null when the H5 has no such page. */
export function deeplinkRoute(link) {
  const m = /^zsb:\/\/([a-z]+)(?:\/([^?#]+))?/.exec(link || '');
  if (!m) return null;
  const id = m[2] ? encodeURIComponent(decodeURIComponent(m[2])) : '';
  switch (m[1]) {
    case 'applications': return id ? `#/application/${id}` : '#/applications';
    case 'bills': return id ? `#/pay/${id}` : '#/bills';
    case 'licenses': return id ? `#/license/${id}` : '#/wallet';
    default: return null;
  }
}

export async function render(ctx) {
  const { client, root, toast } = ctx;
  const unread = el('span', { class: 'muted', testid: 'inbox-unread', dataset: { count: '0' } });
  const markAll = el('button', { type: 'button', class: 'link', testid: 'inbox-mark-read' }, '全部已读');
  const list = el('ul', { class: 'list card', testid: 'inbox-list', style: 'overflow-wrap:anywhere' });
  const status = el('div', null, loading());
  root.append(el('div', { class: 'row' }, el('h1', { class: 'grow' }, '消息'), unread, markAll), status, list);

  const opened = new Set(); // deliveries reported in this page's life; the server dedups across sessions too
  let items = [];
  let left = false;

  async function markRead(ids) {
    if (!ids.length) return;
    const answer = (await client.graphql(MARK_READ, { input: { ids } })).markRead;
    if (answer.__typename !== 'InboxMarkedRead') throw Object.assign(new Error(answer.message), { code: answer.code });
  }

  async function open(item, li) {
    li.classList.toggle('open');
    li.querySelector('.body').hidden = !li.classList.contains('open');
    try {
      if (!item.readAt) {
        await markRead([item.id]);
        item.readAt = new Date().toISOString();
        li.dataset.read = 'true';
      }
      if (item.deliveryId && !opened.has(item.deliveryId)) {
        opened.add(item.deliveryId);
        await client.graphql(OPENED, { input: { deliveryId: item.deliveryId } });
      }
    } catch (error) {
      toast(errorText(error));
    }
    load();
  }

  function row(item) {
    const route = deeplinkRoute(item.deeplink);
    const li = el('li', { testid: 'inbox-item', class: item.readAt ? 'read' : 'unread',
      dataset: { id: item.id, read: String(Boolean(item.readAt)), category: item.category } });
    li.append(
      el('div', { class: 'row', role: 'button', tabindex: '0', testid: 'inbox-item-open', onclick: () => open(item, li) },
        el('span', { class: 'tag' }, CATEGORY[item.category] || item.category),
        item.readAt ? null : el('span', { style: 'color:var(--bad)', 'aria-label': '未读' }, '●'),
        el('span', { class: 'grow', testid: 'inbox-item-title', style: item.readAt ? 'color:var(--muted)' : 'font-weight:600' },
          item.title),
        el('span', { class: 'muted' }, formatDateTime(item.createdAt))),
      el('div', { class: 'body', hidden: true },
        el('p', { testid: 'inbox-item-body' }, item.body),
        route ? el('a', { href: route, testid: 'inbox-item-link' }, '查看详情 ›') : null));
    return li;
  }

  let loading_ = null;
  let again = false; // an update arrived while a load was in flight: that load may predate it
  async function load() {
    if (loading_) {
      again = true;
      return loading_;
    }
    loading_ = (async () => {
      try {
        const conn = (await client.graphql(INBOX, { first: 50 })).myInbox;
        if (left) return;
        status.replaceChildren();
        unread.textContent = `未读 ${conn.unreadCount}`;
        unread.dataset.count = String(conn.unreadCount);
        const openIds = new Set([...list.querySelectorAll('li.open')].map((li) => li.dataset.id));
        items = conn.edges.map((e) => e.node);
        list.replaceChildren(...items.map((item) => {
          const li = row(item);
          if (openIds.has(item.id)) {
            li.classList.add('open');
            li.querySelector('.body').hidden = false;
          }
          return li;
        }));
        if (!items.length) status.append(el('p', { class: 'muted', testid: 'inbox-empty' }, '暂无消息。'));
      } catch (error) {
        if (!items.length) status.replaceChildren(errorBox(error));
      } finally {
        loading_ = null;
        if (again && !left) {
          again = false;
          load();
        }
      }
    })();
    return loading_;
  }

  markAll.addEventListener('click', async () => {
    markAll.disabled = true;
    try {
      await markRead(items.filter((i) => !i.readAt).map((i) => i.id));
      await load();
    } catch (error) {
      toast(errorText(error));
    } finally {
      markAll.disabled = false;
    }
  });

  await load();
  const unsubscribe = client.inbox.subscribe(() => { if (!left) load(); });
  return () => {
    left = true;
    try { unsubscribe(); } catch (error) { /* already closed */ }
  };
}
