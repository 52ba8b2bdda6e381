"""The issue's journey over the real submission path: a 即办件 is completed at submission, its applicant rates it
差评, and the department's rectification ticket appears."""

from __future__ import annotations

from api.models import Application, EvaluationStatus
from tests.applications.support import DEPARTMENT_OF, INSTANT_ITEM, application, resident_token, submitted
from tests.ratings.support import RECTIFICATION, bad_input, handler, rated
from tests.support.client import Api


class TestRateSubmittedCase:
    async def test_a_bad_rating_of_a_submitted_instant_case_reaches_its_department(self, api: Api) -> None:
        # given a 即办件 submitted through submitApplication (completed at once)
        token = await resident_token(api, 7)
        submitted_case = await submitted(api, token, INSTANT_ITEM)
        assert submitted_case["status"] == "COMPLETED"
        app = await Application.get(id=submitted_case["id"])
        # when its applicant rates 办结 非常不满意
        rating = await rated(api, token, bad_input(app))
        # then the case shows the loop, and the handling department sees the ticket with the case
        assert rating["projectNo"] == submitted_case["projectNo"]
        shown = await application(api, token, submitted_case["id"])
        assert shown is not None and shown["evaluationStatus"] == EvaluationStatus.RECTIFYING.value
        dept = await handler(api, DEPARTMENT_OF[INSTANT_ITEM])
        ticket = (await api.data(RECTIFICATION, {"id": rating["rectification"]["id"]}, dept))["rectification"]
        assert (ticket["status"], ticket["rating"]["projectNo"]) == ("PENDING_CALLBACK", submitted_case["projectNo"])
        assert ticket["assignedOrgId"] == str(app.accepting_org_id)
