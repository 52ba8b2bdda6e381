"""Operators' reads of applicants' data leave a record (house rule 12); applicants reading their own leave none."""

from __future__ import annotations

import uuid

from api.models import PersonalDataRead
from api.seed.context import seed_id
from tests.applications import support
from tests.support.client import Api

QUEUE = "query Q { caseQueue(first: 5) { edges { node { id } } } }"
DEPT = support.DEPARTMENT_OF[support.PROMISED_ITEM]


async def _reads(subject: str) -> list[tuple[str, str, str | None, str]]:
    rows = await PersonalDataRead.filter(subject_id=uuid.UUID(subject)).order_by("read_at")
    return [
        (str(r.reader_operator_id), r.subject_type, str(r.person_id) if r.person_id else None, r.purpose) for r in rows
    ]


class TestCaseReads:
    async def test_a_handler_reading_a_case_is_recorded_and_the_applicant_reading_it_is_not(self, api: Api) -> None:
        # given a case of resident 14 in the handler's department
        resident = await support.resident_token(api, 14)
        case = await support.submitted(api, resident, support.PROMISED_ITEM)
        handler = await support.handler_token(api, DEPT)

        # when the applicant, then the handler read it
        assert await support.application(api, resident, case["id"]) is not None
        assert await support.application(api, handler, case["id"]) is not None

        # then only the handler's read is recorded, with whose data it was
        assert await _reads(case["id"]) == [
            (str(seed_id("operator", f"handler.{DEPT}")), "APPLICATION", str(seed_id("person", 14)), "CASE_HANDLING")
        ]

    async def test_the_queue_records_each_case_it_shows(self, api: Api) -> None:
        # given
        handler = await support.handler_token(api, DEPT)

        # when
        edges = (await api.data(QUEUE, token=handler))["caseQueue"]["edges"]

        # then
        assert edges
        for edge in edges:
            reads = await _reads(edge["node"]["id"])
            assert reads and reads[-1][0] == str(seed_id("operator", f"handler.{DEPT}"))

    async def test_another_departments_handler_is_refused_and_nothing_is_recorded(self, api: Api) -> None:
        resident = await support.resident_token(api, 14)
        case = await support.submitted(api, resident, support.PROMISED_ITEM)
        stranger = await support.handler_token(api, "jtj")

        assert await support.application(api, stranger, case["id"]) is None
        assert await _reads(case["id"]) == []


class TestRectificationReads:
    async def test_the_callback_ticket_of_a_real_name_rating_records_whose_contact_was_shown(self, api: Api) -> None:
        # given the seeded real-name 差评 of resident 2 on a 市人社局 case, waiting for its callback
        ticket = seed_id("rectification", "bad-pending-callback")
        handler = await support.handler_token(api, "rsj")

        # when the department's handler opens the ticket
        body = await api.data("query R($id: ID!) { rectification(id: $id) { id } }", {"id": str(ticket)}, handler)

        # then
        assert body["rectification"]["id"] == str(ticket)
        assert (await _reads(str(ticket)))[-1] == (
            str(seed_id("operator", "handler.rsj")),
            "RECTIFICATION",
            str(seed_id("person", 2)),
            "RECTIFICATION_CALLBACK",
        )
