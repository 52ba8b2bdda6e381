// 证照夹: the resident's electronic licences; each opens the licence page with its 亮证 QR.
import { el, loading, formatDate, pageThrough } from '../app.js';

const WALLET = `query MyLicenses($first: Int, $after: String) {
  myLicenses(first: $first, after: $after) {
    edges { node { id name typeName certNumber issuerName holderName validTo expiresInDays status } }
    pageInfo { hasNextPage endCursor } } }`;

export const LICENSE_STATUS = {
  VALID: '有效', SUSPENDED: '暂扣', RESCINDED: '撤销', CANCELLED: '注销', EXPIRED: '已过期',
  TRANSFERRED_OUT: '已转出', REVOKED: '吊销', OTHER: '其他',
};

export function validity(license) {
  if (!license.validTo) return '长期有效';
  const days = license.expiresInDays;
  const soon = typeof days === 'number' && days >= 0 && days <= 90 ? `（${days} 天后到期）` : '';
  return `有效期至 ${formatDate(license.validTo)}${soon}`;
}

function item(license) {
  return el('li', { testid: 'license-item', dataset: { id: license.id, status: license.status } },
    el('a', { href: `#/license/${encodeURIComponent(license.id)}`, class: 'row' },
      el('div', { class: 'grow' },
        el('div', null, license.name),
        el('div', { class: 'muted' }, `${license.certNumber} · ${license.issuerName}`),
        el('div', { class: 'muted' }, validity(license))),
      el('span', { class: 'tag', dataset: { status: license.status } }, LICENSE_STATUS[license.status] || license.status)));
}

export async function render(ctx) {
  const { client, root } = ctx;
  root.append(el('h1', null, '我的证照'));
  const status = el('div', null, loading());
  const list = el('ul', { class: 'list card', testid: 'license-list' });
  const more = el('button', { type: 'button', class: 'block', testid: 'wallet-more', hidden: true }, '加载更多');
  root.append(status, list, more,
    el('p', { class: 'muted' }, el('a', { href: '#/verify', testid: 'wallet-verify-link' }, '我是核验方：扫码核验证照')));
  await pageThrough({
    fetchPage: async (after) => (await client.graphql(WALLET, { first: 20, after })).myLicenses,
    item, status, list, more,
    empty: () => el('p', { class: 'muted', testid: 'wallet-empty' }, '证照夹是空的。'),
  });
}
