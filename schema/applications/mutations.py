"""Applicant mutations of 办件: submit, withdraw, resubmit after a pre-review return, and answer a 补正 round."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import strawberry

from api.applications import applicant as applicants
from api.applications import materials as rules
from api.applications import reading, requests, submission
from api.applications.transitions import IllegalTransition
from api.identity.tokens import AccessClaims
from api.kit.errors import AppError, NotFound
from api.kit.ids import parse_uuid
from api.models import Application as ApplicationRow
from api.models import ApplicationChannel as ChannelRow
from api.models import ProvidedVia
from schema.access import CitizenOnly
from schema.applications import inputs
from schema.applications.types import Application, IllegalTransitionError, illegal_transition
from schema.context import Info, wake_relays
from schema.errors import ConflictError, Error, ForbiddenError, InvalidInputError, NotFoundError, to_error

T = TypeVar("T")


@strawberry.type(description="One problem of a refused submission: a form field or a material.")
class SubmissionProblem:
    path: str = strawberry.field(
        description="'/'-joined path into the input: formData/applicant/id_number, materials/2/licenseId …"
    )
    field: str = strawberry.field(description="The '/'-separated form field, or the material's name")
    code: str
    message: str


@strawberry.type(description="The form or the materials were refused; every problem is listed. Nothing changed.")
class SubmissionRejectedError(Error):
    problems: list[SubmissionProblem] = strawberry.field(description="At most 50")


@strawberry.type
class ApplicationSubmitted:
    application: Application
    replayed: bool = strawberry.field(description="True when this idempotency key had already submitted it")


@strawberry.type
class ApplicationWithdrawn:
    application: Application


@strawberry.type
class ApplicationResubmitted:
    application: Application


@strawberry.type
class ApplicationSupplemented:
    application: Application


WithdrawApplicationResult = Annotated[
    ApplicationWithdrawn | IllegalTransitionError | InvalidInputError | NotFoundError | ConflictError,
    strawberry.union("WithdrawApplicationResult"),
]
ResubmitApplicationResult = Annotated[
    ApplicationResubmitted
    | SubmissionRejectedError
    | IllegalTransitionError
    | InvalidInputError
    | NotFoundError
    | ConflictError,
    strawberry.union("ResubmitApplicationResult"),
]
SupplementApplicationResult = Annotated[
    ApplicationSupplemented
    | SubmissionRejectedError
    | IllegalTransitionError
    | InvalidInputError
    | NotFoundError
    | ConflictError,
    strawberry.union("SupplementApplicationResult"),
]
SubmitApplicationResult = Annotated[
    ApplicationSubmitted | SubmissionRejectedError | InvalidInputError | NotFoundError | ForbiddenError | ConflictError,
    strawberry.union("SubmitApplicationResult"),
]


def _claims(info: Info) -> AccessClaims:
    claims = info.context.principal.claims
    assert claims is not None  # the field's permission class guarantees it
    return claims


def rejected(exc: submission.SubmissionRejected) -> SubmissionRejectedError:
    return SubmissionRejectedError(
        code=exc.code,
        message=exc.message,
        path=exc.path,
        problems=[
            SubmissionProblem(path="/".join(p.path), field=p.field, code=p.code, message=p.message)
            for p in exc.problems[:50]
        ],
    )


async def guard(call: Callable[[], Awaitable[T]]) -> T | object:
    try:
        return await call()
    except submission.SubmissionRejected as exc:
        return rejected(exc)
    except IllegalTransition as exc:
        return illegal_transition(exc)
    except AppError as exc:
        return to_error(exc)


def material_claims(items: list[inputs.ApplicationMaterialInput]) -> list[rules.MaterialClaim]:
    return [
        rules.MaterialClaim(
            index=i,
            requirement_id=parse_uuid(str(m.requirement_id)),
            via=ProvidedVia(m.via.value),
            file_id=m.file_id or "",
            licence_id=parse_uuid(str(m.license_id)) if m.license_id else None,
            reused_material_id=parse_uuid(str(m.reused_material_id)) if m.reused_material_id else None,
        )
        for i, m in enumerate(items)
    ]


def situation_answers(items: list[inputs.ApplicationSituationInput]) -> list[rules.SituationAnswer]:
    return [
        rules.SituationAnswer(index=i, situation_id=parse_uuid(str(s.situation_id)), option_key=s.option_key)
        for i, s in enumerate(items)
    ]


def _submission(data: inputs.SubmitApplicationInput) -> submission.Submission:
    who = data.applicant or inputs.ApplicationApplicantInput()
    contact = data.contact
    return submission.Submission(
        idempotency_key=data.idempotency_key,
        service_code=data.service_code,
        version=data.version,
        handle_item_code=data.handle_item_code,
        applicant=applicants.ApplicantChoice(
            kind=applicants.ApplicantKind(who.kind.value),
            enterprise_id=parse_uuid(str(who.enterprise_id)) if who.enterprise_id else None,
            principal_person_id=parse_uuid(str(who.principal_person_id)) if who.principal_person_id else None,
        ),
        channel=ChannelRow(data.channel.value),
        form_data={} if data.form_data is None else data.form_data,
        materials=material_claims(data.materials),
        situations=situation_answers(data.situations),
        contact=(
            None
            if contact is None
            else submission.Contact(
                contact.name.strip(), contact.mobile.strip(), contact.address.strip(), contact.postcode.strip()
            )
        ),
        query_password=data.query_password,
    )


@strawberry.type
class ApplicationMutation:
    @strawberry.mutation(
        permission_classes=[CitizenOnly],
        description="Apply for a service: form data against the item's schema, materials by upload, wallet licence, "
        "reuse or commitment (wallet and data-sharing materials may be left out). Retrying with the same "
        "idempotency key returns the same application.",
    )
    async def submit_application(self, info: Info, input: inputs.SubmitApplicationInput) -> SubmitApplicationResult:
        context = info.context

        async def run() -> ApplicationSubmitted:
            done = await submission.submit(
                _claims(info), _submission(input), context.identity.clock.now(), context.identity.pii
            )
            view = done.view or await reading.view_of(done.app, reading.Viewer.APPLICANT)
            return ApplicationSubmitted(application=Application.from_view(view), replayed=done.replayed)

        return await guard(run)  # type: ignore[return-value]

    @strawberry.mutation(
        permission_classes=[CitizenOnly],
        description="撤回: withdraw your application before a decision (ILLEGAL_TRANSITION afterwards).",
    )
    async def withdraw_application(
        self, info: Info, input: inputs.WithdrawApplicationInput
    ) -> WithdrawApplicationResult:
        now = info.context.identity.clock.now()

        async def run() -> ApplicationWithdrawn:
            app = await requests.withdraw(_claims(info), _id(input.id), input.reason, now)
            await wake_relays(info)
            return ApplicationWithdrawn(application=await _view(app))

        return await guard(run)  # type: ignore[return-value]

    @strawberry.mutation(
        permission_classes=[CitizenOnly],
        description="Resubmit after 预审退回 with the corrected form and materials; the 办件编号 stays.",
    )
    async def resubmit_application(
        self, info: Info, input: inputs.ResubmitApplicationInput
    ) -> ResubmitApplicationResult:
        now = info.context.identity.clock.now()

        async def run() -> ApplicationResubmitted:
            fix = requests.Correction(
                form_data=input.form_data,
                materials=None if input.materials is None else material_claims(input.materials),
                situations=situation_answers(input.situations or []),
            )
            app = await requests.resubmit(_claims(info), _id(input.id), fix, now)
            return ApplicationResubmitted(application=await _view(app))

        return await guard(run)  # type: ignore[return-value]

    @strawberry.mutation(
        permission_classes=[CitizenOnly],
        description="补正: answer every line of the open round before its deadline (SUPPLEMENT_EXPIRED after).",
    )
    async def supplement_application(
        self, info: Info, input: inputs.SupplementApplicationInput
    ) -> SupplementApplicationResult:
        now = info.context.identity.clock.now()

        async def run() -> ApplicationSupplemented:
            answers = [
                requests.SupplementAnswer(
                    index=i,
                    item=m.item,
                    claim=rules.MaterialClaim(
                        index=i,
                        requirement_id=None,
                        via=ProvidedVia(m.via.value),
                        file_id=m.file_id or "",
                        licence_id=parse_uuid(str(m.license_id)) if m.license_id else None,
                        reused_material_id=parse_uuid(str(m.reused_material_id)) if m.reused_material_id else None,
                    ),
                )
                for i, m in enumerate(input.materials)
            ]
            app = await requests.supplement(_claims(info), _id(input.id), input.round, answers, now)
            return ApplicationSupplemented(application=await _view(app))

        return await guard(run)  # type: ignore[return-value]


def _id(value: strawberry.ID) -> uuid.UUID:
    parsed = parse_uuid(str(value))
    if parsed is None:
        raise NotFound("no such application of yours", path=["id"], code="APPLICATION_NOT_FOUND")
    return parsed


async def _view(app: ApplicationRow) -> Application:
    return Application.from_view(await reading.view_of(app, reading.Viewer.APPLICANT))
