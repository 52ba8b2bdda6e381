"""The seed as the live server's database holds it: on SQLite in the embedded run, on PostgreSQL in the server
run (where the file-level seed tests, which open their own SQLite database, are skipped)."""

from __future__ import annotations

from api.kit.codes import is_valid_uscc
from api.models import AgentAuthorization, Enterprise, Operator, Organization, Person, Region
from tests.support.client import LiveServer


class TestLiveSeed:
    async def test_holds_the_demo_subjects_and_operators(self, live: LiveServer) -> None:
        assert await Region.filter(is_synthetic=True).count() >= 4
        assert await Organization.filter(is_synthetic=True).count() == 8
        assert await Person.filter(is_synthetic=True).count() == 20
        assert await Enterprise.filter(is_synthetic=True).count() == 5
        assert await Operator.filter(is_synthetic=True).count() == 14
        assert await AgentAuthorization.filter(is_synthetic=True).count() == 7
        assert all(is_valid_uscc(e.uscc) for e in await Enterprise.filter(is_synthetic=True))
