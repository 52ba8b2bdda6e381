// 支付结果: the redirect back from a cashier proves nothing, so this page asks the server (confirmPayment, which
// asks the channel) and then polls the order every 2 s until it is PAID, CLOSED or FAILED.
// #/pay/return (where /pay/return's "返回掌上办" link leads) forwards to the order this browser left to pay.
import { el, errorBox, errorText, loading, formatDateTime } from '../app.js';
import { markReturned, pendingOrder } from './pay.js';

const ORDER = `query PayOrder($id: ID!) {
  paymentOrder(id: $id) { id billId status channel product amountYuan paidAt expiresAt sandboxCashierUrl
    payload { __typename ... on RedirectPayload { url } } }
  myBills(first: 20) { edges { node { id billNo subject status applicationId receipt { receiptNo } } } } }`;
const CONFIRM = `mutation ConfirmPayment($input: ConfirmPaymentInput!) { confirmPayment(input: $input) { __typename
  ... on PaymentOrder { id status } ... on Error { code message } } }`;

export const ORDER_STATUS = {
  CREATED: '订单已创建', PAYING: '等待支付结果', PAID: '支付成功', CLOSED: '订单已关闭', FAILED: '支付失败',
};
const FINAL = new Set(['PAID', 'CLOSED', 'FAILED']);
const POLL_MS = 2000;
const CONFIRM_EVERY_POLLS = 5; // ask the channel again every 10 s while the notify has not arrived
const GIVE_UP_MS = 5 * 60 * 1000;

export async function render(ctx, params) {
  const { client, root, navigate } = ctx;
  if (!params.orderId) {
    const pending = pendingOrder();
    if (pending && pending.orderId) {
      navigate(`#/pay/result/${encodeURIComponent(pending.orderId)}`, { replace: true });
    } else {
      root.append(el('h1', null, '支付结果'),
        el('p', { testid: 'pay-no-pending' }, '没有找到待确认的支付。'),
        el('a', { href: '#/bills', class: 'button block', testid: 'pay-to-bills' }, '查看我的缴费'));
    }
    return;
  }
  const orderId = params.orderId;
  const pending = pendingOrder();
  if (pending && pending.orderId === orderId) markReturned();

  const status = el('div', { class: 'card', style: 'overflow-wrap:anywhere', testid: 'pay-status', dataset: { status: 'UNKNOWN' } }, loading('正在确认支付结果…'));
  const detail = el('div');
  const actions = el('div');
  root.append(el('h1', null, '支付结果'), status, detail, actions);

  let left = false;
  let timer = null;
  const started = Date.now();
  let polls = 0;

  async function confirm() {
    try {
      const answer = (await client.graphql(CONFIRM, { input: { orderId } })).confirmPayment;
      if (answer.__typename !== 'PaymentOrder' && answer.code !== 'PAYMENT_IN_PROGRESS') {
        detail.replaceChildren(errorBox(answer, 'pay-error'));
      }
    } catch (error) {
      detail.replaceChildren(errorBox(error, 'pay-error'));
    }
  }

  function show(order, bill) {
    status.dataset.status = order.status;
    status.replaceChildren(...[
      el('p', { class: 'status-text', testid: 'pay-status-text' }, ORDER_STATUS[order.status] || order.status),
      el('p', { class: 'muted' }, `¥${order.amountYuan} · ${order.channel === 'ALIPAY' ? '支付宝' : '微信支付'}`,
        order.paidAt ? ` · ${formatDateTime(order.paidAt)}` : ''),
      bill ? el('p', { class: 'muted', testid: 'pay-bill-info', dataset: { billStatus: bill.status } },
        `${bill.subject}（${bill.billNo}）`, bill.receipt ? ` · 电子票据 ${bill.receipt.receiptNo}` : '') : null,
    ].filter(Boolean));
    const cashier = (order.payload && order.payload.url) || order.sandboxCashierUrl;
    const applicationId = (bill && bill.applicationId) || (pending && pending.orderId === orderId && pending.applicationId);
    actions.replaceChildren(...[
      !FINAL.has(order.status) && cashier
        ? el('a', { class: 'button block', href: cashier, testid: 'pay-reopen-cashier' }, '回到收银台继续支付') : null,
      !FINAL.has(order.status)
        ? el('button', { type: 'button', class: 'block', testid: 'pay-confirm', onclick: () => { confirm().then(poll); } }, '我已支付，刷新结果') : null,
      order.status !== 'PAID' && FINAL.has(order.status) && bill && bill.status === 'UNPAID'
        ? el('a', { class: 'button primary block', href: `#/pay/${encodeURIComponent(bill.id)}`, testid: 'pay-retry' }, '重新支付') : null,
      applicationId
        ? el('a', { class: 'button primary block', href: `#/application/${encodeURIComponent(applicationId)}`, testid: 'pay-back-to-application' }, '返回办件')
        : el('a', { class: 'button block', href: '#/bills', testid: 'pay-back-to-bills' }, '返回我的缴费'),
    ].filter(Boolean));
  }

  async function poll() {
    if (left) return;
    clearTimeout(timer);
    polls += 1;
    try {
      const data = await client.graphql(ORDER, { id: orderId });
      if (left) return;
      const order = data.paymentOrder;
      if (!order) {
        status.dataset.status = 'NOT_FOUND';
        status.replaceChildren(el('div', { class: 'error', testid: 'pay-error', dataset: { code: 'NOT_FOUND' } }, '没有找到这笔支付订单'));
        return;
      }
      const bill = data.myBills.edges.map((e) => e.node).find((b) => b.id === order.billId) || null;
      show(order, bill);
      if (FINAL.has(order.status) || Date.now() - started > GIVE_UP_MS) return;
      if (polls % CONFIRM_EVERY_POLLS === 0) await confirm();
    } catch (error) {
      detail.replaceChildren(el('p', { class: 'muted', testid: 'pay-poll-error' }, `查询失败，稍后重试：${errorText(error)}`));
    }
    if (!left && root.isConnected) timer = setTimeout(poll, POLL_MS);
  }

  await confirm();
  await poll();
  return () => {
    left = true;
    clearTimeout(timer);
  };
}
