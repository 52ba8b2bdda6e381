"""compile_segment against the real database: each whitelisted field selects exactly the synthetic rows it should."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from api.models.applications import ApplicationStatus
from api.models.identity import EnterpriseSize
from api.models.licenses import LicenseStatus
from notifications.segments import compile_segment, parse_segment
from tests.notifications.segments.support import application, enterprise, fresh_district, licence, person
from tests.support.client import LiveServer

TODAY = date(2031, 3, 3)


async def matching(dsl: dict[str, Any], today: date = TODAY) -> set[str]:
    compiled = compile_segment(parse_segment(dsl), today)
    return {str(i) for i in await compiled.model.filter(compiled.q).values_list("id", flat=True)}


def within(district: str, *more: dict[str, Any]) -> dict[str, Any]:
    return {"all": [{"field": "resident.region_code", "op": "prefix", "value": district}, *more]}


class TestCompileSegment:
    async def test_region_eq_in_and_prefix(self, live: LiveServer) -> None:
        # given two persons in two towns of a fresh district and one in another fresh district
        district, other = fresh_district(), fresh_district()
        a = await person(district, town="001")
        b = await person(district, town="002")
        c = await person(other)
        # when / then
        assert await matching({"field": "resident.region_code", "op": "eq", "value": a.region_code}) == {str(a.id)}
        assert await matching(
            {"field": "resident.region_code", "op": "in", "value": [a.region_code, c.region_code]}
        ) == {str(a.id), str(c.id)}
        assert await matching({"field": "resident.region_code", "op": "prefix", "value": district}) == {
            str(a.id),
            str(b.id),
        }

    async def test_age_boundaries(self, live: LiveServer) -> None:
        # given persons turning 60 today, turning 60 tomorrow, 70 today and 71
        district = fresh_district()
        sixty = await person(district, born=date(1971, 3, 3))
        almost = await person(district, born=date(1971, 3, 4))
        seventy = await person(district, born=date(1961, 3, 3))
        older = await person(district, born=date(1960, 3, 2))
        # when / then: gte, lte and between are inclusive ages in whole years
        assert await matching(within(district, {"field": "resident.age", "op": "gte", "value": 60})) == {
            str(sixty.id),
            str(seventy.id),
            str(older.id),
        }
        assert await matching(within(district, {"field": "resident.age", "op": "lte", "value": 70})) == {
            str(almost.id),
            str(sixty.id),
            str(seventy.id),
        }
        assert await matching(within(district, {"field": "resident.age", "op": "between", "value": [60, 70]})) == {
            str(sixty.id),
            str(seventy.id),
        }

    async def test_age_of_someone_born_on_29_february(self, live: LiveServer) -> None:
        # given a person born on 29 February 1968 and one born on 28 February 1967
        district = fresh_district()
        leapling = await person(district, born=date(1968, 2, 29))
        earlier = await person(district, born=date(1967, 2, 28))
        at_least = {"field": "resident.age", "op": "gte", "value": 61}
        sixty = {"field": "resident.age", "op": "gte", "value": 60}
        # when today is 29 February 2028: the leapling is 60, the other 61 (cutoff 28 February 1967)
        assert await matching(within(district, sixty), date(2028, 2, 29)) == {str(leapling.id), str(earlier.id)}
        assert await matching(within(district, at_least), date(2028, 2, 29)) == {str(earlier.id)}
        # then in the common year 2029 the leapling turns 61 on 1 March, not on 28 February
        assert await matching(within(district, at_least), date(2029, 2, 28)) == {str(earlier.id)}
        assert await matching(within(district, at_least), date(2029, 3, 1)) == {str(leapling.id), str(earlier.id)}

    async def test_mobile_eq_in_and_prefix(self, live: LiveServer) -> None:
        district = fresh_district()
        prefix = f"1708{district[-4:]}"  # a number range as unused as the district
        a = await person(district, mobile=f"{prefix}001")
        b = await person(district, mobile=f"{prefix}002")
        await person(district)
        assert await matching({"field": "resident.mobile", "op": "prefix", "value": prefix}) == {str(a.id), str(b.id)}
        assert await matching({"field": "resident.mobile", "op": "eq", "value": a.mobile}) == {str(a.id)}
        assert await matching({"field": "resident.mobile", "op": "in", "value": [b.mobile]}) == {str(b.id)}

    async def test_gender_any_and_not(self, live: LiveServer) -> None:
        district = fresh_district()
        man = await person(district, gender="1")
        woman = await person(district, gender="2", town="001")
        assert await matching(within(district, {"field": "resident.gender", "op": "in", "value": ["2"]})) == {
            str(woman.id)
        }
        assert await matching(within(district, {"not": {"field": "resident.gender", "op": "eq", "value": "2"}})) == {
            str(man.id)
        }
        either = {
            "any": [
                {"field": "resident.region_code", "op": "eq", "value": man.region_code},
                {"field": "resident.gender", "op": "eq", "value": "2"},
            ]
        }
        assert await matching(within(district, either)) == {str(man.id), str(woman.id)}

    async def test_enterprise_industry_size_and_licence_expiry(self, live: LiveServer) -> None:
        # given enterprises of industry Y (two) and Z in a fresh district, and their licences (N09's shape)
        district = fresh_district()
        y1 = await enterprise(district, await person(district), industry="F5111", size=EnterpriseSize.MICRO)
        y2 = await enterprise(district, await person(district), industry="F5111")
        z = await enterprise(district, await person(district), industry="C1311")
        in30 = await licence(district, TODAY + timedelta(days=30), holder=y1)
        in31 = await licence(district, TODAY + timedelta(days=31), holder=y2)
        gone = await licence(district, TODAY - timedelta(days=1), holder=y1)
        revoked = await licence(district, TODAY + timedelta(days=5), holder=y2, status=LicenseStatus.REVOKED)
        await licence(district, TODAY + timedelta(days=10), holder=z)
        industry_y = [
            {"field": "enterprise.region_code", "op": "prefix", "value": district},
            {"field": "enterprise.industry_code", "op": "eq", "value": "F5111"},
        ]
        # when / then
        assert await matching({"all": industry_y}) == {str(y1.id), str(y2.id)}
        assert await matching({"all": [*industry_y, {"field": "enterprise.size", "op": "eq", "value": "MICRO"}]}) == {
            str(y1.id)
        }
        expiring = {"field": "license.expires_within_days", "op": "lte", "value": 30}
        assert await matching({"all": [*industry_y, expiring]}) == {str(in30.id)}
        tomorrow = TODAY + timedelta(days=1)  # the revoked licence never matches: only valid ones expire
        assert await matching({"all": [*industry_y, expiring]}, tomorrow) == {str(in30.id), str(in31.id)}
        window = {"field": "license.valid_to", "op": "between_days_from_today", "value": [-3, 5]}
        assert await matching({"all": [*industry_y, window]}) == {str(gone.id), str(revoked.id)}
        prefix = {"field": "enterprise.industry_code", "op": "prefix", "value": "C"}
        near = {"field": "license.type_code", "op": "in", "value": ["T990001"]}
        area = {"field": "enterprise.region_code", "op": "prefix", "value": district}
        assert len(await matching({"all": [area, prefix, near]})) == 1

    async def test_application_status_and_task(self, live: LiveServer) -> None:
        district = fresh_district()
        waiting = await person(district)
        done = await person(district)
        idle = await person(district)
        await application(waiting, ApplicationStatus.SUPPLEMENT_REQUIRED, task_code="TASK7001")
        await application(done, ApplicationStatus.COMPLETED, task_code="TASK7001")
        status = {"field": "application.status", "op": "eq", "value": "SUPPLEMENT_REQUIRED"}
        assert await matching(within(district, status)) == {str(waiting.id)}
        assert await matching(within(district, {"not": status})) == {str(done.id), str(idle.id)}
        task = {"field": "application.task_code", "op": "in", "value": ["TASK7001"]}
        assert await matching(within(district, task)) == {str(waiting.id), str(done.id)}
