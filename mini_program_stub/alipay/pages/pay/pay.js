import { CONFIRM_PAYMENT, CREATE_PAYMENT, LOOKUP_BILL } from '../../graphql.js';
import { newIdempotencyKey, showError, showMessage } from '../../util.js';

const FINAL_STATUSES = ['PAID', 'CLOSED', 'FAILED'];
const CONFIRM_ATTEMPTS = 10;
// The server asks the channel at most once per order every 2 s, so polling faster only returns stored state.
const CONFIRM_INTERVAL_MS = 2000;
const STATUS_LABELS = { CREATED: '待支付', PAYING: '支付中', PAID: '已支付', CLOSED: '已关闭', FAILED: '支付失败' };

function wait(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// Alipay's resultCode is only a hint (9000 paid, 6001 cancelled): the order status comes from confirmPayment.
function requestAlipayPayment(payload) {
  return new Promise((resolve) => {
    my.tradePay({
      tradeNO: payload.tradeNo,
      success: (result) => resolve(result.resultCode === '6001' ? 'cancel' : 'ok'),
      fail: () => resolve('fail'),
    });
  });
}

Page({
  data: {
    bill: null,
    order: null,
    statusLabel: '',
    paying: false,
    cashierUrl: '',
  },

  async onLoad(query) {
    const app = getApp();
    try {
      await app.whenSignedIn();
      const data = await app.client.graphql(LOOKUP_BILL, { billNo: query.billNo });
      if (!data.lookupBill) throw new Error('未找到该缴款单');
      this.setData({ bill: data.lookupBill });
    } catch (error) {
      showError(error);
    }
  },

  async pay() {
    const client = getApp().client;
    // One key per attempt: a retry after a network failure must return the same order, not open a second one.
    if (!this.idempotencyKey) this.idempotencyKey = newIdempotencyKey();
    this.setData({ paying: true });
    try {
      const input = { billId: this.data.bill.id, channel: 'ALIPAY', product: 'JSAPI', idempotencyKey: this.idempotencyKey };
      const data = await client.graphql(CREATE_PAYMENT, { input });
      const order = client.unwrap(data.createPayment);
      this.setData({ order, statusLabel: STATUS_LABELS[order.status], cashierUrl: order.sandboxCashierUrl || '' });
      if (order.payload && order.payload.__typename === 'AlipayJsapiPayload') {
        const hint = await requestAlipayPayment(order.payload);
        if (hint === 'cancel') showMessage('已取消支付');
      }
      await this.confirm();
    } catch (error) {
      if (error.code === 'IDEMPOTENCY_KEY_REUSED') this.idempotencyKey = null;
      if (error.code === 'CHANNEL_BINDING_MISSING') showMessage('请先在“我的”中绑定支付宝账号');
      else showError(error);
    } finally {
      this.setData({ paying: false });
    }
  },

  async confirm() {
    const client = getApp().client;
    for (let attempt = 0; attempt < CONFIRM_ATTEMPTS; attempt += 1) {
      const data = await client.graphql(CONFIRM_PAYMENT, { orderId: this.data.order.id });
      const order = client.unwrap(data.confirmPayment);
      this.setData({ order: { ...this.data.order, status: order.status }, statusLabel: STATUS_LABELS[order.status] });
      if (FINAL_STATUSES.includes(order.status)) {
        if (order.status === 'PAID') this.idempotencyKey = null;
        return;
      }
      await wait(CONFIRM_INTERVAL_MS);
    }
  },

  async checkAgain() {
    try {
      await this.confirm();
    } catch (error) {
      showError(error);
    }
  },

  // In the sandbox the simulator cannot reach the project's cashier: copy its URL to pay from a browser.
  copyCashierUrl() {
    my.setClipboard({ text: this.data.cashierUrl });
  },

  back() {
    my.navigateBack();
  },
});
