"""Typed settings, read once from the environment (prefix ``APP_``, nested sections with ``__``)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class AuthSettings(BaseModel):
    issuer: str = "https://zsb.example.gov.cn"
    audience: str = "zsb-api"
    access_ttl_seconds: int = 15 * 60
    refresh_ttl_days: int = 30
    # JSON object {kid: PEM private key}. Every key verifies; `signing_kid` signs. Empty outside production:
    # a development key pair is generated under var/ on first start.
    jwt_keys: SecretStr = SecretStr("")
    signing_kid: str = ""
    otp_ttl_seconds: int = 300
    otp_max_attempts: int = 5
    otp_resend_seconds: int = 60
    otp_per_phone_per_hour: int = 5
    otp_per_ip_per_hour: int = 30
    operator_sign_in_per_ip_per_minute: int = 10


class SecuritySettings(BaseModel):
    # 32-byte keys, base64. Empty outside production: generated under var/ on first start.
    pii_encryption_key: SecretStr = SecretStr("")
    pii_hash_key: SecretStr = SecretStr("")
    # Proxies whose X-Forwarded-For is believed when deciding the caller's IP (rate limits, logs).
    trusted_proxies: list[str] = Field(default_factory=list)


class GraphQLSettings(BaseModel):
    max_depth: int = 10
    max_tokens: int = 2000
    max_aliases: int = 30
    max_cost: int = 1000
    max_body_bytes: int = 1024 * 1024
    max_input_list: int = 100
    rate_per_identity_per_second: float = 20.0
    burst_per_identity: int = 60
    rate_per_ip_per_second: float = 50.0
    burst_per_ip: int = 200
    apq_ttl_seconds: int = 7 * 24 * 3600


class WechatSettings(BaseModel):
    app_id: str = "wx-sandbox-app"
    app_secret: SecretStr = SecretStr("sandbox-secret")
    base_url: str = ""  # empty: the WeChat sandbox of this process


class AlipaySettings(BaseModel):
    app_id: str = "2021000000000000"
    base_url: str = ""  # empty: the Alipay sandbox of this process (gateway at …/gateway.do)
    app_private_key: SecretStr = SecretStr("")  # PEM; generated under var/ outside production
    alipay_public_key: str = ""  # PEM; read from the sandbox outside production


class ProvinceSsoSettings(BaseModel):
    issuer: str = ""  # empty: the provincial IdP sandbox of this process
    client_id: str = "zsb-mobile"
    client_secret: SecretStr = SecretStr("sandbox-client-secret")
    redirect_uri: str = "zsb://sso/callback"


class SmsSettings(BaseModel):
    base_url: str = ""
    sign_name: str = "掌上办"
    template_code: str = "SMS_OTP"
    access_key_id: str = ""
    access_key_secret: SecretStr = SecretStr("")


class ApplicationSettings(BaseModel):
    supplement_days: int = 30  # natural days the applicant has for a 补正 round (D12), unless the item says otherwise
    lookup_per_ip_per_minute: int = 10  # anonymous progress lookups by 办件编号 + query password
    step_sla_working_days: int = 2  # default SLA of each 承办 / 审核 / 批准 step (workflow configuration)


class RatingSettings(BaseModel):
    window_days: int = 30  # a service moment can be rated this long after its event (D2)
    rectification_working_days: int = 5  # 差评 rectification deadline (D5)
    callback_working_days: int = 2  # callback deadline of a real-name 差评
    appeal_working_days: int = 5  # the org may appeal within this many working days of assignment
    score_weights: list[int] = Field(default_factory=lambda: [10, 8, 6, 3, 0])  # for codes 1–5


class SupervisionSettings(BaseModel):
    scan_batch_size: int = 500  # rows per statement of the deadline scan (红黄牌), each batch one transaction
    target_online_items_max_one_visit: float = 70.0  # % of online items needing at most one visit (三率一数)
    target_online_items_zero_visit: float = 20.0  # % of online items needing no visit at all (零跑动)


class PaymentsSettings(BaseModel):
    """payments.md §2. Empty gateway URLs and keys outside production: the sandboxes of this process and their keys."""

    alipay_gateway_url: str = ""  # production https://openapi.alipay.com/gateway.do
    alipay_app_id: str = "2021000000000001"
    alipay_seller_id: str = "2088000000000001"
    alipay_app_private_key: SecretStr = SecretStr("")  # PEM (PKCS#1 or PKCS#8) or the console's bare base64
    alipay_public_key: SecretStr = SecretStr("")
    alipay_notify_url: str = ""  # empty: {base_url}/pay/notify/alipay
    wechat_gateway_url: str = ""  # production https://api.mch.weixin.qq.com
    wechat_mchid: str = "1900000001"
    wechat_appid: str = "wx-sandbox-pay-app"
    wechat_merchant_private_key: SecretStr = SecretStr("")  # PKCS#8 PEM
    wechat_merchant_serial_no: str = ""
    wechat_apiv3_key: SecretStr = SecretStr("")  # 32 characters
    wechat_public_key: SecretStr = SecretStr("")
    wechat_public_key_id: str = ""  # PUB_KEY_ID_…
    wechat_notify_url: str = ""  # empty: {base_url}/pay/notify/wechat
    order_ttl_seconds: int = 1800
    channel_connect_timeout: float = 3.0
    channel_read_timeout: float = 10.0
    min_assurance_level: int = 2  # paying needs L2 unless the item asks for more
    refund_on_withdrawal: bool = True  # 撤回后退费: a paid fee is refunded when its application is withdrawn
    # Reconciliation may refund a DUPLICATE_PAYMENT by itself only with this approval flag in production.
    auto_refund_duplicates: bool = True


class SyncSettings(BaseModel):
    """sync-protocol.md. The cursor key only signs pull cursors: rotating it makes every device reset once."""

    cursor_key: SecretStr = SecretStr("")  # base64, 32 bytes; generated under var/ outside production
    min_protocol_version: int = 1  # below: CLIENT_UPGRADE_REQUIRED, the device keeps its queue
    max_protocol_version: int = 1  # above: SERVER_BUSY (a newer client met an older instance mid-deploy)


class NotificationsSettings(BaseModel):
    """notifications.md. Empty provider URLs and credentials outside production: the sandboxes of this process."""

    # APNs (aioapns behind ApnsAdapter): empty host = the APNs sandbox of this process, with its throwaway CA.
    apns_host: str = ""  # production api.push.apple.com; Apple's development environment api.development.push.apple.com
    apns_port: int = 443
    apns_development_host: str = ""  # for endpoints registered with env "sandbox"; empty: the same as apns_host
    apns_topic: str = "cn.gov.zsb.app"  # the app's bundle id
    apns_key_id: str = ""
    apns_team_id: str = ""
    apns_key: SecretStr = SecretStr("")  # the .p8 provider key (PKCS#8 PEM)
    apns_ca_file: str = ""  # empty: the system trust store (the sandbox's CA outside production)
    apns_connections: int = 10
    apns_timeout_s: float = 10.0
    apns_rate_per_s: float = 1000.0
    # Huawei Push Kit.
    huawei_base_url: str = ""  # production https://push-api.cloud.huawei.com
    huawei_oauth_url: str = ""  # production https://oauth-login.cloud.huawei.com/oauth2/v3/token
    huawei_app_id: str = "100000001"
    huawei_client_id: str = "100000001"
    huawei_client_secret: SecretStr = SecretStr("sandbox-huawei-secret")
    huawei_mau: int = 0  # monthly active users, for the vendor's QPS formula (floor 6,000)
    # WeChat subscribe messages reuse APP_WECHAT__*; the message-push URL checks this token's signature.
    wechat_push_token: SecretStr = SecretStr("sandbox-push-token")
    wechat_daily_quota: int = 10_000_000
    # Aliyun SMS receipts (SmsReport) carry an HMAC of the body under this secret.
    sms_receipt_secret: SecretStr = SecretStr("sandbox-receipt-secret")
    sms_rate_per_s: float = 100.0
    # Delivery policy (§C5, §C8–C10).
    retry_base_s: float = 5.0
    retry_cap_s: float = 3600.0
    transactional_max_attempts: int = 10
    campaign_max_attempts: int = 3
    quiet_start: str = "21:00"
    quiet_end: str = "08:00"
    quiet_jitter_s: int = 900
    campaign_daily_cap: int = 2
    campaign_opt_in: bool = False  # PIPL: campaigns only to users who switched them on
    default_throttle_per_min: int = 3000
    send_batch_size: int = 500
    scheduler_interval_s: float = 1.0
    # The embedded mode runs the notify:tx and notify:campaign workers and the scheduler inside the API process;
    # tests switch them off and drive ticks and burst workers themselves.
    embedded_workers: bool = True
    # Delivery engine token buckets (§C8): Alipay's message method and all transactional traffic together.
    alipay_rate_per_s: float = 200.0
    transactional_rate_per_s: float = 2000.0


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="APP_", env_nested_delimiter="__", extra="ignore")

    env: Environment = Environment.DEVELOPMENT
    host: str = "127.0.0.1"
    port: int = 8000
    # The URL clients and the sandboxes reach this process at; empty: http://{host}:{port}.
    public_base_url: str = ""
    database_url: str = ""  # empty: SQLite file var/zsb.sqlite3
    redis_url: str = ""  # empty: in-process fakeredis
    sandbox: bool | None = None  # default: on outside production
    embedded_worker: bool | None = None  # default: on when redis_url is empty
    var_dir: Path = PROJECT_ROOT / "var"
    log_level: str = "INFO"
    log_json: bool = True
    timezone: str = "Asia/Shanghai"

    auth: AuthSettings = Field(default_factory=AuthSettings)
    security: SecuritySettings = Field(default_factory=SecuritySettings)
    graphql: GraphQLSettings = Field(default_factory=GraphQLSettings)
    wechat: WechatSettings = Field(default_factory=WechatSettings)
    alipay: AlipaySettings = Field(default_factory=AlipaySettings)
    province_sso: ProvinceSsoSettings = Field(default_factory=ProvinceSsoSettings)
    sms: SmsSettings = Field(default_factory=SmsSettings)
    applications: ApplicationSettings = Field(default_factory=ApplicationSettings)
    ratings: RatingSettings = Field(default_factory=RatingSettings)
    supervision: SupervisionSettings = Field(default_factory=SupervisionSettings)
    payments: PaymentsSettings = Field(default_factory=PaymentsSettings)
    sync: SyncSettings = Field(default_factory=SyncSettings)
    notifications: NotificationsSettings = Field(default_factory=NotificationsSettings)

    @model_validator(mode="after")
    def _production_is_explicit(self) -> Settings:
        if self.env is Environment.PRODUCTION:
            if self.sandbox:
                raise ValueError("APP_SANDBOX cannot be enabled in production")
            missing = [
                name
                for name, value in (
                    ("APP_DATABASE_URL", self.database_url),
                    ("APP_REDIS_URL", self.redis_url),
                    ("APP_AUTH__JWT_KEYS", self.auth.jwt_keys.get_secret_value()),
                    ("APP_SECURITY__PII_ENCRYPTION_KEY", self.security.pii_encryption_key.get_secret_value()),
                    ("APP_SECURITY__PII_HASH_KEY", self.security.pii_hash_key.get_secret_value()),
                    ("APP_PUBLIC_BASE_URL", self.public_base_url),
                    ("APP_SYNC__CURSOR_KEY", self.sync.cursor_key.get_secret_value()),
                )
                if not value
            ]
            if missing:
                raise ValueError(f"production needs {', '.join(missing)}")
        return self

    @model_validator(mode="after")
    def _payment_gateways_are_safe(self) -> Settings:
        gateways = {
            "APP_PAYMENTS__ALIPAY_GATEWAY_URL": self.payments.alipay_gateway_url,
            "APP_PAYMENTS__WECHAT_GATEWAY_URL": self.payments.wechat_gateway_url,
        }
        for name, url in gateways.items():
            if not url:
                if not self.sandbox_enabled:
                    raise ValueError(f"{name} is required when the sandboxes are off")
            elif self.sandbox_enabled and urlsplit(url).hostname not in _LOOPBACK:
                # Sandbox keys must never meet a real payment gateway.
                raise ValueError(f"{name} must be a loopback URL while APP_SANDBOX is on")
            elif not self.sandbox_enabled and urlsplit(url).scheme != "https":
                raise ValueError(f"{name} must be https://")
        return self

    @model_validator(mode="after")
    def _notification_providers_are_safe(self) -> Settings:
        """§C6: production talks to the real APNs with a provider key, and never to a loopback or plain-http
        provider; loopback plain http (the sandboxes) is for development and tests only."""
        n = self.notifications
        urls = {
            "APP_NOTIFICATIONS__APNS_HOST": f"https://{n.apns_host}" if n.apns_host else "",
            "APP_NOTIFICATIONS__APNS_DEVELOPMENT_HOST": f"https://{n.apns_development_host}"
            if n.apns_development_host
            else "",
            "APP_NOTIFICATIONS__HUAWEI_BASE_URL": n.huawei_base_url,
            "APP_NOTIFICATIONS__HUAWEI_OAUTH_URL": n.huawei_oauth_url,
        }
        for name, url in urls.items():
            if not url:
                continue
            parts = urlsplit(url)
            loopback = parts.hostname in _LOOPBACK
            if self.is_production and loopback:
                raise ValueError(f"{name} must not be a loopback address in production")
            if parts.scheme != "https" and not loopback:
                raise ValueError(f"{name} must be https:// (plain http only on loopback, outside production)")
        if self.is_production:
            missing = [
                name
                for name, value in (
                    ("APP_NOTIFICATIONS__APNS_HOST", n.apns_host),
                    ("APP_NOTIFICATIONS__APNS_KEY", n.apns_key.get_secret_value()),
                    ("APP_NOTIFICATIONS__APNS_KEY_ID", n.apns_key_id),
                    ("APP_NOTIFICATIONS__APNS_TEAM_ID", n.apns_team_id),
                )
                if not value
            ]
            if missing:
                raise ValueError(f"production needs {', '.join(missing)}")
        return self

    @property
    def sandbox_enabled(self) -> bool:
        return self.env is not Environment.PRODUCTION if self.sandbox is None else self.sandbox

    @property
    def worker_in_process(self) -> bool:
        return (not self.redis_url) if self.embedded_worker is None else self.embedded_worker

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite://{self.var_dir / 'zsb.sqlite3'}"

    @property
    def base_url(self) -> str:
        return (self.public_base_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def sandbox_base_url(self) -> str:
        return f"{self.base_url}/sandbox"

    @property
    def is_production(self) -> bool:
        return self.env is Environment.PRODUCTION


# The settings the process was started with (set by the API lifespan and the worker's start-up, house rule 6).
# Domain policies read them through `active()` so that a process created with explicit settings (tests,
# `create_app(settings)`) applies those, not whatever the environment says; outside a started process (a CLI
# command, a unit test) the environment's settings apply.
_active: Settings | None = None


def activate(settings: Settings) -> None:
    global _active  # noqa: PLW0603 - the one process-wide configuration, set at start-up only
    _active = settings


def active() -> Settings:
    return _active if _active is not None else Settings()
