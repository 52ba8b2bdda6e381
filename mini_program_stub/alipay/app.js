import { createClient } from './lib/zsb-client/index.js';
import { alipayPlatform } from './lib/zsb-client/platform/alipay.js';
import { BASE_URL, SANDBOX_AUTH_CODE } from './config.js';

// auth_base is silent (no consent sheet): the server only needs the user id behind the code to sign in.
function alipayAuthCode() {
  return new Promise((resolve, reject) => {
    my.getAuthCode({
      scopes: 'auth_base',
      success: (result) => (result.authCode ? resolve(result.authCode) : reject(new Error('my.getAuthCode returned no code'))),
      fail: reject,
    });
  });
}

App({
  client: null,
  signingIn: null,

  onLaunch() {
    this.client = createClient({ platform: alipayPlatform(my, { baseUrl: BASE_URL }), channel: 'ALIPAY_MP' });
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
    // No background sync while hidden: the container freezes timers anyway and a half-sent push waits for onShow.
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
      const authCode = SANDBOX_AUTH_CODE || (await alipayAuthCode());
      await this.client.auth.signInWithAlipay(authCode);
    }
    await this.client.drafts.open();
    this.client.drafts.start();
    return this.client.auth.session;
  },
});
