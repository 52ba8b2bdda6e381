"""Settings refuse unsafe notification providers (§C6): production needs the APNs provider key and never talks to
a loopback or plain-http provider; plain http is for the loopback sandboxes outside production."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from api.settings import Settings

_PRODUCTION: dict[str, Any] = {
    "env": "production",
    "database_url": "postgres://u@db/zsb",
    "redis_url": "redis://cache/0",
    "public_base_url": "https://zsb.example.gov.cn",
    "auth": {"jwt_keys": '{"k1": "pem"}'},
    "security": {"pii_encryption_key": "a", "pii_hash_key": "b"},
    "sync": {"cursor_key": "c"},
    "payments": {
        "alipay_gateway_url": "https://openapi.alipay.com/gateway.do",
        "wechat_gateway_url": "https://api.mch.weixin.qq.com",
    },
}
_APNS = {"apns_host": "api.push.apple.com", "apns_key": "p8", "apns_key_id": "KEYID12345", "apns_team_id": "TEAM123456"}


def _production(**notifications: Any) -> Settings:
    return Settings(**(_PRODUCTION | {"notifications": _APNS | notifications}))


class TestProductionProviders:
    def test_accept_apple_and_huawei_over_https(self) -> None:
        settings = _production(
            huawei_base_url="https://push-api.cloud.huawei.com",
            huawei_oauth_url="https://oauth-login.cloud.huawei.com/oauth2/v3/token",
        )
        assert settings.notifications.apns_host == "api.push.apple.com"

    def test_need_the_apns_host_key_key_id_and_team_id(self) -> None:
        with pytest.raises(ValidationError, match=r"APNS_HOST.*APNS_KEY.*APNS_KEY_ID.*APNS_TEAM_ID"):
            Settings(**_PRODUCTION)

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("apns_host", "localhost"),
            ("apns_development_host", "127.0.0.1"),
            ("huawei_base_url", "https://127.0.0.1:9443"),
            ("huawei_oauth_url", "http://localhost:8000/sandbox/huawei/oauth2/v3/token"),
        ],
    )
    def test_refuse_a_loopback_provider(self, field: str, value: str) -> None:
        with pytest.raises(ValidationError, match="loopback"):
            _production(**{field: value})

    def test_refuse_plain_http(self) -> None:
        with pytest.raises(ValidationError, match="https://"):
            _production(huawei_base_url="http://push-api.cloud.huawei.com")


class TestDevelopmentProviders:
    def test_allow_plain_http_on_loopback(self) -> None:
        settings = Settings(notifications={"huawei_base_url": "http://127.0.0.1:8000/sandbox/huawei"})
        assert settings.notifications.huawei_base_url.startswith("http://127.0.0.1")

    def test_refuse_plain_http_elsewhere(self) -> None:
        with pytest.raises(ValidationError, match="https://"):
            Settings(notifications={"huawei_oauth_url": "http://oauth.example.com/token"})
