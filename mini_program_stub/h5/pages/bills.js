// 我的缴费: every bill of the resident, newest first; an unpaid one opens the pay page.
import { el, loading, formatDate, pageThrough } from '../app.js';

const BILLS = `query MyBills($first: Int, $after: String) {
  myBills(first: $first, after: $after) {
    edges { node { id billNo kind subject issuer amountYuan status dueAt paidAt applicationId applicationProjectNo
      receipt { receiptNo } } }
    pageInfo { hasNextPage endCursor } } }`;

export const BILL_STATUS = {
  UNPAID: '待缴费', PAID: '已缴费', PARTIALLY_REFUNDED: '部分退款', REFUNDED: '已退款', CANCELLED: '已取消',
};
const KIND = { APPLICATION_FEE: '办件费用', FINE: '罚没款', UTILITY: '水电燃气', SOCIAL_INSURANCE: '社保', OTHER: '其他' };

function item(bill) {
  const unpaid = bill.status === 'UNPAID';
  return el('li', { testid: 'bill-item', dataset: { id: bill.id, status: bill.status, billNo: bill.billNo } },
    el('div', { class: 'row' },
      el('div', { class: 'grow' },
        el('div', null, bill.subject),
        el('div', { class: 'muted' }, `${KIND[bill.kind] || bill.kind} · ${bill.billNo} · ${bill.issuer}`,
          bill.dueAt ? ` · 截止 ${formatDate(bill.dueAt)}` : '',
          bill.receipt ? ` · 票据 ${bill.receipt.receiptNo}` : '')),
      el('div', null,
        el('div', null, `¥${bill.amountYuan}`),
        el('span', { class: 'tag', testid: 'bill-status', dataset: { status: bill.status } }, BILL_STATUS[bill.status] || bill.status))),
    el('div', { class: 'row' },
      unpaid ? el('a', { class: 'button primary', href: `#/pay/${encodeURIComponent(bill.id)}`, testid: 'bill-pay' }, '去缴费') : null,
      bill.applicationId ? el('a', { href: `#/application/${encodeURIComponent(bill.applicationId)}`, testid: 'bill-application' },
        `办件 ${bill.applicationProjectNo || ''}`) : null));
}

export async function render(ctx) {
  const { client, root } = ctx;
  root.append(el('h1', null, '我的缴费'));
  const status = el('div', null, loading());
  const list = el('ul', { class: 'list card', testid: 'bill-list' });
  const more = el('button', { type: 'button', class: 'block', testid: 'bills-more', hidden: true }, '加载更多');
  root.append(status, list, more);
  await pageThrough({
    fetchPage: async (after) => (await client.graphql(BILLS, { first: 20, after })).myBills,
    item, status, list, more,
    empty: () => el('p', { class: 'muted', testid: 'bills-empty' }, '没有缴款单。'),
  });
}
