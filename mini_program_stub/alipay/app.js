import { createClient } from './lib/zsb-client/index.js';
import { alipayPlatform } from './lib/zsb-client/platform/alipay.js';
import { defineApp } from './lib/zsb-shared/app.js';
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

// Session and sync lifecycle are shared (lib/zsb-shared/app.js); only the client's platform and the sign-in differ.
App(defineApp({
  createClient: () => createClient({ platform: alipayPlatform(my, { baseUrl: BASE_URL }), channel: 'ALIPAY_MP' }),

  async signInSilently(auth) {
    const authCode = SANDBOX_AUTH_CODE || (await alipayAuthCode());
    await auth.signInWithAlipay(authCode);
  },
}));
