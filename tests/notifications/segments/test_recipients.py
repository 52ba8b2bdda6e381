"""iterate_recipients: keyset pages in root id order, enterprises and licences mapped to their contact persons."""

from __future__ import annotations

from datetime import date, timedelta

from notifications.segments import iterate_recipients, parse_segment, recipient_page
from tests.notifications.segments.support import MORNING, enterprise, fresh_district, licence, person, staff_agent
from tests.support.client import LiveServer

TODAY = date(2031, 3, 3)


class TestIterateRecipients:
    async def test_person_pages_follow_the_id_order_without_overlap(self, live: LiveServer) -> None:
        # given 7 residents of a fresh district
        district = fresh_district()
        ids = sorted([(await person(district)).id for _ in range(7)])
        spec = parse_segment({"field": "resident.region_code", "op": "prefix", "value": district})
        # when walking pages of 3
        seen, after = [], None
        while True:
            page = await iterate_recipients(spec, TODAY, after, limit=3)
            if not page:
                break
            seen.extend(page)
            after = page[-1].page_key
        # then every resident once, in id order, each their own root
        assert [r.user_id for r in seen] == ids
        assert all(r.root_id == str(r.user_id) == r.page_key for r in seen)

    async def test_enterprise_maps_to_legal_representative_and_staff_agent(self, live: LiveServer) -> None:
        district = fresh_district()
        rep, agent = await person(district), await person(district)
        company = await enterprise(district, rep)
        await staff_agent(company, agent)
        spec = parse_segment({"field": "enterprise.region_code", "op": "prefix", "value": district})
        page = await iterate_recipients(spec, TODAY, None, at=MORNING)
        assert [(r.user_id, r.root_id) for r in page] == [(rep.id, str(company.id)), (agent.id, str(company.id))]

    async def test_licences_map_to_holder_person_or_enterprise_contact(self, live: LiveServer) -> None:
        district = fresh_district()
        owner, rep = await person(district), await person(district)
        company = await enterprise(district, rep)
        personal = await licence(district, TODAY + timedelta(days=3), holder=owner)
        corporate = await licence(district, TODAY + timedelta(days=3), holder=company)
        spec = parse_segment(
            {
                "all": [
                    {"field": "license.type_code", "op": "eq", "value": "T990001"},
                    {"field": "license.valid_to", "op": "between_days_from_today", "value": [3, 3]},
                    {
                        "any": [
                            {"field": "resident.region_code", "op": "prefix", "value": district},
                            {"field": "enterprise.region_code", "op": "prefix", "value": district},
                        ]
                    },
                ]
            }
        )
        page = await iterate_recipients(spec, TODAY, None)
        expected = {(owner.id, str(personal.id)), (rep.id, str(corporate.id))}
        assert {(r.user_id, r.root_id) for r in page} == expected
        assert {r.params["validTo"] for r in page} == {(TODAY + timedelta(days=3)).isoformat()}

    async def test_a_page_of_roots_without_contacts_is_not_the_end(self, live: LiveServer) -> None:
        # given an enterprise whose representative has no person row, then one with a contact
        district = fresh_district()
        ghost = await person(district)
        first = await enterprise(district, ghost)
        await ghost.delete()
        rep = await person(district)
        second = await enterprise(district, rep)
        spec = parse_segment({"field": "enterprise.region_code", "op": "prefix", "value": district})
        lower, upper = sorted([first, second], key=lambda e: e.id)
        # when reading one root at a time
        page = await recipient_page(spec, TODAY, None, limit=1)
        # then the first page names its position, and the walk goes on
        assert (page.last_key, page.done) == (str(lower.id), False)
        rest = await recipient_page(spec, TODAY, page.last_key, limit=5)
        assert rest.done and rest.last_key == str(upper.id)
        assert [r.user_id for r in page.recipients + rest.recipients] == [rep.id]
