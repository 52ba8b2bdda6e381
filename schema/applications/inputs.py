"""Inputs of the applicant's 办件 mutations and queries."""

from __future__ import annotations

from enum import Enum

import strawberry
from strawberry.scalars import JSON

from schema.applications.types import ApplicationChannel, ApplicationStatus


@strawberry.enum(
    description="Who the application is for: yourself, an enterprise you act for, or a person who authorized you."
)
class ApplicantKind(Enum):
    SELF = "SELF"
    ENTERPRISE = "ENTERPRISE"
    PRINCIPAL = "PRINCIPAL"


@strawberry.enum(
    description="How you provide a material: an uploaded file, a licence of your wallet, a material verified at a "
    "window for an earlier application, or a commitment (告知承诺) where the service allows one."
)
class MaterialWay(Enum):
    UPLOAD = "UPLOAD"
    ELICENSE = "ELICENSE"
    REUSED = "REUSED"
    COMMITMENT = "COMMITMENT"


@strawberry.enum(description="Groups of statuses as applicants see them.")
class ApplicationStatusGroup(Enum):
    OPEN = "OPEN"  # not finished yet
    ACTION_NEEDED = "ACTION_NEEDED"  # 预审退回 or 待补正: the applicant has something to do
    FINISHED = "FINISHED"  # 已办结 (completed, not accepted, withdrawn, terminated)


@strawberry.input
class ApplicationApplicantInput:
    kind: ApplicantKind = ApplicantKind.SELF
    enterprise_id: strawberry.ID | None = strawberry.field(default=None, description="For ENTERPRISE")
    principal_person_id: strawberry.ID | None = strawberry.field(default=None, description="For PRINCIPAL")


@strawberry.input(description="One material. Materials your wallet or data sharing satisfy may be left out.")
class ApplicationMaterialInput:
    requirement_id: strawberry.ID
    via: MaterialWay
    file_id: str | None = strawberry.field(default=None, description="For UPLOAD: the completed upload's file id")
    license_id: strawberry.ID | None = strawberry.field(default=None, description="For ELICENSE: a wallet licence")
    reused_material_id: strawberry.ID | None = strawberry.field(default=None, description="For REUSED")


@strawberry.input(description="The answer to one 情形 question of the service.")
class ApplicationSituationInput:
    situation_id: strawberry.ID
    option_key: str


@strawberry.input(description="Contact data for this application; defaults to your own name and mobile.")
class ApplicationContactInput:
    name: str = ""
    mobile: str = ""
    address: str = ""
    postcode: str = ""


@strawberry.input
class SubmitApplicationInput:
    idempotency_key: str = strawberry.field(description="Same key, same request: the same application comes back")
    service_code: str = strawberry.field(description="实施编码 of the service")
    version: int | None = strawberry.field(default=None, description="Item version; default: the current one")
    handle_item_code: str | None = strawberry.field(default=None, description="业务办理项编码, when the item has them")
    applicant: ApplicationApplicantInput | None = None
    channel: ApplicationChannel = strawberry.field(description="APP, WECHAT_MP, ALIPAY_MP or H5")
    form_data: JSON | None = strawberry.field(
        default=None, description="Validated against the item version's JSON Schema (null: an empty form)"
    )
    materials: list[ApplicationMaterialInput] = strawberry.field(default_factory=list, description="At most 100")
    situations: list[ApplicationSituationInput] = strawberry.field(default_factory=list, description="At most 100")
    contact: ApplicationContactInput | None = None
    query_password: str | None = strawberry.field(
        default=None, description="6–32 characters, for the anonymous progress lookup by 办件编号"
    )


@strawberry.input
class WithdrawApplicationInput:
    id: strawberry.ID
    reason: str = ""


@strawberry.input
class ResubmitApplicationInput:
    id: strawberry.ID
    form_data: JSON | None = strawberry.field(default=None, description="The corrected form; null keeps the form")
    materials: list[ApplicationMaterialInput] | None = strawberry.field(
        default=None, description="The corrected materials (replacing those given before); null keeps them"
    )
    situations: list[ApplicationSituationInput] | None = None


@strawberry.input(description="The answer to one line of a 补正 notice.")
class SupplementMaterialInput:
    item: int = strawberry.field(description="Index of the line in `openSupplement.items`")
    via: MaterialWay
    file_id: str | None = None
    license_id: strawberry.ID | None = None
    reused_material_id: strawberry.ID | None = None


@strawberry.input
class SupplementApplicationInput:
    id: strawberry.ID
    round: int = strawberry.field(description="The open 补正 round answered")
    materials: list[SupplementMaterialInput] = strawberry.field(description="One per line of the round, at most 100")


@strawberry.input
class ApplicationProgressInput:
    project_no: str = strawberry.field(description="办件编号")
    query_password: str


@strawberry.input
class MyApplicationsFilter:
    group: ApplicationStatusGroup | None = None
    statuses: list[ApplicationStatus] | None = strawberry.field(default=None, description="At most 13")
    service_code: str | None = None
