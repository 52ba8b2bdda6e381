"""Devices part: push endpoints of six demo residents, so that a campaign or a notice shows in the APNs and Huawei
sandbox logs (`GET /sandbox/apns/_control/requests`) without a phone. Tokens are visibly synthetic."""

from __future__ import annotations

from tortoise.backends.base.client import BaseDBAsyncClient

from api.models import DeviceEndpoint, PushEnv, PushPlatform
from api.seed.context import SeedContext, SeedPart, seed_id

# (resident number, platform): 3 and 14 are 60+ (a "resident.age ≥ 60" campaign reaches their phones, 15 has
# none and sees it in the inbox only), 1 and 2 get transactional notices of their seeded applications.
DEVICES: tuple[tuple[int, PushPlatform], ...] = (
    (1, PushPlatform.IOS),
    (2, PushPlatform.IOS),
    (3, PushPlatform.IOS),
    (5, PushPlatform.HUAWEI),
    (14, PushPlatform.IOS),
    (14, PushPlatform.HUAWEI),
)


def demo_token(n: int, platform: PushPlatform) -> str:
    """64 hex digits for APNs (what the sandbox accepts as a valid token), a readable name for Huawei."""
    if platform is PushPlatform.IOS:
        return f"d0d0{n:04d}".ljust(64, "0")
    return f"demo-huawei-token-{n:04d}"


async def is_loaded(db: BaseDBAsyncClient) -> bool:
    return await DeviceEndpoint.filter(id=seed_id("device", "1:ios")).using_db(db).exists()


async def load(ctx: SeedContext) -> None:
    await DeviceEndpoint.bulk_create(
        [
            DeviceEndpoint(
                id=seed_id("device", f"{n}:{platform.value}"),
                user_id=seed_id("person", n),
                platform=platform,
                token=demo_token(n, platform),
                env=PushEnv.PROD,
                app_version="demo",
                registered_at=ctx.now,
                last_seen_at=ctx.now,
            )
            for n, platform in DEVICES
        ],
        using_db=ctx.db,
    )


PARTS: tuple[SeedPart, ...] = (SeedPart("devices", is_loaded, load),)
