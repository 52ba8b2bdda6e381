// 缴费: choose a channel, create the order with an idempotency key kept per bill and channel (a retry, a double tap
// or a reload pays the same order), remember the order, then leave for the channel's cashier page. Coming back
// (browser back, or the /pay/return page) lands on the order's result page, which asks the server.
import { el, errorBox, errorText, loading, formatDate } from '../app.js';
import { BILL_STATUS } from './bills.js';

// Found among the newest bills first; the lines come from lookupBill (a list of lines costs too much per bill).
const BILLS = `query PayBills { myBills(first: 20) { edges { node { id billNo } } } }`;
const BILL = `query PayBill($input: LookupBillInput!) { lookupBill(input: $input) {
  id billNo subject issuer amountYuan status dueAt minAssuranceLevel applicationId applicationProjectNo
  lines { name amountYuan } } }`;

const CREATE = `mutation CreatePayment($input: CreatePaymentInput!) { createPayment(input: $input) { __typename
  ... on PaymentOrder { id billId status channel product expiresAt amountYuan sandboxCashierUrl
    payload { __typename ... on RedirectPayload { url } ... on QrCodePayload { codeUrl } } }
  ... on Error { code message path } } }`;

// WAP / H5 are the channels' mobile-web products: both answer a RedirectPayload to the cashier.
export const CHANNELS = [
  { channel: 'ALIPAY', product: 'WAP', label: '支付宝', testid: 'pay-channel-alipay' },
  { channel: 'WECHAT', product: 'H5', label: '微信支付', testid: 'pay-channel-wechat' },
];

const ENDED = new Set(['CLOSED', 'FAILED']);
const PREFIX = 'zsb.h5.pay.';
const read = (key) => {
  try { return JSON.parse(localStorage.getItem(PREFIX + key) || 'null'); } catch (error) { return null; }
};
const write = (key, value) => localStorage.setItem(PREFIX + key, JSON.stringify(value));

function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** The key of this intent to pay: created once per bill and channel, reused by every retry. */
export function idempotencyKey(billId, channel) {
  const name = `key.${billId}.${channel}`;
  let key = read(name);
  if (!key) {
    key = uuid();
    write(name, key);
  }
  return key;
}
export function forgetIdempotencyKey(billId, channel) { localStorage.removeItem(`${PREFIX}key.${billId}.${channel}`); }

/** The order the browser left for the cashier with: {orderId, billId, applicationId, cashierUrl, leftAt}. */
export const pendingOrder = () => read('pending');
export function rememberPending(order) { write('pending', order); }
export function markReturned() {
  const pending = read('pending');
  if (pending && !pending.returned) write('pending', { ...pending, returned: true });
}

export async function render(ctx, params) {
  const { client, root, navigate, toast } = ctx;
  const pending = pendingOrder();
  // Back from the cashier with the browser's back button: show what happened to that order.
  if (pending && pending.billId === params.billId && !pending.returned) {
    navigate(`#/pay/result/${encodeURIComponent(pending.orderId)}`, { replace: true });
    return;
  }
  root.append(el('h1', null, '缴费'));
  const body = el('div', null, loading());
  root.append(body);
  let bill;
  try {
    const found = (await client.graphql(BILLS)).myBills.edges.map((e) => e.node).find((b) => b.id === params.billId);
    bill = found ? (await client.graphql(BILL, { input: { billNo: found.billNo } })).lookupBill : null;
  } catch (error) {
    body.replaceChildren(errorBox(error));
    return;
  }
  if (!bill) {
    body.replaceChildren(el('div', { class: 'error', testid: 'pay-error', dataset: { code: 'NOT_FOUND' } }, '没有找到这张缴款单'));
    return;
  }
  const back = bill.applicationId
    ? el('a', { href: `#/application/${encodeURIComponent(bill.applicationId)}`, testid: 'pay-back-to-application' }, '返回办件')
    : el('a', { href: '#/bills', testid: 'pay-back-to-bills' }, '返回我的缴费');
  const summary = el('div', { class: 'card', style: 'overflow-wrap:anywhere', testid: 'pay-bill', dataset: { billNo: bill.billNo, status: bill.status } },
    el('p', null, bill.subject),
    el('p', { class: 'muted' }, `${bill.billNo} · ${bill.issuer}${bill.dueAt ? ` · 截止 ${formatDate(bill.dueAt)}` : ''}`),
    el('ul', { class: 'list' }, bill.lines.map((l) => el('li', { class: 'row' }, el('span', { class: 'grow' }, l.name), `¥${l.amountYuan}`))),
    el('p', { class: 'amount', testid: 'pay-amount' }, `应缴 ¥${bill.amountYuan}`));
  if (bill.status !== 'UNPAID') {
    body.replaceChildren(summary,
      el('p', { testid: 'pay-bill-status', dataset: { status: bill.status } }, `这张缴款单${BILL_STATUS[bill.status] || bill.status}，无需再缴。`),
      back);
    return;
  }
  let chosen = CHANNELS[0];
  const buttons = CHANNELS.map((c) => el('button', {
    type: 'button', testid: c.testid, class: c === chosen ? 'chosen' : '', dataset: { channel: c.channel },
    'aria-pressed': String(c === chosen),
    onclick: () => {
      chosen = c;
      for (const b of buttons) {
        const on = b.dataset.channel === c.channel;
        b.classList.toggle('chosen', on);
        b.setAttribute('aria-pressed', String(on));
      }
    },
  }, c.label));
  const message = el('div', { testid: 'pay-message' });
  const submit = el('button', { type: 'button', class: 'primary block', testid: 'pay-submit' }, `确认支付 ¥${bill.amountYuan}`);
  const last = pending && pending.billId === bill.id
    ? el('p', null, el('a', { href: `#/pay/result/${encodeURIComponent(pending.orderId)}`, testid: 'pay-last-order' }, '查看上次支付结果'))
    : null;
  body.replaceChildren(...[summary, el('h2', null, '支付方式'), el('div', { class: 'row' }, buttons), message, submit, last, back]
    .filter(Boolean));

  async function create(input) {
    const data = await client.graphql(CREATE, { input });
    return data.createPayment;
  }
  submit.addEventListener('click', async () => {
    submit.disabled = true;
    message.replaceChildren(el('p', { class: 'muted' }, '正在创建支付订单…'));
    const input = { billId: bill.id, channel: chosen.channel, product: chosen.product,
      idempotencyKey: idempotencyKey(bill.id, chosen.channel) };
    try {
      let order = await create(input);
      if (order.__typename === 'PaymentInProgressError') {
        await new Promise((resolve) => setTimeout(resolve, 1500));
        order = await create(input);
      }
      // The key's order was for another channel, or it was cancelled or failed: this is a new intent to pay.
      if (order.__typename === 'IdempotencyKeyReusedError' || (order.__typename === 'PaymentOrder' && ENDED.has(order.status))) {
        forgetIdempotencyKey(bill.id, chosen.channel);
        order = await create({ ...input, idempotencyKey: idempotencyKey(bill.id, chosen.channel) });
      }
      if (order.__typename !== 'PaymentOrder') {
        message.replaceChildren(errorBox(order, 'pay-error'));
        submit.disabled = false;
        return;
      }
      const cashierUrl = (order.payload && order.payload.url) || order.sandboxCashierUrl;
      if (!cashierUrl) {
        message.replaceChildren(el('div', { class: 'error', testid: 'pay-error' }, '支付渠道没有返回收银台地址，请稍后重试'));
        submit.disabled = false;
        return;
      }
      rememberPending({ orderId: order.id, billId: bill.id, applicationId: bill.applicationId || null,
        cashierUrl, leftAt: Date.now(), returned: false });
      message.replaceChildren(el('p', { class: 'muted', testid: 'pay-redirecting' }, `正在前往${chosen.label}收银台…`));
      location.href = cashierUrl;
    } catch (error) {
      toast(errorText(error));
      message.replaceChildren(errorBox(error, 'pay-error'));
      submit.disabled = false;
    }
  });
}
