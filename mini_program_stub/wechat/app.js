import { createClient } from './lib/zsb-client/index.js';
import { wechatPlatform } from './lib/zsb-client/platform/wechat.js';
import { defineApp } from './lib/zsb-shared/app.js';
import { BASE_URL, SANDBOX_LOGIN_CODE } from './config.js';

function wechatLoginCode() {
  return new Promise((resolve, reject) => {
    wx.login({
      success: (result) => (result.code ? resolve(result.code) : reject(new Error('wx.login returned no code'))),
      fail: reject,
    });
  });
}

// Session and sync lifecycle are shared (lib/zsb-shared/app.js); only the client's platform and the sign-in differ.
App(defineApp({
  createClient: () => createClient({ platform: wechatPlatform(wx, { baseUrl: BASE_URL }), channel: 'WECHAT_MP' }),

  async signInSilently(auth) {
    const code = SANDBOX_LOGIN_CODE || (await wechatLoginCode());
    await auth.signInWithWechat(code);
  },
}));
