// The API the mini-program talks to. In WeChat DevTools point it at a local `zsb serve` (sandbox mode) and tick
// "不校验合法域名" (project.config.json sets urlCheck: false); a release build needs the HTTPS domain here.
export const BASE_URL = 'http://127.0.0.1:8000';

// The sandbox's jscode2session only knows codes it minted, not the simulator's wx.login codes. For a hand test
// against `make run`, mint one (POST /sandbox/wechat/codes {"openid": "…"}, listed at GET /sandbox) and paste it
// here; it is single-use and lasts five minutes. Leave empty everywhere else.
export const SANDBOX_LOGIN_CODE = '';
