"""Production is explicit: no sandboxes, no generated keys, no introspection; the README lists every setting."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from api.settings import PROJECT_ROOT, Settings
from schema.root import build_schema

_COMPLETE: dict[str, Any] = {
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
    "notifications": {
        "apns_host": "api.push.apple.com",
        "apns_key": "p8",
        "apns_key_id": "KEYID12345",
        "apns_team_id": "TEAMID1234",
    },
}


class TestProductionSettings:
    def test_refuse_an_enabled_sandbox(self) -> None:
        with pytest.raises(ValidationError, match="APP_SANDBOX cannot be enabled in production"):
            Settings(**(_COMPLETE | {"sandbox": True}))

    def test_refuse_missing_keys_and_urls(self) -> None:
        with pytest.raises(ValidationError, match=r"APP_DATABASE_URL.*APP_REDIS_URL.*APP_AUTH__JWT_KEYS"):
            Settings(env="production")

    def test_turn_sandboxes_off_by_default(self) -> None:
        assert Settings(**_COMPLETE).sandbox_enabled is False
        assert Settings().sandbox_enabled is True


class TestIntrospection:
    async def test_is_refused_when_disabled(self) -> None:
        schema = build_schema(Settings().graphql, introspection=False)
        result = await schema.execute("{ __schema { queryType { name } } }")
        assert result.errors is not None and "introspection" in result.errors[0].message.lower()


def _env_names(model: type[BaseModel], prefix: str) -> list[str]:
    names = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names += _env_names(annotation, f"{prefix}{name.upper()}__")
        else:
            names.append(f"{prefix}{name.upper()}")
    return names


class TestReadme:
    def test_documents_every_setting(self) -> None:
        readme = Path(PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
        documented = set(re.findall(r"APP_[A-Z0-9_]+", readme))
        missing = [name for name in _env_names(Settings, "APP_") if name not in documented]
        assert missing == []
