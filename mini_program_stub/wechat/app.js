import { createClient } from './lib/zsb-client/index.js';
import { wechatPlatform } from './lib/zsb-client/platform/wechat.js';
import { BASE_URL, SANDBOX_LOGIN_CODE } from './config.js';

function wechatLoginCode() {
  return new Promise((resolve, reject) => {
    wx.login({
      success: (result) => (result.code ? resolve(result.code) : reject(new Error('wx.login returned no code'))),
      fail: reject,
    });
  });
}

App({
  client: null,
  signingIn: null,

  onLaunch() {
    this.client = createClient({ platform: wechatPlatform(wx, { baseUrl: BASE_URL }), channel: 'WECHAT_MP' });
    // A failed silent refresh drops the session: the next page that needs one signs in again with a fresh code.
    this.client.auth.onChange((session) => {
      if (!session) this.signingIn = null;
    });
    this.whenSignedIn().catch(() => {});
  },

  onShow() {
    if (this.signingIn) this.signingIn.then(() => this.client.drafts.start()).catch(() => {});
  },

  onHide() {
    // No background sync while hidden: WeChat suspends timers anyway and a half-sent push just waits for onShow.
    if (this.client) this.client.drafts.stop();
  },

  // Pages await this before any signed-in call; a failure is not cached so the next page retries.
  whenSignedIn() {
    if (!this.signingIn) {
      this.signingIn = this.signIn().catch((error) => {
        this.signingIn = null;
        throw error;
      });
    }
    return this.signingIn;
  },

  async signIn() {
    await this.client.ready;
    if (!this.client.auth.session) {
      const code = SANDBOX_LOGIN_CODE || (await wechatLoginCode());
      await this.client.auth.signInWithWechat(code);
    }
    await this.client.drafts.open();
    this.client.drafts.start();
    return this.client.auth.session;
  },
});
