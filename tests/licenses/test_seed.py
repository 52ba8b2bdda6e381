"""The licence seed (domain.md §13): holdings, statuses, expiries, identifiers and use records."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from api.licenses import identifiers
from api.models import Consent, ELicense, Enterprise, LicenseStatus, LicenseUse, LicenseUseType, Person
from api.seed.operators import VERIFIER_CLIENT_ID
from tests.support.client import Api


class TestLicenceSeed:
    async def test_matches_the_demo_brief(self, api: Api) -> None:
        rows = await ELicense.filter(is_synthetic=True)
        holders = Counter(str(r.holder_person_id or r.holder_enterprise_id) for r in rows)
        subjects = [str(p) for p in await Person.filter(is_synthetic=True).values_list("id", flat=True)]
        subjects += [str(e) for e in await Enterprise.filter(is_synthetic=True).values_list("id", flat=True)]
        assert all(1 <= holders[s] <= 4 for s in subjects)
        assert all(identifiers.is_valid(r.cert_identifier) for r in rows)
        statuses = Counter(r.status for r in rows)
        assert (
            statuses[LicenseStatus.EXPIRED],
            statuses[LicenseStatus.SUSPENDED],
            statuses[LicenseStatus.REVOKED],
        ) == (
            2,
            1,
            1,
        )
        seeded_on = min(r.created_at for r in rows).date()
        soon = [
            r
            for r in rows
            if r.status is LicenseStatus.VALID and r.valid_to and r.valid_to <= seeded_on + timedelta(days=30)
        ]
        assert len(soon) >= 5
        uses = await LicenseUse.filter(is_synthetic=True)
        assert {use.use_type for use in uses} == set(LicenseUseType)
        assert await Consent.filter(is_synthetic=True, grantee=VERIFIER_CLIENT_ID).exists()
