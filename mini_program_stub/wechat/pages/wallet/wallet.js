import { MY_LICENSES, SHOW_LICENSE } from '../../graphql.js';
import { showError } from '../../util.js';
import { qrRects, secondsUntil } from './qr-layout.js';

Page({
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
    const app = getApp();
    try {
      await app.whenSignedIn();
      const data = await app.client.graphql(MY_LICENSES);
      this.setData({ licenses: data.myLicenses.edges.map((edge) => edge.node) });
    } catch (error) {
      showError(error);
    }
  },

  // 亮证: each show asks for a fresh single-scan token; the QR carries it and expires with it.
  async showQr(event) {
    const client = getApp().client;
    const license = this.data.licenses[Number(event.currentTarget.dataset.index)];
    try {
      const data = await client.graphql(SHOW_LICENSE, { licenseId: license.id });
      const token = client.unwrap(data.showLicense);
      this.hideQr();
      this.setData({ shown: { name: license.name, qrPayload: token.qrPayload, expiresAt: token.expiresAt } }, () => this.drawQr(token.qrPayload));
      this.tick();
      this.timer = setInterval(() => this.tick(), 1000);
    } catch (error) {
      showError(error);
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
    wx.createSelectorQuery().select('#license-qr').fields({ node: true, size: true }).exec((result) => {
      const target = result && result[0];
      if (!target || !target.node) return;
      const canvas = target.node;
      const ratio = wx.getWindowInfo().pixelRatio;
      canvas.width = target.width * ratio;
      canvas.height = target.height * ratio;
      const context = canvas.getContext('2d');
      context.scale(ratio, ratio);
      context.fillStyle = '#ffffff';
      context.fillRect(0, 0, target.width, target.height);
      context.fillStyle = '#000000';
      // Overlap cells by a fraction of a pixel so anti-aliasing leaves no hairlines between dark modules.
      qrRects(text, target.width).rects.forEach(([x, y, w, h]) => context.fillRect(x, y, w + 0.5, h + 0.5));
    });
  },
});
