"""Whole handling journeys over GraphQL: 受理 → 补正 → steps → 决定 → 出证 into the wallet → 送达; the paused clock;
the 补正 timeout job; the 即办件 path; delivery refusals."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from api.applications import jobs
from api.applications.policy import current
from api.kit.clock import shanghai_date
from api.licenses import identifiers
from api.models import (
    ActorType,
    Application,
    ApplicationEvent,
    ELicense,
    EventType,
    LicenseOperation,
    OutboxEvent,
    ServiceItem,
    SpecialProcedureDef,
)
from tests.applications import support
from tests.applications.handling_support import (
    accepted_case,
    act,
    assert_journal_consistent,
    calendar_of,
    done,
    resident_token,
    snapshot,
)
from tests.support.client import Api

DEPT = support.DEPARTMENT_OF[support.PROMISED_ITEM]
SUPPLEMENT = """
mutation S($input: SupplementApplicationInput!) {
  supplementApplication(input: $input) { __typename ... on Error { code message path } }
}
"""
MY_LICENSES = "query { myLicenses(first: 100) { edges { node { id identifier name status holderName } } } }"


class _At:
    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def now(self) -> datetime:
        return self.moment


async def _types(application_id: str) -> list[str]:
    return [e.event_type.value for e in await ApplicationEvent.filter(application_id=application_id).order_by("seq")]


class TestHappyPath:
    async def test_accept_supplement_steps_decide_issue_into_the_wallet_and_deliver(self, api: Api) -> None:
        # given a submitted 承诺件 whose approved result is an e-licence
        resident = await resident_token(api)
        handler = await support.handler_token(api, DEPT)
        case = await support.submitted(api, resident, support.PROMISED_ITEM)
        cid = case["id"]
        await done(api, handler, "passApplicationPrecheck", applicationId=cid)
        await done(api, handler, "receiveApplication", applicationId=cid, opinion="窗口接件")
        accepted = await done(api, handler, "acceptApplication", applicationId=cid)
        # when the handler asks for a supplement after acceptance, the clock pauses
        requirement = case["materials"][0]["requirementId"]
        items = [{"requirementId": requirement, "reason": "出生证明存根页模糊，请重新上传"}]
        asked = await done(api, handler, "requestApplicationSupplement", applicationId=cid, items=items)
        assert asked["status"] == "SUPPLEMENT_REQUIRED"
        assert asked["openSupplement"]["round"] == 1
        assert asked["openSupplement"]["beforeAcceptance"] is False
        app = await Application.get(id=cid)
        assert app.paused_since is not None
        assert app.supplement_rounds == 1
        notice = await OutboxEvent.get(key=cid, topic="application.supplement_requested")
        assert notice.payload["items"] == [
            {"requirement_id": requirement, "name": case["materials"][0]["name"], "reason": items[0]["reason"]}
        ]
        due = datetime.fromisoformat(asked["openSupplement"]["dueAt"])
        assert due - app.paused_since == timedelta(days=current().supplement_days)
        # and the applicant supplements (resuming the clock the same day: the promised date stays)
        answer = {"id": cid, "round": 1, "materials": [{"item": 0, "via": "UPLOAD", "fileId": "upload/new/scan.pdf"}]}
        supplemented = (await api.data(SUPPLEMENT, {"input": answer}, resident))["supplementApplication"]
        assert supplemented["__typename"] == "ApplicationSupplemented", supplemented
        app = await Application.get(id=cid)
        assert (app.status.value, app.paused_since) == ("IN_PROGRESS", None)
        assert app.promise_date is not None
        assert app.promise_date.isoformat() == accepted["promiseDate"]
        # the chain 承办 → 审核 → 批准, then the decision
        for step in ("承办", "审核", "批准"):
            await done(api, handler, "completeApplicationStep", applicationId=cid, step=step, outcome="PASS")
        decided = await done(api, handler, "decideApplication", applicationId=cid, decision="APPROVED")
        assert (decided["status"], decided["decision"], decided["currentStep"]) == ("DECIDED", "APPROVED", None)
        # the result is issued into the applicant's wallet
        licence_input = {
            "certNumber": "Q990000001",
            "surface": [{"key": "新生儿姓名", "value": "演示"}, {"key": "出生日期", "value": "2026-01-01"}],
        }
        issued = await done(api, handler, "issueApplicationResult", applicationId=cid, license=licence_input)
        # then
        assert (issued["status"], issued["resultCode"], issued["evaluationStatus"]) == ("COMPLETED", 0, "PENDING")
        assert (issued["deliveryMethod"], issued["deliveryStatus"]) == ("ELECTRONIC", "E_DELIVERED")
        [licence_id] = issued["resultLicenseIds"]
        licence = await ELicense.get(id=licence_id)
        app = await Application.get(id=cid)
        assert licence.holder_person_id == app.applicant_person_id
        assert (licence.source, licence.status.value, licence.cert_number) == ("LOCAL_ISSUED", "01", "Q990000001")
        assert identifiers.is_valid(licence.cert_identifier)
        assert licence.surface == licence_input["surface"]
        assert [op.operation for op in await LicenseOperation.filter(elicense_id=licence.id)] == ["01"]
        announced = await OutboxEvent.get(topic="licenses.issued", key=licence_id)
        assert announced.payload["applicationId"] == cid
        wallet = (await api.data(MY_LICENSES, token=resident))["myLicenses"]["edges"]
        assert licence_id in [edge["node"]["id"] for edge in wallet]
        assert app.rating_due_at is not None and app.result_time is not None
        assert app.rating_due_at - app.result_time == timedelta(days=current().rating_window_days)
        # and a paper copy goes out by EMS and is received
        shipped = await done(
            api,
            handler,
            "deliverApplicationResult",
            applicationId=cid,
            method="EMS",
            ems={"waybillNo": "ea123456789cn", "receiverMobile": "19900000002", "address": "云溪市西城区演示路 1 号"},
        )
        assert (shipped["deliveryMethod"], shipped["deliveryStatus"]) == ("EMS", "SHIPPED")
        assert shipped["deliveries"][-1]["waybillNo"] == "EA123456789CN"
        received = await done(api, handler, "confirmApplicationResultReceived", applicationId=cid)
        assert received["deliveryStatus"] == "RECEIVED"
        assert await _types(cid) == [
            "SUBMIT",
            "PRECHECK_PASS",
            "RECEIVE",
            "ACCEPT",
            "SUPPLEMENT_NOTICE",
            "SUPPLEMENT_DONE",
            "STEP",
            "STEP",
            "STEP",
            "DECIDE",
            "ISSUE_LICENCE",
            "COMPLETE",
            "DELIVERY_ELECTRONIC",
            "DELIVERY_SHIPPED",
            "DELIVERY_RECEIVED",
        ]
        await assert_journal_consistent(cid)


class TestPauseAndResume:
    async def test_a_special_procedure_moves_the_deadlines_by_the_paused_working_days(self, api: Api) -> None:
        # given an accepted case
        resident = await resident_token(api)
        handler = await support.handler_token(api, DEPT)
        case = await accepted_case(api, resident, handler)
        cid = case["id"]
        before = await Application.get(id=cid)
        declared = await SpecialProcedureDef.filter(service_item_id=before.service_item_id).first()
        kind, subtype = (declared.kind, declared.subtype) if declared else ("2", "EXPERT_REVIEW")
        # when a special procedure runs over at least one working day
        started = await done(
            api,
            handler,
            "startSpecialProcedure",
            applicationId=cid,
            kind=kind,
            subtype=subtype,
            reasonBasis="组织专家评审（依据《行政许可法》第四十五条）",
            plannedDays=1,
        )
        assert started["status"] == "SPECIAL_PROCEDURE"
        paused = await Application.get(id=cid)
        assert paused.paused_since is not None
        paused_on = shanghai_date(paused.paused_since)
        calendar = await calendar_of(cid, paused_on)
        for _ in range(12):
            api.live.clock.advance(timedelta(days=1))
            if calendar.working_days_between(paused_on, shanghai_date(api.live.clock.now())) >= 1:
                break
        handler = await support.handler_token(api, DEPT)
        ended = await done(api, handler, "endSpecialProcedure", applicationId=cid, result="专家评审通过")
        # then every deadline moved by the working days in (pause day, resume day]
        after = await Application.get(id=cid)
        resumed_on = shanghai_date(api.live.clock.now())
        shift = calendar.working_days_between(paused_on, resumed_on)
        assert shift >= 1
        assert before.promise_date is not None and before.legal_date is not None and before.step_due_date is not None
        assert after.promise_date == calendar.add_working_days(before.promise_date, shift)
        assert after.legal_date == calendar.add_working_days(before.legal_date, shift)
        assert after.step_due_date == calendar.add_working_days(before.step_due_date, shift)
        assert after.paused_since is None
        assert after.paused_minutes >= 24 * 60
        assert ended["status"] == "IN_PROGRESS"
        assert ended["specialProcedures"][-1]["result"] == "专家评审通过"
        assert ended["specialProcedures"][-1]["endedAt"] is not None
        await assert_journal_consistent(cid)

    async def test_an_undeclared_special_procedure_changes_nothing(self, api: Api) -> None:
        resident = await resident_token(api)
        handler = await support.handler_token(api, DEPT)
        case = await accepted_case(api, resident, handler)
        before = await snapshot(case["id"])
        result = await act(
            api,
            handler,
            "startSpecialProcedure",
            applicationId=case["id"],
            kind="3",
            subtype="TEST",
            reasonBasis="x",
            plannedDays=1,
        )
        assert (result["__typename"], result["path"]) == ("InvalidInputError", ["kind"])
        assert await snapshot(case["id"]) == before


class TestSupplementTimeout:
    async def test_an_unanswered_round_past_its_deadline_completes_with_result_5_once(self, api: Api) -> None:
        # given an accepted case waiting for a supplement
        resident = await resident_token(api)
        handler = await support.handler_token(api, DEPT)
        case = await accepted_case(api, resident, handler)
        cid = case["id"]
        items = [{"name": "出生医学证明存根", "reason": "缺少"}]
        asked = await done(api, handler, "requestApplicationSupplement", applicationId=cid, items=items)
        due = datetime.fromisoformat(asked["openSupplement"]["dueAt"])
        # when the job runs just before and then after the deadline
        assert await jobs.expire_supplements({"clock": _At(due - timedelta(seconds=1))}) >= 0
        assert (await Application.get(id=cid)).status.value == "SUPPLEMENT_REQUIRED"
        later = _At(due + timedelta(minutes=1))
        await jobs.expire_supplements({"clock": later})
        # then the case is completed with 退件
        app = await Application.get(id=cid)
        assert (app.status.value, app.result_code, app.paused_since) == ("COMPLETED", 5, None)
        assert "逾期未补正" in app.result_reason
        last = await ApplicationEvent.filter(application_id=cid).order_by("-seq").first()
        assert last is not None
        assert (last.event_type, last.actor_type) == (EventType.COMPLETE, ActorType.SYSTEM)
        completed = await OutboxEvent.get(key=cid, topic="application.completed")
        assert completed.payload["resultCode"] == 5
        # and running again changes nothing
        footprint = await snapshot(cid)
        await jobs.expire_supplements({"clock": later})
        assert await snapshot(cid) == footprint
        await assert_journal_consistent(cid)

    async def test_a_supplement_before_acceptance_does_not_pause_the_clock(self, api: Api) -> None:
        resident = await resident_token(api)
        handler = await support.handler_token(api, DEPT)
        case = await support.submitted(api, resident, support.PROMISED_ITEM)
        await done(api, handler, "passApplicationPrecheck", applicationId=case["id"])
        asked = await done(
            api,
            handler,
            "requestApplicationSupplement",
            applicationId=case["id"],
            items=[{"name": "照片", "reason": "缺"}],
        )
        assert asked["openSupplement"]["beforeAcceptance"] is True
        assert (await Application.get(id=case["id"])).paused_since is None


class TestInstantPath:
    async def test_an_instant_case_is_accepted_and_completed_on_submission(self, api: Api) -> None:
        resident = await resident_token(api)
        case = await support.submitted(api, resident, support.INSTANT_ITEM)
        app = await Application.get(id=case["id"])
        assert (app.status.value, app.result_code, app.evaluation_status) == ("COMPLETED", 0, "PENDING")
        assert app.accept_time is not None and app.result_time is not None
        assert app.promise_date == shanghai_date(app.accept_time)
        assert app.accept_doc_no == f"受〔{app.promise_date.year}〕{app.project_no}号"
        assert app.rating_due_at == app.result_time + timedelta(days=current().rating_window_days)
        assert await _types(case["id"]) == ["SUBMIT", "ACCEPT", "COMPLETE"]
        await assert_journal_consistent(case["id"])

    async def test_an_instant_item_yielding_a_licence_puts_it_in_the_wallet(self, api: Api) -> None:
        # given 个体工商户设立登记 (即办件 fully online, result 营业执照)
        resident = await resident_token(api)
        item = await ServiceItem.get(name="个体工商户设立登记", status="PUBLISHED")
        data: dict[str, Any] = {
            "idempotencyKey": support.idempotency_key(),
            "serviceCode": item.task_code,
            "channel": "APP",
            "formData": support.valid_form(item),
            "materials": await support.upload_materials(item),
        }
        # when
        result = (await api.data(support.SUBMIT, {"input": data}, resident))["submitApplication"]
        # then
        assert result["__typename"] == "ApplicationSubmitted", result
        case = result["application"]
        assert (case["status"], case["resultCode"]) == ("COMPLETED", 0)
        [licence_id] = case["resultLicenseIds"]
        wallet = (await api.data(MY_LICENSES, token=resident))["myLicenses"]["edges"]
        assert licence_id in [edge["node"]["id"] for edge in wallet]
        assert await _types(case["id"]) == ["SUBMIT", "ACCEPT", "ISSUE_LICENCE", "COMPLETE", "DELIVERY_ELECTRONIC"]
        await assert_journal_consistent(case["id"])


class TestDeliverApplicationResult:
    async def test_delivery_waits_for_the_result_and_checks_the_waybill(self, api: Api) -> None:
        resident = await resident_token(api)
        handler = await support.handler_token(api, DEPT)
        case = await accepted_case(api, resident, handler)
        before = await snapshot(case["id"])
        early = await act(api, handler, "deliverApplicationResult", applicationId=case["id"], method="PICKUP")
        assert (early["__typename"], early["status"]) == ("ApplicationTransitionError", "IN_PROGRESS")
        bad = await act(
            api, handler, "deliverApplicationResult", applicationId=case["id"], method="EMS", ems={"waybillNo": "#1"}
        )
        assert (bad["__typename"], bad["path"]) == ("InvalidInputError", ["ems", "waybillNo"])
        nothing = await act(api, handler, "confirmApplicationResultReceived", applicationId=case["id"])
        assert nothing["__typename"] == "ApplicationTransitionError"
        assert await snapshot(case["id"]) == before
