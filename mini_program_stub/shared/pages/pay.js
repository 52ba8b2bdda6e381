// Page definition of 缴费 (JSAPI), registered by both mini-programs as Page(payPage(ui)).
// Everything here is the same on WeChat and Alipay; what differs goes through the project's `ui` port (shared/ui.js).
import { CONFIRM_PAYMENT, CREATE_PAYMENT, LOOKUP_BILL } from '../graphql.js';
import { newIdempotencyKey } from '../ui.js';

const FINAL_STATUSES = ['PAID', 'CLOSED', 'FAILED'];
const CONFIRM_ATTEMPTS = 10;
// The server asks the channel at most once per order every 2 s, so polling faster only returns stored state.
const CONFIRM_INTERVAL_MS = 2000;
const STATUS_LABELS = { CREATED: '待支付', PAYING: '支付中', PAID: '已支付', CLOSED: '已关闭', FAILED: '支付失败' };

function wait(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export const payPage = (ui) => ({
  data: {
    bill: null,
    order: null,
    statusLabel: '',
    paying: false,
    cashierUrl: '',
  },

  async onLoad(query) {
    const app = ui.app();
    try {
      await app.whenSignedIn();
      const data = await app.client.graphql(LOOKUP_BILL, { billNo: query.billNo });
      if (!data.lookupBill) throw new Error('未找到该缴款单');
      this.setData({ bill: data.lookupBill });
    } catch (error) {
      ui.showError(error);
    }
  },

  async pay() {
    const client = ui.app().client;
    // One key per attempt: a retry after a network failure must return the same order, not open a second one.
    if (!this.idempotencyKey) this.idempotencyKey = newIdempotencyKey();
    this.setData({ paying: true });
    try {
      const input = { billId: this.data.bill.id, channel: ui.channels.payment, product: 'JSAPI', idempotencyKey: this.idempotencyKey };
      const data = await client.graphql(CREATE_PAYMENT, { input });
      const order = client.unwrap(data.createPayment);
      this.setData({ order, statusLabel: STATUS_LABELS[order.status], cashierUrl: order.sandboxCashierUrl || '' });
      // The container's verdict is only a hint: the order status always comes from confirmPayment.
      if (order.payload && order.payload.__typename === ui.channels.payload) {
        const hint = await ui.requestPayment(order.payload);
        if (hint === 'cancel') ui.showMessage('已取消支付');
      }
      await this.confirm();
    } catch (error) {
      if (error.code === 'IDEMPOTENCY_KEY_REUSED') this.idempotencyKey = null;
      if (error.code === 'CHANNEL_BINDING_MISSING') ui.showMessage(`请先在“我的”中绑定${ui.channels.account}账号`);
      else ui.showError(error);
    } finally {
      this.setData({ paying: false });
    }
  },

  async confirm() {
    const client = ui.app().client;
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
      ui.showError(error);
    }
  },

  // In the sandbox the simulator cannot reach the project's cashier: copy its URL to pay from a browser.
  copyCashierUrl() {
    ui.copyText(this.data.cashierUrl);
  },

  back() {
    ui.navigateBack();
  },
});
