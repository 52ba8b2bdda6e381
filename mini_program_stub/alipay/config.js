// The API the mini-program talks to. In the Alipay 小程序开发者工具 point it at a local `zsb serve` (sandbox mode)
// and tick 忽略 http 请求域名合法性检查 in 详情; a release build needs the HTTPS domain here.
export const BASE_URL = 'http://127.0.0.1:8000';

// The sandbox's alipay.system.oauth.token only knows codes it minted, not the simulator's. For a hand test
// against `make run`, mint one (POST /sandbox/alipay/auth-codes {"userId": "…"}, listed at GET /sandbox) and
// paste it here; it is single-use and short-lived. Leave empty everywhere else.
export const SANDBOX_AUTH_CODE = '';
