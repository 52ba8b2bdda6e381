// 我的办件: the resident's cases, newest first, each opening its detail page.
import { el, loading, formatDate, pageThrough } from '../app.js';

const LIST = `query MyApplications($first: Int, $after: String) {
  myApplications(first: $first, after: $after) {
    edges { node { id projectNo itemName status statusLabel applyTime promiseDate evaluationStatus } }
    pageInfo { hasNextPage endCursor } totalCount } }`;

export function statusTag(status, label, testid) {
  return el('span', { class: `tag status-${String(status).toLowerCase()}`, testid, dataset: { status } }, label);
}

function item(node) {
  return el('li', { testid: 'application-item', dataset: { id: node.id, status: node.status } },
    el('a', { href: `#/application/${encodeURIComponent(node.id)}`, class: 'row' },
      el('div', { class: 'grow' },
        el('div', null, node.itemName),
        el('div', { class: 'muted' }, `${node.projectNo || '办件编号待分配'} · 申请于 ${formatDate(node.applyTime)}`,
          node.promiseDate ? ` · 承诺 ${formatDate(node.promiseDate)}` : '')),
      statusTag(node.status, node.statusLabel, 'application-item-status')));
}

export async function render(ctx) {
  const { client, root } = ctx;
  root.append(el('h1', null, '我的办件'));
  const list = el('ul', { class: 'list card', testid: 'application-list' });
  const more = el('button', { type: 'button', class: 'block', testid: 'applications-more', hidden: true }, '加载更多');
  const status = el('div', null, loading());
  root.append(status, list, more,
    el('p', { class: 'muted' }, el('a', { href: '#/progress', testid: 'applications-progress-link' }, '用办件编号和查询密码查询进度'),
      ' · ', el('a', { href: '#/bills', testid: 'applications-bills-link' }, '我的缴费')));

  await pageThrough({
    fetchPage: async (after) => (await client.graphql(LIST, { first: 20, after })).myApplications,
    item, status, list, more,
    empty: () => el('p', { class: 'muted', testid: 'applications-empty' }, '还没有办件。'),
  });
}
