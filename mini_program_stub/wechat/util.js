// Small helpers shared by the pages of this project (platform UI calls only; network goes through the client).

export function showError(error) {
  const offline = error && error.offline;
  const title = offline ? '网络不可用，请稍后再试' : (error && error.message) || '出错了';
  wx.showToast({ title, icon: 'none', duration: 2500 });
}

export function showMessage(title) {
  wx.showToast({ title, icon: 'none' });
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

export function go(url) {
  wx.navigateTo({ url });
}
