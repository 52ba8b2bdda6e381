"""Inputs of the case handlers' operations (one `input` per mutation, graphql.md §2)."""

from __future__ import annotations

from datetime import date
from enum import Enum

import strawberry

from schema.applications.types import ResultDeliveryMethod


@strawberry.enum(description="The handler's decision (审批决定).")
class HandlingDecision(Enum):
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


@strawberry.enum(description="A workflow step's outcome: 通过 (on to the next step) or 退回 (back one step).")
class HandlingStepOutcome(Enum):
    PASS = "PASS"  # noqa: S105 (an outcome, not a password)
    RETURN = "RETURN"


@strawberry.input(description="One line of a 一次性告知: a material of the item (or another point) and why.")
class NoticeItemInput:
    reason: str = strawberry.field(description="What is missing or wrong; at most 500 characters")
    requirement_id: strawberry.ID | None = strawberry.field(default=None, description="A material of the item")
    name: str = strawberry.field(default="", description="Defaults to the material's name")


@strawberry.input
class PassApplicationPrecheckInput:
    application_id: strawberry.ID
    opinion: str = ""


@strawberry.input(description="预审退回: every point to fix at once (一次性告知), at most 100.")
class ReturnApplicationPrecheckInput:
    application_id: strawberry.ID
    items: list[NoticeItemInput]
    opinion: str = ""


@strawberry.input(description="接件: the window takes the case up.")
class ReceiveApplicationInput:
    application_id: strawberry.ID
    opinion: str = ""


@strawberry.input(description="受理: sets the 受理文书编号, the promised and legal dates and the first step.")
class AcceptApplicationInput:
    application_id: strawberry.ID
    opinion: str = ""


@strawberry.input(description="不予受理: the reason and the 不予受理通知书 number are required.")
class DeclineApplicationInput:
    application_id: strawberry.ID
    reason: str
    notice_no: str = strawberry.field(description="不予受理通知书 number")


@strawberry.input(description="补正告知: every missing item with its reason (一次性告知), at most 100.")
class RequestApplicationSupplementInput:
    application_id: strawberry.ID
    items: list[NoticeItemInput]
    opinion: str = ""


@strawberry.input(description="特别程序 (GB/T 39046 A.7); the promised clock pauses until it ends.")
class StartSpecialProcedureInput:
    application_id: strawberry.ID
    kind: str = strawberry.field(description="1 延长审批, 2 other")
    subtype: str = strawberry.field(description="HEARING, TEST, EXPERT_REVIEW, SITE_INSPECTION or OTHER")
    reason_basis: str = strawberry.field(description="Reason and legal basis")
    planned_days: int
    requested_by: str = ""


@strawberry.input
class EndSpecialProcedureInput:
    application_id: strawberry.ID
    result: str
    opinion: str = ""


@strawberry.input(description="承办 / 审核 / 批准: `step` is the step acted on (a stale page is refused).")
class CompleteApplicationStepInput:
    application_id: strawberry.ID
    step: str
    outcome: HandlingStepOutcome
    opinion: str = strawberry.field(default="", description="Required when returning")


@strawberry.input(description="决定 once every step has passed; a rejection states its reason.")
class DecideApplicationInput:
    application_id: strawberry.ID
    decision: HandlingDecision
    reason: str = ""


@strawberry.input(description="One entry of the 照面信息.")
class LicenseSurfaceEntryInput:
    key: str
    value: str


@strawberry.input(description="The licence issued with an approved result (only for items that yield one).")
class IssuedLicenseInput:
    cert_number: str = strawberry.field(default="", description="证照编号; defaults to the identifier's serial")
    valid_from: date | None = strawberry.field(default=None, description="Defaults to the issue day")
    valid_to: date | None = strawberry.field(default=None, description="Null: open-ended")
    surface: list[LicenseSurfaceEntryInput] | None = strawberry.field(default=None, description="At most 30 entries")


@strawberry.input(description="出证 / 办结 after the decision.")
class IssueApplicationResultInput:
    application_id: strawberry.ID
    summary: str = ""
    license: IssuedLicenseInput | None = None


@strawberry.input(description="EMS details; empty receiver fields default to the application's contact and address.")
class EmsShipmentInput:
    waybill_no: str
    carrier: str = "EMS"
    receiver_name: str = ""
    receiver_mobile: str = ""
    address: str = ""


@strawberry.input
class DeliverApplicationResultInput:
    application_id: strawberry.ID
    method: ResultDeliveryMethod
    ems: EmsShipmentInput | None = None
    note: str = ""


@strawberry.input(description="签收 of the open EMS shipment or pickup.")
class ConfirmApplicationResultReceivedInput:
    application_id: strawberry.ID
    note: str = ""


@strawberry.input(description="An on-site visit by the applicant (到现场次数).")
class RecordApplicationVisitInput:
    application_id: strawberry.ID
    note: str = ""


@strawberry.input(description="异常终止 with 办结结果 2 (作废办结) or 3 (删除办结) and the reason.")
class TerminateApplicationInput:
    application_id: strawberry.ID
    result_code: int
    reason: str


@strawberry.input(description="缴款通知: payments creates the bill; the clock pauses until it is paid.")
class RequestApplicationPaymentInput:
    application_id: strawberry.ID
    amount_fen: str | None = strawberry.field(
        default=None, description="Integer fen as decimal digits; defaults to the item's fixed fees"
    )
    note: str = ""
