"""Seeded bills (缴, payments.md §8): plainly synthetic standalone bills and the fees of the seeded 待缴费 cases.

Standalone bills (交通违法罚款, 水费 / 电费, 城乡居民社保) belong to several residents and two enterprises; every
issuer and subject says 演示, every number starts with its kind's prefix and the demo region 99 (FK fines, SF water,
DF electricity, SB social insurance, JF application fees). One bill belongs to an L0 resident, who must verify before
paying it (ASSURANCE_TOO_LOW).

The fees of the seeded cases waiting for payment (`payment-1`, `payment-2`) are created exactly as payments' relay
creates them from the cases' `application.fee_required` outbox rows: through `create_bill` with the event's
`source_key`, so that the relay, meeting those rows later, finds these bills and creates nothing twice. Paying one in
the sandbox cashier moves its case on (`payments.bill_paid` → `record_payment`).

Every bill goes through `payments.service.create_bill` (with its `payments.bill_created` outbox row), inside the
seed's transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from tortoise.backends.base.client import BaseDBAsyncClient

from api.kit.clock import SHANGHAI
from api.models import Application, ApplicationStatus, Bill, BillKind, Organization, OutboxEvent, ServiceItem
from api.seed.context import SeedContext, SeedPart, seed_id
from api.settings import active
from payments import tasks_relay
from payments.service import create_bill


@dataclass(frozen=True)
class SeedBill:
    bill_no: str
    kind: BillKind
    holder: str  # "person:<n>" or "enterprise:<key>"
    issuer: str
    subject: str
    lines: tuple[tuple[str, int], ...]  # (name, fen)
    due_in_days: int | None
    issuer_department: str | None = None  # reference.DEPARTMENTS key: the issuer's USCC comes from that org

    @property
    def amount_fen(self) -> int:
        return sum(fen for _, fen in self.lines)


_TRAFFIC_POLICE = "云溪市公安局交通警察支队（演示）"
_WATER = "云溪演示水务有限公司"
_POWER = "演示省电网云溪供电公司"
_PENSION = "云溪市人力资源和社会保障局"
_MEDICAL = "云溪市医疗保障局（演示）"

BILLS: tuple[SeedBill, ...] = (
    SeedBill(
        "FK990000000001",
        BillKind.FINE,
        "person:1",
        _TRAFFIC_POLICE,
        "交通违法罚款（演示）：机动车违反禁令标志指示",
        (("罚款", 200_00),),
        15,
        "ga",
    ),
    SeedBill(
        "FK990000000002",
        BillKind.FINE,
        "person:8",
        _TRAFFIC_POLICE,
        "交通违法罚款（演示）：机动车违反规定停放",
        (("罚款", 150_00),),
        10,
        "ga",
    ),
    SeedBill(
        "SF990000000001",
        BillKind.UTILITY,
        "person:1",
        _WATER,
        "水费（演示）：居民生活用水 12 吨",
        (("水费 12 吨 × 3.20 元", 38_40), ("污水处理费 12 吨 × 0.95 元", 11_40)),
        12,
    ),
    SeedBill(
        "DF990000000001",
        BillKind.UTILITY,
        "person:2",
        _POWER,
        "电费（演示）：居民生活用电 236 千瓦时",
        (("电费 236 千瓦时", 126_85),),
        2,
    ),
    SeedBill(
        "SF990000000002",
        BillKind.UTILITY,
        "person:12",
        _WATER,
        "水费（演示）：居民生活用水 8 吨",
        (("水费 8 吨 × 3.20 元", 25_60), ("污水处理费 8 吨 × 0.95 元", 7_60)),
        20,
    ),
    SeedBill(
        "SB990000000001",
        BillKind.SOCIAL_INSURANCE,
        "person:5",
        _PENSION,
        "城乡居民基本养老保险（演示）：年度个人缴费（500 元档）",
        (("个人缴费", 500_00),),
        30,
        "rsj",
    ),
    SeedBill(
        "SB990000000002",
        BillKind.SOCIAL_INSURANCE,
        "person:12",
        _MEDICAL,
        "城乡居民基本医疗保险（演示）：年度个人缴费",
        (("个人缴费", 380_00),),
        None,
    ),
    SeedBill(
        "DF990000000002",
        BillKind.UTILITY,
        "person:15",
        _POWER,
        "电费（演示）：居民生活用电 98 千瓦时",
        (("电费 98 千瓦时", 52_68),),
        8,
    ),
    SeedBill(
        "SF990000000003",
        BillKind.UTILITY,
        "enterprise:canyin",
        _WATER,
        "水费（演示）：非居民用水 36 吨",
        (("水费 36 吨 × 4.60 元", 165_60), ("污水处理费 36 吨 × 1.40 元", 50_40)),
        9,
    ),
    SeedBill(
        "DF990000000003",
        BillKind.UTILITY,
        "enterprise:canyin",
        _POWER,
        "电费（演示）：一般工商业用电 1820 千瓦时",
        (("电费 1820 千瓦时", 1183_00),),
        14,
    ),
    SeedBill(
        "SB990000000003",
        BillKind.SOCIAL_INSURANCE,
        "enterprise:keji",
        _PENSION,
        "社会保险费（演示）：单位缴费部分",
        (("基本养老保险（单位）", 38_400_00), ("失业保险（单位）", 1_200_00), ("工伤保险（单位）", 480_00)),
        25,
        "rsj",
    ),
)

# The seeded cases waiting for payment and the number of the bill their fee notice creates.
FEE_CASES: tuple[tuple[str, str], ...] = (("payment-1", "JF990000000001"), ("payment-2", "JF990000000002"))


def due_at(ctx: SeedContext, days: int | None) -> datetime | None:
    """The end of the Beijing day `days` after the seed day: a bill is payable through its whole due date."""
    if days is None:
        return None
    return datetime.combine(ctx.today + timedelta(days=days), time(23, 59, 59), SHANGHAI).astimezone(UTC)


def _holder(spec: SeedBill) -> tuple[uuid.UUID | None, uuid.UUID | None]:
    kind, _, key = spec.holder.partition(":")
    if kind == "person":
        return seed_id("person", int(key)), None
    return None, seed_id("enterprise", key)


async def is_loaded(db: BaseDBAsyncClient) -> bool:
    return await Bill.filter(bill_no=BILLS[0].bill_no).using_db(db).exists()


async def load(ctx: SeedContext) -> None:
    orgs = {o.id: o for o in await Organization.all().using_db(ctx.db)}
    for spec in BILLS:
        person_id, enterprise_id = _holder(spec)
        org = orgs.get(seed_id("organization", spec.issuer_department)) if spec.issuer_department else None
        await create_bill(
            kind=spec.kind,
            person_id=person_id,
            enterprise_id=enterprise_id,
            issuer=spec.issuer,
            issuer_code=org.uscc if org else "",
            subject=spec.subject,
            amount_fen=spec.amount_fen,
            lines=[{"name": name, "amountFen": fen} for name, fen in spec.lines],
            due_at=due_at(ctx, spec.due_in_days),
            now=ctx.now,
            bill_no=spec.bill_no,
            db=ctx.db,
        )
    for label, bill_no in FEE_CASES:
        await _fee_bill(ctx, seed_id("application", label), bill_no, orgs)


async def _fee_bill(
    ctx: SeedContext, application_id: uuid.UUID, bill_no: str, orgs: dict[uuid.UUID, Organization]
) -> None:
    """The bill payments' relay makes of the case's latest fee notice (`tasks_relay.bill_for_fee`), with the same
    holder, payee, subject, lines, due date and source key, written in the seed's transaction: the relay reads
    outside it and so cannot run here."""
    app = await Application.get_or_none(id=application_id, using_db=ctx.db)
    if app is None or app.status is not ApplicationStatus.PENDING_PAYMENT:
        return  # a database whose demo case moved on (paid in an earlier session): nothing is owed
    event = (
        await OutboxEvent.filter(topic=tasks_relay.FEE_REQUIRED, key=str(app.id))
        .using_db(ctx.db)
        .order_by("-state_version")
        .first()
    )
    amount = event.payload.get("amountFen") if event is not None else None
    if event is None or type(amount) is not int:
        return
    fee_items = event.payload.get("feeItems")
    org = orgs[app.accepting_org_id]
    item = await ServiceItem.get(id=app.service_item_id, using_db=ctx.db)
    await create_bill(
        kind=BillKind.APPLICATION_FEE,
        person_id=None if app.applicant_enterprise_id else app.applicant_person_id,
        enterprise_id=app.applicant_enterprise_id,
        issuer=org.name,
        issuer_code=org.uscc,
        subject=f"{app.item_name} 办件编号{app.project_no}",
        amount_fen=amount,
        lines=[line for line in fee_items if isinstance(line, dict)] if isinstance(fee_items, list) else [],
        due_at=tasks_relay.fee_due_at(event.created_at),
        now=ctx.now,
        application_id=app.id,
        source_key=tasks_relay.source_key(event),
        min_assurance=max(active().payments.min_assurance_level, item.min_assurance_level),
        bill_no=bill_no,
        db=ctx.db,
    )


PARTS: tuple[SeedPart, ...] = (SeedPart("bills", is_loaded, load),)
