// Page definition of 证照 (tab) and 亮证, registered by both mini-programs as Page(walletPage(ui)).
// Everything here is the same on WeChat and Alipay; what differs goes through the project's `ui` port (shared/ui.js).
import { MY_LICENSES, SHOW_LICENSE } from '../graphql.js';
import { secondsUntil } from '../qr-layout.js';

export const walletPage = (ui) => ({
  data: {
    licenses: [],
    shown: null,
    secondsLeft: 0,
  },

  onShow() {
    this.load();
  },

  onHide() {
    this.hideQr();
  },

  onUnload() {
    this.hideQr();
  },

  async load() {
    const app = ui.app();
    try {
      await app.whenSignedIn();
      const data = await app.client.graphql(MY_LICENSES);
      this.setData({ licenses: data.myLicenses.edges.map((edge) => edge.node) });
    } catch (error) {
      ui.showError(error);
    }
  },

  // 亮证: each show asks for a fresh single-scan token; the QR carries it and expires with it.
  async showQr(event) {
    const client = ui.app().client;
    const license = this.data.licenses[Number(ui.dataset(event).index)];
    try {
      const data = await client.graphql(SHOW_LICENSE, { licenseId: license.id });
      const token = client.unwrap(data.showLicense);
      this.hideQr();
      this.setData({ shown: { name: license.name, qrPayload: token.qrPayload, expiresAt: token.expiresAt } }, () => this.drawQr(token.qrPayload));
      this.tick();
      this.timer = setInterval(() => this.tick(), 1000);
    } catch (error) {
      ui.showError(error);
    }
  },

  tick() {
    const secondsLeft = secondsUntil(this.data.shown.expiresAt, Date.now());
    this.setData({ secondsLeft });
    if (secondsLeft === 0) this.hideQr();
  },

  hideQr() {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.data.shown) this.setData({ shown: null, secondsLeft: 0 });
  },

  drawQr(text) {
    ui.drawQr('license-qr', text);
  },
});
