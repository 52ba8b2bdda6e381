"""The apps and clients the test sandboxes know, as the composition root would register them from settings."""

WECHAT_APP_ID = "wx-test-app"
WECHAT_SECRET = "wx-test-secret"
ALIPAY_APP_ID = "2021000000000001"
SSO_CLIENT_ID = "zsb-mobile"
SSO_CLIENT_SECRET = "sso test/secret+1"  # characters that client_secret_basic must form-encode
SSO_REDIRECT_URI = "zsb://sso/callback"
