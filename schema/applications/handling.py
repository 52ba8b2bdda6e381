"""Case-handler operations (operators of the owning department); the root Query and Mutation inherit them.

The role is checked by the permission class (a top-level FORBIDDEN for anyone who is not a case handler); the
department by the service, with the case row in hand (a typed ForbiddenError, nothing changed). An event the
lifecycle table refuses answers IllegalTransitionError with the status and the events allowed now.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, cast

import strawberry
from strawberry.exceptions import StrawberryGraphQLError

from api.applications import delivery, handling, queue, reading, results, special, supplements, transitions, workflow
from api.identity.tokens import AccessClaims
from api.kit.codes import parse_fen
from api.kit.errors import AppError, InvalidInput
from api.kit.ids import parse_uuid
from api.models import Application as ApplicationRow
from api.models import ApplicationStatus as StatusRow
from api.models import DeliveryMethod, OperatorRole
from schema.access import operator_with
from schema.applications import handling_inputs as inputs
from schema.applications.types import Application, ApplicationStatus, IllegalTransitionError, illegal_transition
from schema.context import Info, wake_relays
from schema.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError, to_error
from schema.pagination import Connection

CaseHandler = operator_with(OperatorRole.CASE_HANDLER)
MAX_SURFACE = 30


@strawberry.type(description="The case after the operation, as its handler sees it.")
class HandledApplication:
    application: Application


Handled = (
    HandledApplication | IllegalTransitionError | InvalidInputError | NotFoundError | ForbiddenError | ConflictError
)


PassApplicationPrecheckResult = Annotated[Handled, strawberry.union("PassApplicationPrecheckResult")]
ReturnApplicationPrecheckResult = Annotated[Handled, strawberry.union("ReturnApplicationPrecheckResult")]
ReceiveApplicationResult = Annotated[Handled, strawberry.union("ReceiveApplicationResult")]
AcceptApplicationResult = Annotated[Handled, strawberry.union("AcceptApplicationResult")]
DeclineApplicationResult = Annotated[Handled, strawberry.union("DeclineApplicationResult")]
RequestApplicationSupplementResult = Annotated[Handled, strawberry.union("RequestApplicationSupplementResult")]
StartSpecialProcedureResult = Annotated[Handled, strawberry.union("StartSpecialProcedureResult")]
EndSpecialProcedureResult = Annotated[Handled, strawberry.union("EndSpecialProcedureResult")]
CompleteApplicationStepResult = Annotated[Handled, strawberry.union("CompleteApplicationStepResult")]
DecideApplicationResult = Annotated[Handled, strawberry.union("DecideApplicationResult")]
IssueApplicationResultResult = Annotated[Handled, strawberry.union("IssueApplicationResultResult")]
DeliverApplicationResultResult = Annotated[Handled, strawberry.union("DeliverApplicationResultResult")]
ConfirmApplicationResultReceivedResult = Annotated[Handled, strawberry.union("ConfirmApplicationResultReceivedResult")]
RecordApplicationVisitResult = Annotated[Handled, strawberry.union("RecordApplicationVisitResult")]
TerminateApplicationResult = Annotated[Handled, strawberry.union("TerminateApplicationResult")]
RequestApplicationPaymentResult = Annotated[Handled, strawberry.union("RequestApplicationPaymentResult")]


def _claims(info: Info) -> AccessClaims:
    claims = info.context.principal.claims
    assert claims is not None  # the field's permission class guarantees it
    return claims


def _uuid(value: str | None, path: list[str]) -> uuid.UUID:
    parsed = parse_uuid(str(value or "").strip())
    if parsed is None:
        raise InvalidInput("not a valid id", path=path, code="INVALID_ID")
    return parsed


def _notice(items: list[inputs.NoticeItemInput]) -> list[supplements.NoticeItem]:
    return [
        supplements.NoticeItem(
            _uuid(i.requirement_id, ["items", str(n), "requirementId"]) if i.requirement_id else None, i.name, i.reason
        )
        for n, i in enumerate(items)
    ]


def _fen(value: str | None) -> int | None:
    if value is None:
        return None
    fen = parse_fen(value, 12)
    if fen is None:
        raise InvalidInput("integer fen as decimal digits", path=["amountFen"], code="INVALID_AMOUNT")
    return fen


def _spec(summary: str, given: inputs.IssuedLicenseInput | None) -> results.ResultSpec:
    if given is None:
        return results.ResultSpec(summary=summary)
    surface = given.surface or []
    if len(surface) > MAX_SURFACE:
        raise InvalidInput(f"at most {MAX_SURFACE} surface entries", path=["license", "surface"], code="TOO_MANY")
    entries = []
    for n, entry in enumerate(surface):
        key, value = entry.key.strip(), entry.value.strip()
        if not key or len(key) > 50 or len(value) > 500:
            raise InvalidInput(
                "a surface entry has a key (≤ 50) and a value (≤ 500)",
                path=["license", "surface", str(n)],
                code="INVALID_SURFACE",
            )
        entries.append({"key": key, "value": value})
    if len(given.cert_number.strip()) > 100:
        raise InvalidInput("at most 100 characters", path=["license", "certNumber"], code="TOO_LONG")
    return results.ResultSpec(
        surface=entries,
        cert_number=given.cert_number.strip(),
        valid_from=given.valid_from,
        valid_to=given.valid_to,
        summary=summary,
    )


async def _handle(info: Info, call: Callable[[], Awaitable[ApplicationRow]]) -> Handled:
    try:
        app = await call()
    except transitions.IllegalTransition as exc:
        return illegal_transition(exc)
    except AppError as exc:
        return cast(Handled, to_error(exc))
    await wake_relays(info)
    view = await reading.view_of(app, reading.Viewer.OPERATOR)
    return HandledApplication(application=Application.from_view(view))


def _now(info: Info) -> Any:
    return info.context.identity.clock.now()


@strawberry.type
class HandlingQuery:
    @strawberry.field(
        permission_classes=[CaseHandler],
        description="Your department's cases, oldest application first; `status` filters (default: every open "
        "status). `first`: at most 100.",
    )
    async def case_queue(
        self,
        info: Info,
        status: list[ApplicationStatus] | None = None,
        first: int | None = 20,
        after: str | None = None,
    ) -> Connection[Application]:
        wanted = [StatusRow(s.value) for s in status] if status else None
        try:
            page = await queue.case_queue(_claims(info), wanted, first, after, _now(info))
        except AppError as exc:
            raise StrawberryGraphQLError(exc.message, extensions={"code": exc.code}) from None
        return Connection.of(page, Application.from_view)


@strawberry.type
class HandlingMutation:
    @strawberry.mutation(permission_classes=[CaseHandler], description="预审通过: SUBMITTED → PENDING_ACCEPTANCE.")
    async def pass_application_precheck(
        self, info: Info, input: inputs.PassApplicationPrecheckInput
    ) -> PassApplicationPrecheckResult:
        return await _handle(
            info,
            lambda: handling.precheck_pass(
                _claims(info), _uuid(input.application_id, ["applicationId"]), input.opinion, _now(info)
            ),
        )

    @strawberry.mutation(
        permission_classes=[CaseHandler], description="预审退回 with a 一次性告知: SUBMITTED → PRECHECK_RETURNED."
    )
    async def return_application_precheck(
        self, info: Info, input: inputs.ReturnApplicationPrecheckInput
    ) -> ReturnApplicationPrecheckResult:
        return await _handle(
            info,
            lambda: handling.precheck_return(
                _claims(info),
                _uuid(input.application_id, ["applicationId"]),
                _notice(input.items),
                input.opinion,
                _now(info),
            ),
        )

    @strawberry.mutation(permission_classes=[CaseHandler], description="接件 (the status stays PENDING_ACCEPTANCE).")
    async def receive_application(self, info: Info, input: inputs.ReceiveApplicationInput) -> ReceiveApplicationResult:
        return await _handle(
            info,
            lambda: handling.receive(
                _claims(info), _uuid(input.application_id, ["applicationId"]), input.opinion, _now(info)
            ),
        )

    @strawberry.mutation(
        permission_classes=[CaseHandler],
        description="受理: PENDING_ACCEPTANCE → IN_PROGRESS (a 即办件 also from SUBMITTED); promised date on the "
        "working-day calendar.",
    )
    async def accept_application(self, info: Info, input: inputs.AcceptApplicationInput) -> AcceptApplicationResult:
        return await _handle(
            info,
            lambda: handling.accept(
                _claims(info), _uuid(input.application_id, ["applicationId"]), input.opinion, _now(info)
            ),
        )

    @strawberry.mutation(permission_classes=[CaseHandler], description="不予受理 (terminal, 办结结果 6).")
    async def decline_application(self, info: Info, input: inputs.DeclineApplicationInput) -> DeclineApplicationResult:
        return await _handle(
            info,
            lambda: handling.not_accept(
                _claims(info),
                _uuid(input.application_id, ["applicationId"]),
                input.reason,
                input.notice_no,
                _now(info),
            ),
        )

    @strawberry.mutation(
        permission_classes=[CaseHandler],
        description="补正告知 (一次性告知): the applicant has the configured number of natural days; after "
        "acceptance the promised clock pauses.",
    )
    async def request_application_supplement(
        self, info: Info, input: inputs.RequestApplicationSupplementInput
    ) -> RequestApplicationSupplementResult:
        return await _handle(
            info,
            lambda: supplements.request_supplement(
                _claims(info),
                _uuid(input.application_id, ["applicationId"]),
                _notice(input.items),
                input.opinion,
                _now(info),
            ),
        )

    @strawberry.mutation(permission_classes=[CaseHandler], description="特别程序 starts; the clock pauses.")
    async def start_special_procedure(
        self, info: Info, input: inputs.StartSpecialProcedureInput
    ) -> StartSpecialProcedureResult:
        return await _handle(
            info,
            lambda: special.start(
                _claims(info),
                _uuid(input.application_id, ["applicationId"]),
                input.kind,
                input.subtype,
                input.reason_basis,
                input.planned_days,
                input.requested_by,
                _now(info),
            ),
        )

    @strawberry.mutation(
        permission_classes=[CaseHandler],
        description="特别程序 ends; the deadlines move by the paused working days.",
    )
    async def end_special_procedure(
        self, info: Info, input: inputs.EndSpecialProcedureInput
    ) -> EndSpecialProcedureResult:
        return await _handle(
            info,
            lambda: special.end(
                _claims(info), _uuid(input.application_id, ["applicationId"]), input.result, input.opinion, _now(info)
            ),
        )

    @strawberry.mutation(
        permission_classes=[CaseHandler],
        description="承办 → 审核 → 批准: pass the current step (or return it one step back).",
    )
    async def complete_application_step(
        self, info: Info, input: inputs.CompleteApplicationStepInput
    ) -> CompleteApplicationStepResult:
        return await _handle(
            info,
            lambda: handling.step(
                _claims(info),
                _uuid(input.application_id, ["applicationId"]),
                input.step,
                workflow.Outcome(input.outcome.value),
                input.opinion,
                _now(info),
            ),
        )

    @strawberry.mutation(
        permission_classes=[CaseHandler],
        description="决定 (IN_PROGRESS → DECIDED) once every step has passed; a rejection needs its reason.",
    )
    async def decide_application(self, info: Info, input: inputs.DecideApplicationInput) -> DecideApplicationResult:
        return await _handle(
            info,
            lambda: results.decide(
                _claims(info),
                _uuid(input.application_id, ["applicationId"]),
                results.Decision(input.decision.value),
                input.reason,
                _now(info),
            ),
        )

    @strawberry.mutation(
        permission_classes=[CaseHandler],
        description="出证 / 办结: an approved result of an item that yields an e-licence puts it in the applicant's "
        "wallet (办结结果 0); a rejection completes with 1 不予许可.",
    )
    async def issue_application_result(
        self, info: Info, input: inputs.IssueApplicationResultInput
    ) -> IssueApplicationResultResult:
        return await _handle(
            info,
            lambda: results.issue_result(
                _claims(info),
                _uuid(input.application_id, ["applicationId"]),
                _spec(input.summary, input.license),
                _now(info),
            ),
        )

    @strawberry.mutation(
        permission_classes=[CaseHandler], description="送达: EMS with its waybill, ready for pickup, or electronic."
    )
    async def deliver_application_result(
        self, info: Info, input: inputs.DeliverApplicationResultInput
    ) -> DeliverApplicationResultResult:
        ems = input.ems
        shipment = (
            delivery.Shipment(ems.waybill_no, ems.carrier, ems.receiver_name, ems.receiver_mobile, ems.address)
            if ems is not None
            else None
        )
        return await _handle(
            info,
            lambda: delivery.deliver(
                _claims(info),
                _uuid(input.application_id, ["applicationId"]),
                DeliveryMethod(input.method.value),
                shipment,
                input.note,
                _now(info),
            ),
        )

    @strawberry.mutation(permission_classes=[CaseHandler], description="签收 of the open EMS shipment or pickup.")
    async def confirm_application_result_received(
        self, info: Info, input: inputs.ConfirmApplicationResultReceivedInput
    ) -> ConfirmApplicationResultReceivedResult:
        return await _handle(
            info,
            lambda: delivery.confirm_received(
                _claims(info), _uuid(input.application_id, ["applicationId"]), input.note, _now(info)
            ),
        )

    @strawberry.mutation(permission_classes=[CaseHandler], description="Record an on-site visit (到现场次数).")
    async def record_application_visit(
        self, info: Info, input: inputs.RecordApplicationVisitInput
    ) -> RecordApplicationVisitResult:
        return await _handle(
            info,
            lambda: handling.record_visit(
                _claims(info), _uuid(input.application_id, ["applicationId"]), input.note, _now(info)
            ),
        )

    @strawberry.mutation(
        permission_classes=[CaseHandler],
        description="异常终止 from any open status, with 办结结果 2 or 3 and the reason.",
    )
    async def terminate_application(
        self, info: Info, input: inputs.TerminateApplicationInput
    ) -> TerminateApplicationResult:
        return await _handle(
            info,
            lambda: handling.terminate(
                _claims(info),
                _uuid(input.application_id, ["applicationId"]),
                input.result_code,
                input.reason,
                _now(info),
            ),
        )

    @strawberry.mutation(
        permission_classes=[CaseHandler],
        description="缴款通知 (IN_PROGRESS or DECIDED → PENDING_PAYMENT): payments issues the bill; the clock pauses "
        "until it is paid.",
    )
    async def request_application_payment(
        self, info: Info, input: inputs.RequestApplicationPaymentInput
    ) -> RequestApplicationPaymentResult:
        return await _handle(
            info,
            lambda: handling.fee_notice(
                _claims(info),
                _uuid(input.application_id, ["applicationId"]),
                _fen(input.amount_fen),
                input.note,
                _now(info),
            ),
        )
