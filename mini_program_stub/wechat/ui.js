// The WeChat side of the `ui` port the shared page definitions use (lib/zsb-shared/ui.js lists its members).
import { encodeQr } from './lib/zsb-client/qr.js';
import { qrRects } from './lib/zsb-shared/qr-layout.js';
import { createUi } from './lib/zsb-shared/ui.js';

export const ui = createUi(wx, {
  app: () => getApp(),
  channels: { app: 'WECHAT_MP', payment: 'WECHAT', payload: 'WechatJsapiPayload', account: '微信' },

  toast(title, duration) {
    wx.showToast(duration ? { title, icon: 'none', duration } : { title, icon: 'none' });
  },

  setTitle: (title) => wx.setNavigationBarTitle({ title }),
  copyText: (data) => wx.setClipboardData({ data }),

  // wx.requestPayment's own verdict is only a hint: the order status always comes from confirmPayment.
  requestPayment(payload) {
    return new Promise((resolve) => {
      wx.requestPayment({
        timeStamp: payload.timeStamp,
        nonceStr: payload.nonceStr,
        package: payload.package,
        signType: payload.signType,
        paySign: payload.paySign,
        success: () => resolve('ok'),
        fail: (result) => resolve(String(result.errMsg || '').includes('cancel') ? 'cancel' : 'fail'),
      });
    });
  },

  // Materials often arrive as PDFs in a chat, so WeChat picks from chat files rather than the album.
  chooseFile() {
    return new Promise((resolve) => {
      wx.chooseMessageFile({
        count: 1,
        type: 'file',
        extension: ['pdf', 'jpg', 'jpeg', 'png', 'ofd'],
        success: (result) => resolve(result.tempFiles[0]),
        fail: () => resolve(null),
      });
    });
  },

  // The form template uses <picker mode="date"> (onDateChange), so this is never asked for on WeChat.
  pickDate: () => Promise.reject(new Error('WeChat dates come from <picker mode="date">')),

  // The 2d canvas is a node sized in CSS pixels; scale its backing store to the screen so modules stay crisp.
  drawQr(canvasId, text) {
    wx.createSelectorQuery().select(`#${canvasId}`).fields({ node: true, size: true }).exec((result) => {
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
      qrRects(encodeQr(text), target.width).rects.forEach(([x, y, w, h]) => context.fillRect(x, y, w + 0.5, h + 0.5));
    });
  },
});
