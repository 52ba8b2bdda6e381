"""Topic routing (§C5): template per topic, recipients per producer family (person, or the enterprise's legal
representative), parameters flattened to text, and the due moment of a bill reminder as its expiry."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from api.models import Enterprise, Person
from api.seed.context import seed_id
from notifications.errors import NotificationsError
from notifications.topics import CONSUMED_TOPICS, EventNotice, format_amount, route_event, template_for_topic
from tests.notifications.users.support import resident
from tests.support.client import Api


async def canyin_rep() -> tuple[uuid.UUID, uuid.UUID]:
    enterprise = await Enterprise.get(id=seed_id("enterprise", "canyin"))
    rep = await Person.get(id_number_hash=enterprise.legal_rep_id_hash)
    return enterprise.id, rep.id


class TestTemplateForTopic:
    def test_consumed_topics_and_others(self) -> None:
        assert template_for_topic("application.accepted") == "APPLICATION_ACCEPTED"
        assert "payments.bill_due_soon" in CONSUMED_TOPICS
        assert "ratings.rectification_due" not in CONSUMED_TOPICS
        with pytest.raises(NotificationsError) as refused:
            template_for_topic("supervision.alert_raised")
        assert (refused.value.code, refused.value.path) == ("INVALID_INPUT", ["topic"])


class TestFormatAmount:
    def test_yuan_with_two_decimals(self) -> None:
        assert [format_amount(f) for f in (1250, 5, 123456789, -300)] == ["¥12.50", "¥0.05", "¥1,234,567.89", "-¥3.00"]


class TestRouteEvent:
    async def test_an_application_goes_to_its_applicant_with_flat_params(self, api: Api) -> None:
        person = await resident(api)
        payload = {
            "applicationId": "A1",
            "projectNo": "P1",
            "itemName": "食品经营许可",
            "applicantPersonId": str(person),
            "applicantEnterpriseId": None,
            "seq": 3,
            "items": [{"name": "身份证"}],
            "licenceIds": ["L1", "L2"],
        }
        notices = await route_event("application.accepted", "A1", 3, payload)
        assert notices == [
            EventNotice(
                person,
                "APPLICATION_ACCEPTED",
                {
                    "applicationId": "A1",
                    "projectNo": "P1",
                    "itemName": "食品经营许可",
                    "applicantPersonId": str(person),
                    "seq": "3",
                    "licenceIds": "L1、L2",
                },
                None,
            )
        ]

    async def test_an_enterprise_application_goes_to_the_legal_representative(self, live: object) -> None:
        enterprise, rep = await canyin_rep()
        payload = {"applicationId": "A2", "applicantPersonId": None, "applicantEnterpriseId": str(enterprise)}
        notices = await route_event(
            "application.supplement_requested", "A2", 4, payload | {"dueAt": "2030-03-10T15:30:00+00:00"}
        )
        assert [(n.recipient_user_id, n.template_code) for n in notices] == [(rep, "APPLICATION_SUPPLEMENT_REQUESTED")]
        assert notices[0].params["dueDate"] == "2030-03-10" and notices[0].expires_at is None

    async def test_a_bill_due_soon_carries_the_amount_and_expires_when_due(self, api: Api) -> None:
        person = await resident(api)
        payload = {
            "billId": "B1",
            "personId": str(person),
            "enterpriseId": None,
            "amountFen": 1250,
            "dueAt": "2030-03-05T15:59:59+00:00",
            "dueDate": "2030-03-05",
            "subject": "证照工本费",
        }
        [notice] = await route_event("payments.bill_due_soon", "B1", 20300305, payload)
        assert (notice.recipient_user_id, notice.template_code) == (person, "PAYMENTS_BILL_DUE_SOON")
        assert (notice.params["amount"], notice.params["dueDate"]) == ("¥12.50", "2030-03-05")
        assert notice.expires_at == datetime(2030, 3, 5, 15, 59, 59, tzinfo=UTC)

    async def test_an_enterprise_bill_goes_to_its_contact(self, live: object) -> None:
        enterprise, rep = await canyin_rep()
        payload = {"billId": "B2", "personId": None, "enterpriseId": str(enterprise), "amountFen": 100}
        notices = await route_event("payments.bill_paid", "B2", 2, payload)
        assert [n.recipient_user_id for n in notices] == [rep]

    async def test_licences_in_either_spelling(self, api: Api) -> None:
        person = await resident(api)
        enterprise, rep = await canyin_rep()
        expiring = {
            "license_id": "L1",
            "valid_to": "2030-04-03",
            "days_left": 30,
            "name": "食品经营许可证",
            "holder_person_id": None,
            "holder_enterprise_id": str(enterprise),
        }
        issued = {
            "licenseId": "L2",
            "validTo": None,
            "name": "营业执照",
            "holderPersonId": str(person),
            "holderEnterpriseId": None,
        }
        [first] = await route_event("licenses.expiring", "L1", 30, expiring)
        [second] = await route_event("licenses.issued", "L2", 1, issued)
        assert (first.recipient_user_id, first.template_code, first.params["validTo"]) == (
            rep,
            "LICENSES_EXPIRING",
            "2030-04-03",
        )
        assert (second.recipient_user_id, second.params["license_id"]) == (person, "L2")

    async def test_nobody_to_notify_or_a_topic_not_consumed_gives_nothing(self, live: object) -> None:
        assert await route_event("application.accepted", "A3", 1, {"applicantEnterpriseId": str(uuid.uuid4())}) == []
        assert await route_event("application.accepted", "A3", 1, {"applicantPersonId": "not-a-uuid"}) == []
        assert await route_event("ratings.rectification_due", "R1", 1, {"personId": str(uuid.uuid4())}) == []
