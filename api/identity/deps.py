"""The collaborators identity services need, built once per process by the lifespan."""

from __future__ import annotations

from dataclasses import dataclass

from api.identity.tokens import TokenService
from api.kit.clock import Clock
from api.kit.pii import PiiCipher
from api.kit.redis import Redis, TokenBucket
from api.platforms.alipay import AlipayGateway
from api.platforms.province_sso import ProvinceSsoClient
from api.platforms.sms import SmsProvider
from api.platforms.wechat import WechatClient
from api.settings import AuthSettings


@dataclass(frozen=True)
class IdentityDeps:
    clock: Clock
    redis: Redis
    buckets: TokenBucket
    tokens: TokenService
    pii: PiiCipher
    auth: AuthSettings
    sms: SmsProvider
    sms_template: str
    wechat: WechatClient
    alipay: AlipayGateway
    province_sso: ProvinceSsoClient
