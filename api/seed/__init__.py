"""The deterministic, idempotent demo seed (domain.md §13), loaded in the embedded demo mode only.

`load_demo_seed` runs the parts in order inside one transaction. Each part has its own marker row, so a
database seeded before a part existed gets just that part on the next start; when every marker is present
nothing is written and the report is rebuilt from the database. Later issues append their parts (catalog,
licences, applications …) to `PARTS`.
"""

from __future__ import annotations

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from api.kit.clock import Clock
from api.kit.pii import PiiCipher
from api.seed import applications, bills, catalog, devices, identity, licenses, reference
from api.seed.context import SeedContext, SeedPart
from api.seed.describe import describe
from api.seed.report import SeedReport

__all__ = ["PARTS", "SeedPart", "SeedReport", "load_demo_seed"]

PARTS: tuple[SeedPart, ...] = (
    SeedPart("reference", reference.is_loaded, reference.load),
    *identity.PARTS,
    *catalog.PARTS,
    *licenses.PARTS,
    *applications.PARTS,
    *bills.PARTS,
    *devices.PARTS,
)


async def _load_once(pii: PiiCipher, clock: Clock) -> SeedReport:
    async with in_transaction() as db:
        ctx = SeedContext.create(pii=pii, clock=clock, db=db)
        for part in PARTS:
            if not await part.is_loaded(db):
                await part.load(ctx)
        return await describe(db)


async def load_demo_seed(*, pii: PiiCipher, clock: Clock) -> SeedReport:
    try:
        return await _load_once(pii, clock)
    except IntegrityError:
        # Two processes (API and worker) seeding one fresh database at once: the loser rolled back
        # completely; a second pass sees the winner's markers and only reads.
        return await _load_once(pii, clock)
