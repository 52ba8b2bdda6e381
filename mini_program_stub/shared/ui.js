// The `ui` port every page definition (pages/*.js) talks to instead of a container global, so one definition
// serves both mini-programs. Each project builds its port once (its ui.js) with createUi(api, own):
//   api  the container object (wx or my): the calls both containers name and shape alike are wired here once;
//   own  what differs, and may override anything below:
//     app()                     the App instance (getApp())
//     toast(text, durationMs)   a plain toast; durationMs undefined = the container's default
//     setTitle(title)           the navigation bar title
//     copyText(text)            to the clipboard
//     requestPayment(payload)   → Promise<'ok' | 'cancel' | 'fail'>, the container cashier's verdict (a hint only)
//     chooseFile()              → Promise<{ path, name } | null> (null: the user backed out)
//     pickDate(current)         → Promise<'yyyy-MM-dd' | null>, for templates whose <picker> has no date mode
//     drawQr(canvasId, text)    paints a QR code on the page's canvas
//     channels                  { app, payment, payload, account }: client channel, payment channel, the
//                               JSAPI payload's __typename and the account name shown when it is not bound

const ERROR_TOAST_MS = 2500;

export function errorText(error) {
  if (error && error.offline) return '网络不可用，请稍后再试';
  return (error && error.message) || '出错了';
}

export function createUi(api, own) {
  const ui = {
    navigateTo: (url) => api.navigateTo({ url }),
    redirectTo: (url) => api.redirectTo({ url }),
    switchTab: (url) => api.switchTab({ url }),
    navigateBack: () => api.navigateBack(),
    stopPullDownRefresh: () => api.stopPullDownRefresh(),
    setTabBadge(index, count) {
      if (count > 0) api.setTabBarBadge({ index, text: count > 99 ? '99+' : String(count) });
      else api.removeTabBarBadge({ index });
    },
    // Both file systems read a temp path into an ArrayBuffer the same way.
    readFile(filePath) {
      return new Promise((resolve, reject) => {
        api.getFileSystemManager().readFile({ filePath, success: (read) => resolve(read.data), fail: reject });
      });
    },
    // Older Alipay base libraries only fill `target`; `currentTarget` is the element the handler is bound to.
    dataset: (event) => (event.currentTarget || event.target).dataset,
    ...own,
  };
  ui.showError = (error) => ui.toast(errorText(error), ERROR_TOAST_MS);
  ui.showMessage = (text) => ui.toast(text);
  return ui;
}

// Idempotency keys only need to be unique per attempt; a UUID v4 shape is what the API examples use.
export function newIdempotencyKey() {
  const hex = [];
  for (let i = 0; i < 32; i += 1) hex.push(Math.floor(Math.random() * 16).toString(16));
  hex[12] = '4';
  hex[16] = ((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16);
  const s = hex.join('');
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
}

export function formatTime(iso) {
  if (!iso) return '';
  return String(iso).replace('T', ' ').slice(0, 16);
}
