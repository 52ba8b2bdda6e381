"""Operators part: a console account for every role (a case_handler per department) and one VerifierApp.

The demo credentials are constants on purpose: they are synthetic, loaded only in demo mode, and `make run`
prints them so that a reviewer can sign in. Only argon2 hashes and encrypted TOTP secrets are stored.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
from dataclasses import dataclass

from tortoise.backends.base.client import BaseDBAsyncClient

from api.kit.passwords import hash_password
from api.models import Operator, OperatorRole, ServicePrincipal, VerifierApp
from api.seed.context import SeedContext, seed_id
from api.seed.reference import DEPARTMENTS

DEMO_PASSWORD = "Demo-2026!zsb"  # noqa: S105 - synthetic demo credential, printed by `make run`
VERIFIER_CLIENT_ID = "demo-verifier"
VERIFIER_CREDENTIAL = "demo-verifier-Zsb-2026"
VERIFIER_SCOPES = ("license:verify",)
# A producer system that emits notification events (signInService, then emitNotificationEvent).
SERVICE_NAME = "demo-producer"
SERVICE_SECRET = "demo-producer-Zsb-2026"  # noqa: S105 - synthetic demo credential, printed by `make run`
SERVICE_SCOPES = ("notifications:emit",)


@dataclass(frozen=True)
class OperatorSpec:
    username: str
    name: str
    roles: tuple[OperatorRole, ...]
    department: str | None = None  # department key; set for case handlers only


_HANDLER_NAMES = (
    "钱演示甲",
    "冯演示乙",
    "郑演示丙",
    "沈演示丁",
    "韩演示戊",
    "谢演示己",
    "唐演示庚",
    "许演示辛",
)
OPERATORS: tuple[OperatorSpec, ...] = (
    *(
        OperatorSpec(f"handler.{d.key}", name, (OperatorRole.CASE_HANDLER,), d.key)
        for d, name in zip(DEPARTMENTS, _HANDLER_NAMES, strict=True)
    ),
    OperatorSpec("catalog.admin", "邓演示壬", (OperatorRole.CATALOG_ADMIN,)),
    # Two people, so that an author never approves their own campaign (four-eyes).
    OperatorSpec("campaign.author", "萧演示癸", (OperatorRole.CAMPAIGN_AUTHOR,)),
    OperatorSpec("campaign.approver", "曹演示子", (OperatorRole.CAMPAIGN_APPROVER,)),
    # Holds both campaign roles: the four-eyes rule still stops them approving what they prepared (N14).
    OperatorSpec("campaign.lead", "魏演示卯", (OperatorRole.CAMPAIGN_AUTHOR, OperatorRole.CAMPAIGN_APPROVER)),
    OperatorSpec("supervisor.city", "袁演示丑", (OperatorRole.SUPERVISOR,)),
    OperatorSpec("finance.city", "邹演示寅", (OperatorRole.FINANCE,)),
)


def demo_totp_secret(username: str) -> str:
    """Deterministic per operator, so the report can be recomputed; 160 bits, base32 for authenticators."""
    return base64.b32encode(hashlib.sha256(f"zsb-demo-totp:{username}".encode()).digest()[:20]).decode()


async def is_loaded(db: BaseDBAsyncClient) -> bool:
    return await Operator.filter(id=seed_id("operator", OPERATORS[0].username)).using_db(db).exists()


async def load(ctx: SeedContext) -> None:
    # One argon2 hash each (≈0.1 s apiece), off the event loop like every other hash of the app.
    *password_hashes, credential_hash, service_hash = await asyncio.gather(
        *(hash_password(DEMO_PASSWORD) for _ in OPERATORS),
        hash_password(VERIFIER_CREDENTIAL),
        hash_password(SERVICE_SECRET),
    )
    await Operator.bulk_create(
        [
            Operator(
                id=seed_id("operator", spec.username),
                username=spec.username,
                name=spec.name,
                password_hash=password_hash,
                totp_secret_encrypted=ctx.pii.encrypt(demo_totp_secret(spec.username)),
                roles=[role.value for role in spec.roles],
                department_id=seed_id("organization", spec.department) if spec.department else None,
                is_synthetic=True,
            )
            for spec, password_hash in zip(OPERATORS, password_hashes, strict=True)
        ],
        using_db=ctx.db,
    )
    await VerifierApp.create(
        id=seed_id("verifier", VERIFIER_CLIENT_ID),
        client_id=VERIFIER_CLIENT_ID,
        name="云溪市市场监督管理局 亮证核验（演示）",
        org_id=seed_id("organization", "scjg"),
        credential_hash=credential_hash,
        scopes=list(VERIFIER_SCOPES),
        is_synthetic=True,
        using_db=ctx.db,
    )
    await ServicePrincipal.create(
        id=seed_id("service", SERVICE_NAME),
        name=SERVICE_NAME,
        credential_hash=service_hash,
        scopes=list(SERVICE_SCOPES),
        using_db=ctx.db,
    )
