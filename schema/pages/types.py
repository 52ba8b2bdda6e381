"""Types of the personal page (市民主页) and the enterprise page (法人空间).

Every list states its maximum ("at most N"): the query cost rule reads it (graphql.md §3), which keeps the full
`myHomePage` selection under its budget of 600. Only the sections load data (async, through the page's per-request
loader); every field below them is a plain attribute.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum

import strawberry

from api.models import AgentAuthorization as AgentAuthorizationRow
from api.models import ELicense as LicenseRow
from api.pages import enterprise as enterprise_page
from api.pages import personal, rules
from api.pages.bills import BillDue
from payments.money import fen_to_yuan
from schema.identity.types import Enterprise
from schema.payments.types import BillKind


@strawberry.enum(description="Why the page recommends an item or bundle.")
class RecommendationReason(Enum):
    LICENSE_EXPIRY = "LICENSE_EXPIRY"
    LIFE_EVENT = "LIFE_EVENT"
    RECENTLY_VIEWED = "RECENTLY_VIEWED"
    POPULAR_IN_REGION = "POPULAR_IN_REGION"


@strawberry.enum(description="Life events the page recognises from the subject profile.")
class LifeEvent(Enum):
    NEWBORN = "NEWBORN"
    RETIREMENT = "RETIREMENT"


@strawberry.enum(description="One eligibility rule of a 惠企政策: industry (GB/T 4754 prefix), size, region (prefix).")
class PolicyEligibilityRule(Enum):
    INDUSTRY = "INDUSTRY"
    SIZE = "SIZE"
    REGION = "REGION"


@strawberry.type(description="A licence on a page, with its expiry.")
class HomeLicense:
    id: strawberry.ID
    name: str
    type_code: str = strawberry.field(description="证照类型代码.")
    type_name: str
    cert_number: str
    issuer_name: str
    valid_to: date | None = strawberry.field(description="有效期截止; null when open-ended.")
    days_left: int | None = strawberry.field(description="Days from today (Asia/Shanghai) to validTo.")

    @classmethod
    def of(cls, row: LicenseRow | personal.LicenceRow, valid_to: date | None, days_left: int | None) -> HomeLicense:
        return cls(
            id=strawberry.ID(str(row.id)),
            name=row.name,
            type_code=row.type_code,
            type_name=row.type_name,
            cert_number=row.cert_number,
            issuer_name=row.issuer_name,
            valid_to=valid_to,
            days_left=days_left,
        )


@strawberry.type(description="A service item as a page lists it.")
class HomeServiceItem:
    id: strawberry.ID
    service_code: str = strawberry.field(description="实施编码.")
    name: str
    version: int
    region_code: str
    online_depth_level: int
    mobile_url: str

    @classmethod
    def from_row(cls, row: rules.ItemSummary) -> HomeServiceItem:
        return cls(
            id=strawberry.ID(str(row.id)),
            service_code=row.task_code,
            name=row.name,
            version=row.version,
            region_code=row.region_code,
            online_depth_level=row.online_depth_level,
            mobile_url=row.mobile_url,
        )


@strawberry.type(description="一件事 as a page recommends it.")
class HomeBundle:
    id: strawberry.ID
    code: str
    name: str

    @classmethod
    def from_row(cls, row: rules.BundleSummary) -> HomeBundle:
        return cls(id=strawberry.ID(str(row.id)), code=row.code, name=row.name)


@strawberry.type(description="A 'you may need' entry: exactly one of item and bundle is set.")
class HomeRecommendation:
    reason: RecommendationReason
    text: str = strawberry.field(description="Why, in words for the resident.")
    item: HomeServiceItem | None
    bundle: HomeBundle | None = strawberry.field(description="Set for LIFE_EVENT.")
    life_event: LifeEvent | None = strawberry.field(description="Set for LIFE_EVENT.")
    license_id: strawberry.ID | None = strawberry.field(description="The expiring licence, for LICENSE_EXPIRY.")

    @classmethod
    def of(cls, found: personal.Recommendation) -> HomeRecommendation:
        return cls(
            reason=RecommendationReason(found.reason.value),
            text=found.text,
            item=HomeServiceItem.from_row(found.item) if found.item is not None else None,
            bundle=HomeBundle.from_row(found.bundle) if found.bundle is not None else None,
            life_event=LifeEvent(found.life_event.value) if found.life_event is not None else None,
            license_id=strawberry.ID(str(found.license_id)) if found.license_id else None,
        )


@strawberry.type(description="An application in progress and what the applicant does next.")
class HomeApplication:
    id: strawberry.ID
    project_no: str = strawberry.field(description="办件编号.")
    service_name: str
    status: str
    next_action: str = strawberry.field(
        description="What the applicant does next: RESUBMIT, SUPPLEMENT, PAY, RECEIVE, PICK_UP, RATE or WAIT."
    )
    next_action_text: str
    updated_at: datetime


@strawberry.type(description="An unpaid bill.")
class HomeBill:
    id: strawberry.ID
    title: str
    amount_fen: str = strawberry.field(description="Integer fen as decimal digits.")
    amount_yuan: str = strawberry.field(description="The amount in yuan, e.g. 50.00.")
    due_at: datetime | None
    application_id: strawberry.ID | None
    bill_no: str = strawberry.field(description="缴款单号")
    kind: BillKind
    issuer: str = strawberry.field(description="The issuing organisation, also the payee")

    @classmethod
    def of(cls, bill: BillDue) -> HomeBill:
        return cls(
            id=strawberry.ID(str(bill.id)),
            title=bill.title,
            amount_fen=str(bill.amount_fen),
            amount_yuan=fen_to_yuan(bill.amount_fen),
            due_at=bill.due_at,
            application_id=strawberry.ID(str(bill.application_id)) if bill.application_id else None,
            bill_no=bill.bill_no,
            kind=BillKind(bill.kind.value),
            issuer=bill.issuer,
        )


@strawberry.type(description="An entry of the page's app grid.")
class HomeShortcut:
    key: str
    title: str
    icon: str
    route: str


@strawberry.type(description="市民主页: the signed-in resident's page, one query.")
class MyHomePage:
    page: strawberry.Private[personal.PersonalPage]

    @strawberry.field(
        description="Your applications in progress, those whose result is on its way and those you can still "
        "rate, latest first, each with its next action (RESUBMIT, SUPPLEMENT, PAY, RECEIVE, PICK_UP, RATE, WAIT); "
        "at most 10."
    )
    async def applications_in_progress(self) -> list[HomeApplication]:
        rows = await self.page.applications_in_progress()
        return [
            HomeApplication(
                id=strawberry.ID(str(a.id)),
                project_no=a.project_no,
                service_name=a.service_name,
                status=a.status,
                next_action=a.next_action,
                next_action_text=a.next_action_text,
                updated_at=a.updated_at,
            )
            for a in rows[: personal.MAX_APPLICATIONS]
        ]

    @strawberry.field(
        description="Your own unpaid bills (fees of your applications, fines, utilities, social insurance), soonest "
        "due first (those without a due date last), at most 10; pay them with createPayment."
    )
    async def bills_due(self) -> list[HomeBill]:
        rows = await self.page.bills_due()
        return [HomeBill.of(b) for b in rows[: personal.MAX_BILLS]]

    @strawberry.field(description="Your VALID licences expiring within 90 days, soonest first, at most 20.")
    async def expiring_licenses(self) -> list[HomeLicense]:
        rows = await self.page.expiring_licenses()
        return [HomeLicense.of(e.row, e.valid_to, e.days_left) for e in rows]

    @strawberry.field(
        description="Unread messages in your inbox. Always 0 until the inbox lands (issue 7; seam: "
        "api.pages.personal.PersonalPage.unread_message_count)."
    )
    async def unread_message_count(self) -> int:
        return await self.page.unread_message_count()

    @strawberry.field(
        description="You may need, at most 10: renewal items of expiring licences, life-event bundles, recently "
        "viewed items, then items popular in your region."
    )
    async def recommendations(self) -> list[HomeRecommendation]:
        return [HomeRecommendation.of(found) for found in await self.page.recommendations()]

    @strawberry.field(description="The app grid, at most 12.")
    def shortcuts(self) -> list[HomeShortcut]:
        return [HomeShortcut(key=s.key, title=s.title, icon=s.icon, route=s.route) for s in self.page.shortcuts()]


@strawberry.type(description="An enterprise's live 经办人.")
class EnterpriseAgent:
    authorization_id: strawberry.ID
    agent_person_id: strawberry.ID
    agent_name: str
    all_services: bool
    service_count: int = strawberry.field(description="How many services the grant lists (0 with allServices).")
    valid_to: datetime

    @classmethod
    def from_row(cls, row: AgentAuthorizationRow) -> EnterpriseAgent:
        return cls(
            authorization_id=strawberry.ID(str(row.id)),
            agent_person_id=strawberry.ID(str(row.agent_person.id)),
            agent_name=row.agent_person.name,
            all_services=row.scope_all,
            service_count=len(row.scope_service_codes),
            valid_to=row.valid_to,
        )


@strawberry.type(description="One eligibility rule of a matched policy and how the enterprise meets it.")
class PolicyRuleMatch:
    rule: PolicyEligibilityRule
    any_value: bool = strawberry.field(description="The policy does not restrict this rule.")
    matched_by: str | None = strawberry.field(description="The required value or prefix that matched.")
    value: str = strawberry.field(description="The enterprise's own value.")


@strawberry.type(description="PolicyMatch: a 惠企政策 whose eligibility rules all hold on the enterprise.")
class PolicyMatch:
    policy_id: strawberry.ID
    code: str
    title: str
    summary: str
    valid_to: datetime
    service_code: str | None = strawberry.field(description="实施编码 of the item that applies for it.")
    rules: list[PolicyRuleMatch] = strawberry.field(description="The rules matched, at most 3.")

    @classmethod
    def of(cls, found: enterprise_page.PolicyMatch) -> PolicyMatch:
        policy = found.policy
        return cls(
            policy_id=strawberry.ID(str(policy.id)),
            code=policy.code,
            title=policy.title,
            summary=policy.summary,
            valid_to=policy.valid_to,
            service_code=policy.task_code,
            rules=[
                PolicyRuleMatch(
                    rule=PolicyEligibilityRule(r.rule.value),
                    any_value=not r.required,
                    matched_by=r.matched_by,
                    value=r.value,
                )
                for r in found.rules
            ],
        )


@strawberry.type(description="An open application of the enterprise.")
class EnterpriseApplication:
    id: strawberry.ID
    project_no: str
    service_name: str
    status: str
    next_action: str
    updated_at: datetime


@strawberry.type(description="An unpaid bill of the enterprise.")
class EnterprisePayment:
    id: strawberry.ID
    title: str
    amount_fen: str = strawberry.field(description="Integer fen as decimal digits.")
    amount_yuan: str
    due_at: datetime | None
    bill_no: str = strawberry.field(description="缴款单号")
    kind: BillKind
    issuer: str = strawberry.field(description="The issuing organisation, also the payee")
    application_id: strawberry.ID | None

    @classmethod
    def of(cls, bill: BillDue) -> EnterprisePayment:
        return cls(
            id=strawberry.ID(str(bill.id)),
            title=bill.title,
            amount_fen=str(bill.amount_fen),
            amount_yuan=fen_to_yuan(bill.amount_fen),
            due_at=bill.due_at,
            bill_no=bill.bill_no,
            kind=BillKind(bill.kind.value),
            issuer=bill.issuer,
            application_id=strawberry.ID(str(bill.application_id)) if bill.application_id else None,
        )


@strawberry.type(description="法人空间: an enterprise's page for its legal representative or a live 经办人.")
class EnterpriseHomePage:
    page: strawberry.Private[enterprise_page.EnterprisePage]

    @strawberry.field
    def enterprise(self) -> Enterprise:
        return Enterprise.from_row(self.page.enterprise)

    @strawberry.field(description="How you act for it: LEGAL_REPRESENTATIVE or AGENT.")
    def role(self) -> str:
        return self.page.role

    @strawberry.field(description="Its VALID licences, soonest expiry first, at most 30.")
    async def licenses(self) -> list[HomeLicense]:
        rows = await self.page.licenses()
        return [HomeLicense.of(e.row, e.valid_to, e.days_left) for e in rows[: enterprise_page.MAX_LICENSES]]

    @strawberry.field(
        description="Its applications in progress, those whose result is on its way and those it can still "
        "rate, latest first, with the next action; at most 10."
    )
    async def applications(self) -> list[EnterpriseApplication]:
        rows = await self.page.applications()
        return [
            EnterpriseApplication(
                id=strawberry.ID(str(a.id)),
                project_no=a.project_no,
                service_name=a.service_name,
                status=a.status,
                next_action=a.next_action,
                updated_at=a.updated_at,
            )
            for a in rows[: enterprise_page.MAX_APPLICATIONS]
        ]

    @strawberry.field(description="Its live 经办人 authorizations, at most 20.")
    async def agents(self) -> list[EnterpriseAgent]:
        return [EnterpriseAgent.from_row(row) for row in await self.page.agents()]

    @strawberry.field(
        description="惠企政策 it is eligible for now (ACTIVE, within their validity), soonest ending first, at most 10."
    )
    async def policy_matches(self) -> list[PolicyMatch]:
        return [PolicyMatch.of(found) for found in await self.page.policy_matches()]

    @strawberry.field(
        description="Its unpaid bills, soonest due first (those without a due date last), at most 10; the "
        "legal representative or a 经办人 acting for it pays them with createPayment."
    )
    async def pending_payments(self) -> list[EnterprisePayment]:
        rows = await self.page.pending_payments()
        return [EnterprisePayment.of(p) for p in rows[: enterprise_page.MAX_PAYMENTS]]
