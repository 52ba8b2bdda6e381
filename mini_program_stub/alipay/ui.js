// The Alipay side of the `ui` port the shared page definitions use (lib/zsb-shared/ui.js lists its members).
import { encodeQr } from './lib/zsb-client/qr.js';
import { qrRects } from './lib/zsb-shared/qr-layout.js';
import { createUi } from './lib/zsb-shared/ui.js';

// Must match the canvas width/height attributes in pages/wallet/wallet.axml.
const QR_CANVAS_PX = 240;

export const ui = createUi(my, {
  app: () => getApp(),
  channels: { app: 'ALIPAY_MP', payment: 'ALIPAY', payload: 'AlipayJsapiPayload', account: '支付宝' },

  toast(content, duration) {
    my.showToast(duration ? { content, type: 'none', duration } : { content, type: 'none' });
  },

  setTitle: (title) => my.setNavigationBar({ title }),
  copyText: (text) => my.setClipboard({ text }),

  // Alipay's resultCode is only a hint (9000 paid, 6001 cancelled): the order status comes from confirmPayment.
  requestPayment(payload) {
    return new Promise((resolve) => {
      my.tradePay({
        tradeNO: payload.tradeNo,
        success: (result) => resolve(result.resultCode === '6001' ? 'cancel' : 'ok'),
        fail: () => resolve('fail'),
      });
    });
  },

  // The Alipay container offers photos only (no chat files); materials are scans anyway.
  chooseFile() {
    return new Promise((resolve) => {
      my.chooseImage({
        count: 1,
        success: (result) => {
          const filePath = (result.tempFilePaths || result.apFilePaths)[0];
          resolve({ path: filePath, name: filePath.split('/').pop() });
        },
        fail: () => resolve(null),
      });
    });
  },

  // Alipay's <picker> has no date mode; the date sheet is an API call.
  pickDate(currentDate) {
    return new Promise((resolve) => {
      my.datePicker({
        format: 'yyyy-MM-dd',
        currentDate,
        success: (result) => resolve(result.date),
        fail: () => resolve(null),
      });
    });
  },

  drawQr(canvasId, text) {
    const context = my.createCanvasContext(canvasId);
    context.setFillStyle('#ffffff');
    context.fillRect(0, 0, QR_CANVAS_PX, QR_CANVAS_PX);
    context.setFillStyle('#000000');
    // Overlap cells by a fraction of a pixel so anti-aliasing leaves no hairlines between dark modules.
    qrRects(encodeQr(text), QR_CANVAS_PX).rects.forEach(([x, y, w, h]) => context.fillRect(x, y, w + 0.5, h + 0.5));
    context.draw();
  },
});
