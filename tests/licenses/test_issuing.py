"""Issuing a licence at 办结: identifier, 新发 operation, `licenses.issued` event, and the holder's wallet."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from tortoise.transactions import in_transaction

from api.kit.errors import InvalidInput
from api.licenses import identifiers, issuing
from api.models import ELicense, LicenseOperation, Organization, OutboxEvent, Person
from api.seed import catalog_licence_types as types
from api.seed.context import seed_id
from tests.support.client import Api

MY_LICENSES = "query { myLicenses(first: 100) { edges { node { id identifier name status holderName } } } }"


async def _holder(phone_suffix: int) -> tuple[Person, issuing.Holder]:
    person = await Person.get(id=seed_id("person", phone_suffix))
    return person, issuing.Holder(person.name, "111", person.id_number_hash or "", person_id=person.id)


async def _counts() -> tuple[int, int, int]:
    return (
        await ELicense.all().count(),
        await LicenseOperation.all().count(),
        await OutboxEvent.filter(topic="licenses.issued").count(),
    )


class TestIssue:
    async def test_a_licence_is_issued_into_the_holders_wallet(self, api: Api) -> None:
        # given a department and a resident
        issuer = await Organization.get(id=seed_id("organization", "mzj"))
        person, holder = await _holder(6)
        now = api.live.clock.now()
        request = issuing.Issue(
            type_code=types.MARRIAGE_CERTIFICATE,
            type_name="结婚证",
            holder=holder,
            area_code=issuer.region_code,
            surface=[{"key": "登记机关", "value": issuer.name}],
            valid_to=date(2099, 12, 31),
            project_no="TEST-ISSUE-1",
        )
        # when
        async with in_transaction() as db:
            licence = await issuing.issue(request, issuer, "婚姻登记员", now, db)
        # then
        parts = identifiers.parse(licence.cert_identifier)
        assert (parts.type_code, parts.issuer_code, parts.version) == (types.MARRIAGE_CERTIFICATE, issuer.uscc, "001")
        row = await ELicense.get(id=licence.id)
        assert (row.holder_person_id, row.source, row.trust_grade, row.status.value) == (
            person.id,
            "LOCAL_ISSUED",
            "A",
            "01",
        )
        assert row.valid_to == date(2099, 12, 31)
        operation = await LicenseOperation.get(elicense_id=licence.id)
        assert (operation.operation, operation.actor) == ("01", "婚姻登记员")
        event = await OutboxEvent.get(topic="licenses.issued", key=str(licence.id))
        assert event.state_version == 1
        assert event.payload["holderPersonId"] == str(person.id)
        session = await api.sign_in("19900000006")
        wallet = (await api.data(MY_LICENSES, token=session.access_token))["myLicenses"]["edges"]
        assert str(licence.id) in [edge["node"]["id"] for edge in wallet]

    async def test_a_missing_type_code_or_an_inverted_term_writes_nothing(self, api: Api) -> None:
        issuer = await Organization.get(id=seed_id("organization", "mzj"))
        _, holder = await _holder(6)
        now = api.live.clock.now()
        before = await _counts()
        bad_requests = [
            issuing.Issue(type_code="", type_name="x", holder=holder, area_code=issuer.region_code),
            issuing.Issue(
                type_code=types.MARRIAGE_CERTIFICATE,
                type_name="x",
                holder=holder,
                area_code=issuer.region_code,
                valid_from=date(2030, 1, 2),
                valid_to=date(2030, 1, 1),
            ),
            issuing.Issue(
                type_code=types.MARRIAGE_CERTIFICATE,
                type_name="x",
                holder=issuing.Holder("无主", "111", ""),
                area_code=issuer.region_code,
            ),
        ]
        for request in bad_requests:
            with pytest.raises(InvalidInput):
                async with in_transaction() as db:
                    await issuing.issue(request, issuer, "x", now - timedelta(seconds=1), db)
        assert await _counts() == before
