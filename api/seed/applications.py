"""Seeded 办件, ratings and alerts (domain.md §13): every status, result code, sub-state and 差评 loop state.

The cases are scripts run through the live journal (`api.seed.cases`), dated relative to the seed moment so that
deadlines and rating windows stay meaningful; the ratings, rectifications and alerts are written beside them in
the states the loop and the deadline scan would have left.
"""

from __future__ import annotations

import uuid
import zlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from api.applications import journal, results
from api.kit.clock import shanghai_date
from api.kit.workdays import WorkCalendar
from api.models import (
    ActorType,
    Application,
    ApplicationChannel,
    Bundle,
    BundleApplication,
    DeliveryMethod,
    DeliveryStatus,
    ELicense,
    EvaluationStatus,
    EventType,
    ItemStatus,
    Organization,
    ServiceItem,
    SpecialProcedure,
    SupplementRequest,
    TimerState,
)
from api.seed import case_feedback
from api.seed.cases import Applicant, Case, Numbers, Step, accept_changes, enterprise, resident
from api.seed.catalog_items import ITEMS
from api.seed.context import SeedContext, SeedPart, seed_id
from api.seed.reference import DEPARTMENTS
from api.seed.residents import BY_NUMBER
from api.workdays.store import calendar_for, sync_shipped

E = EventType
C = ApplicationChannel


@dataclass
class Scripts:
    """Step builders for one seed run: the moment, the calendar, the items by name and the departments by id."""

    ctx: SeedContext
    calendar: WorkCalendar
    items: dict[str, ServiceItem]
    orgs: dict[uuid.UUID, Organization]

    def accept(self, item: str, days_ago: float, label: str) -> list[Step]:
        at = self.ctx.now - timedelta(days=days_ago)
        doc = f"受理字〔{at.year}〕{zlib.crc32(label.encode()) % 100000:05d}号"
        changes = accept_changes(self.items[item], at, self.calendar, doc)
        return [
            Step(E.PRECHECK_PASS, days_ago + 0.2, "预审通过", action_result="PASS"),
            Step(E.ACCEPT, days_ago, "材料齐全，予以受理", "受理", changes, "PASS"),
        ]

    def steps(self, days_ago: float) -> list[Step]:
        names = ("承办", "审核", "批准")
        return [
            Step(E.STEP, days_ago - 0.3 * i, "同意", name, {"current_step": names[i + 1] if i < 2 else None}, "PASS")
            for i, name in enumerate(names)
        ]

    def decide(self, days_ago: float, *, approve: bool = True) -> Step:
        opinion = "符合条件，准予许可" if approve else "不符合法定条件，不予许可"
        return Step(E.DECIDE, days_ago, opinion, "决定", {"decision": "APPROVED" if approve else "REJECTED"})

    def fee(self, item: str, days_ago: float) -> Step:
        """缴款通知 as `handling.fee_notice` records it: the item's fixed fees on the event and in its
        `application.fee_required` outbox row, from which payments' relay creates the bill."""
        spec = next(spec for spec in ITEMS if spec.name == item)
        fees = [(f.name, f.amount_fen) for f in spec.fees if f.amount_fen]
        lines: list[dict[str, Any]] = [{"name": name, "amountFen": fen} for name, fen in fees]
        amount = sum(fen for _, fen in fees)
        note = "请缴纳工本费"
        return Step(
            E.FEE_NOTICE,
            days_ago,
            note,
            "缴费",
            _pause(days_ago, self.ctx),
            detail={"amountFen": amount, "feeItems": lines},
            payload={"amountFen": amount, "feeItems": lines, "note": note},
        )

    def complete(self, days_ago: float, code: int, reason: str = "", rated: EvaluationStatus | None = None) -> Step:
        at = self.ctx.now - timedelta(days=days_ago)
        changes: dict[str, Any] = {"result_code": code, "result_reason": reason, "result_time": at}
        if code in (0, 1, 4, 5):
            changes |= {
                "evaluation_status": rated or EvaluationStatus.PENDING,
                "rating_due_at": at + timedelta(days=30),
            }
        return Step(E.COMPLETE, days_ago, reason or "办结", "办结", changes)


def _pause(days_ago: float, ctx: SeedContext) -> dict[str, Any]:
    return {"paused_since": ctx.now - timedelta(days=days_ago), "timer_state": TimerState.PAUSED}


def build_cases(s: Scripts) -> list[Case]:  # noqa: PLR0915 - one readable list of every seeded case
    ctx = s.ctx
    cases: list[tuple[str, str, Applicant, ApplicationChannel, float, list[Step], dict[str, Any]]] = []

    def add(
        label: str,
        item: str,
        who: Applicant,
        channel: ApplicationChannel,
        ago: float,
        steps: list[Step],
        final: dict[str, Any] | None = None,
    ) -> None:
        cases.append((label, item, who, channel, ago, steps, final or {}))

    # 已提交 / 预审退回 / 待受理
    add("submitted-1", "失业保险金申领", resident(10), C.APP, 0.3, [])
    add("submitted-2", "出生登记", resident(12), C.WECHAT_MP, 0.1, [])
    returned = "请补充：1. 身份证正反面清晰扫描件（现上传件模糊）；2. 申请表第 3 栏未签名"
    add(
        "returned-1",
        "最低生活保障",
        resident(14),
        C.APP,
        3,
        [Step(E.PRECHECK_RETURN, 2.5, returned, "预审", {}, "RETURN")],
    )
    add(
        "returned-2",
        "户口迁移",
        resident(6),
        C.ALIPAY_MP,
        2,
        [Step(E.PRECHECK_RETURN, 1, returned, "预审", {}, "RETURN")],
    )
    add("pending-1", "社保卡申领", resident(9), C.APP, 2, [Step(E.PRECHECK_PASS, 1.8, "预审通过", "预审", {}, "PASS")])
    add(
        "pending-2",
        "公共场所卫生许可",
        enterprise("canyin", by_agent=True),
        C.H5,
        1.5,
        [Step(E.PRECHECK_PASS, 1.2, "预审通过", "预审", {}, "PASS"), Step(E.RECEIVE, 1, "已接件", "接件")],
    )
    # 待补正: once before acceptance (no clock yet), once after (clock paused)
    notice = Step(E.SUPPLEMENT_NOTICE, 4, "一次性告知：请补正所列材料", "补正告知", {"supplement_rounds": 1})
    add("supplement-before", "残疾人两项补贴", resident(15), C.APP, 5, [Step(E.PRECHECK_PASS, 4.5), notice])
    add(
        "supplement-after",
        "生育津贴",
        resident(2),
        C.APP,
        12,
        [
            *s.accept("生育津贴", 11, "supplement-after"),
            Step(E.SUPPLEMENT_NOTICE, 3, notice.opinion, "补正告知", {"supplement_rounds": 1, **_pause(3, ctx)}),
        ],
    )
    # 不予受理 (result 6)
    for label, who, item in (
        ("not-accepted-1", resident(13), "高龄津贴"),
        ("not-accepted-2", resident(20), "户口迁移"),
    ):
        refusal = "不予受理通知书（演示）：申请事项不属于本机关职权范围"
        changes = {
            "result_code": 6,
            "result_reason": refusal,
            "result_time": ctx.now - timedelta(days=4),
        }
        add(
            label,
            item,
            who,
            C.APP,
            6,
            [Step(E.PRECHECK_PASS, 5), Step(E.NOT_ACCEPT, 4, refusal, "受理", changes, "RETURN")],
        )
    # 办理中, one per timer state
    add("in-progress-normal", "社保卡申领", resident(1), C.APP, 1.5, s.accept("社保卡申领", 1, "ipn"))
    near = s.calendar.add_working_days(ctx.today, 1)
    add(
        "in-progress-near-due",
        "失业保险金申领",
        resident(5),
        C.APP,
        6,
        s.accept("失业保险金申领", 5, "ipd"),
        {"promise_date": near, "timer_state": TimerState.NEAR_DUE},
    )
    yellow = {"step_due_date": ctx.today - timedelta(days=2), "timer_state": TimerState.YELLOW}
    add(
        "in-progress-yellow",
        "道路货物运输经营许可",
        enterprise("wuliu"),
        C.APP,
        5,
        s.accept("道路货物运输经营许可", 4, "ipy"),
        yellow,
    )
    red = {"promise_date": ctx.today - timedelta(days=3), "timer_state": TimerState.RED}
    add("in-progress-red", "最低生活保障", resident(7), C.PC, 30, s.accept("最低生活保障", 29, "ipr"), red)
    add("agent-for-parent", "高龄津贴", resident(4, for_n=3), C.WECHAT_MP, 3, s.accept("高龄津贴", 2, "agent"))
    # 特别程序, 待缴费, 已决定
    special = Step(E.SPECIAL_START, 2, "需现场勘查", "特别程序", _pause(2, ctx))
    add(
        "special-1",
        "医疗机构执业登记",
        enterprise("yiyao"),
        C.APP,
        9,
        [*s.accept("医疗机构执业登记", 8, "sp1"), special],
    )
    add("special-2", "食品经营许可", enterprise("shipin"), C.APP, 7, [*s.accept("食品经营许可", 6, "sp2"), special])
    add(
        "payment-1",
        "普通护照签发",
        resident(8),
        C.APP,
        4,
        [*s.accept("普通护照签发", 3, "pay1"), s.fee("普通护照签发", 1)],
    )
    add(
        "payment-2",
        "机动车驾驶证补领",
        resident(9),
        C.ALIPAY_MP,
        6,
        [*s.accept("机动车驾驶证补领", 5, "pay2"), *s.steps(3), s.decide(2), s.fee("机动车驾驶证补领", 1)],
    )
    add(
        "decided-1",
        "职工退休审批",
        resident(7),
        C.APP,
        8,
        [*s.accept("职工退休审批", 7, "dec1"), *s.steps(4), s.decide(1)],
    )
    add(
        "decided-2",
        "食品经营许可延续",
        enterprise("canyin"),
        C.APP,
        5,
        [*s.accept("食品经营许可延续", 4, "dec2"), *s.steps(3), s.decide(1)],
    )

    # 已办结: every result code that COMPLETED carries, every delivery state, rating states
    def done(
        label: str, item: str, who: Applicant, ago: float, tail: list[Step], final: dict[str, Any] | None = None
    ) -> None:
        add(label, item, who, C.APP, ago, [*s.accept(item, ago - 0.5, label), *s.steps(ago - 1), *tail], final)

    done(
        "completed-e-delivered",
        "出生医学证明签发",
        resident(12),
        12,
        [
            s.decide(9),
            Step(E.ISSUE_LICENCE, 8.9, "已生成电子证照", "出证"),
            s.complete(8.9, 0, rated=EvaluationStatus.RATED),
            Step(
                E.DELIVERY_ELECTRONIC,
                8.9,
                "已电子送达至证照夹",
                "送达",
                {"delivery_method": DeliveryMethod.ELECTRONIC, "delivery_status": DeliveryStatus.E_DELIVERED},
            ),
        ],
    )
    done(
        "completed-pickup",
        "居民身份证补领",
        resident(11),
        20,
        [
            s.decide(3),
            s.complete(2, 0),
            Step(
                E.DELIVERY_READY,
                2,
                "证件已制好，可到窗口领取",
                "送达",
                {"delivery_method": DeliveryMethod.PICKUP, "delivery_status": DeliveryStatus.READY_FOR_PICKUP},
            ),
        ],
    )
    done(
        "completed-shipped",
        "道路运输证换证",
        enterprise("wuliu"),
        8,
        [
            s.decide(3),
            s.complete(2, 0),
            Step(
                E.DELIVERY_SHIPPED,
                1.5,
                "EMS 已寄出",
                "送达",
                {"delivery_method": DeliveryMethod.EMS, "delivery_status": DeliveryStatus.SHIPPED},
            ),
        ],
    )
    done(
        "completed-received",
        "居民身份证换领",
        resident(1),
        25,
        [
            s.decide(6),
            s.complete(5, 0, rated=EvaluationStatus.RATED),
            Step(
                E.DELIVERY_SHIPPED,
                5,
                "EMS 已寄出",
                "送达",
                {"delivery_method": DeliveryMethod.EMS, "delivery_status": DeliveryStatus.SHIPPED},
            ),
            Step(E.DELIVERY_RECEIVED, 3, "已签收", "签收", {"delivery_status": DeliveryStatus.RECEIVED}),
        ],
    )
    done(
        "completed-rejected",
        "一次性创业补贴",
        resident(10),
        18,
        [s.decide(4, approve=False), s.complete(4, 1, "不符合一次性创业补贴申领条件（演示）")],
    )
    done(
        "completed-forwarded",
        "药品经营许可（零售）",
        enterprise("yiyao"),
        16,
        [s.complete(10, 4, "转报市级主管部门办理（演示）")],
    )
    add(
        "completed-supplement-timeout",
        "失业保险金申领",
        resident(6),
        C.APP,
        45,
        [
            Step(E.PRECHECK_PASS, 44.5),
            Step(E.SUPPLEMENT_NOTICE, 44, "一次性告知：请补正所列材料", "补正告知", {"supplement_rounds": 1}),
            s.complete(13, 5, "申请人逾期未补正，作退件处理"),
        ],
    )
    done(
        "completed-expired-unrated",
        "基本养老金核定",
        resident(14),
        50,
        [s.decide(42), s.complete(41, 0, rated=EvaluationStatus.EXPIRED_UNRATED)],
    )
    add(
        "completed-instant",
        "医保参保登记",
        resident(13),
        C.WECHAT_MP,
        2,
        [
            Step(
                E.ACCEPT,
                2,
                "即办",
                "受理",
                {
                    "accept_time": ctx.now - timedelta(days=2),
                    "accept_doc_no": "即办（演示）",
                    "promise_date": shanghai_date(ctx.now - timedelta(days=2)),
                },
                "PASS",
            ),
            s.complete(2, 0),
        ],
    )
    # 差评 loop cases: completed, rated bad; their rectifications are written by case_feedback
    for i, (label, item, who) in enumerate(case_feedback.BAD_CASES):
        done(label, item, who, 15 + i, [s.decide(10 + i), s.complete(9 + i, 0, rated=EvaluationStatus.RECTIFYING)])
    # 已撤回 (result 5) and 异常终止 (results 2, 3)
    withdraw = {"result_code": 5, "result_reason": "申请人主动撤回", "result_time": ctx.now - timedelta(days=1)}
    add(
        "withdrawn-1",
        "养老保险关系转移",
        resident(5),
        C.APP,
        3,
        [Step(E.WITHDRAW, 1, "不再需要办理", "撤回", withdraw)],
    )
    add(
        "withdrawn-2",
        "社保卡申领",
        resident(19),
        C.ALIPAY_MP,
        6,
        [*s.accept("社保卡申领", 5, "wd2"), Step(E.WITHDRAW, 1, "信息填写错误，撤回重新申请", "撤回", withdraw)],
    )
    for label, code, reason in (
        ("terminated-1", 2, "作废办结：申请材料经核实系伪造（演示）"),
        ("terminated-2", 3, "删除办结：窗口录入错误（演示）"),
    ):
        changes = {"result_code": code, "result_reason": reason, "result_time": ctx.now - timedelta(days=1)}
        add(label, "出生登记", resident(16), C.APP, 4, [Step(E.TERMINATE, 1, reason, "终止", changes)])

    built = []
    for label, item, who, channel, ago, steps, final in cases:
        row = s.items[item]
        built.append(Case(label, row, s.orgs[row.dept_id], who, channel, ago, steps, final))
    return built


# The case handler of each seeded department acts on its cases.
HANDLER_OF: dict[uuid.UUID, uuid.UUID] = {
    seed_id("organization", d.key): seed_id("operator", f"handler.{d.key}") for d in DEPARTMENTS
}


async def is_loaded(db: BaseDBAsyncClient) -> bool:
    return await Application.filter(id=seed_id("application", "submitted-1")).using_db(db).exists()


async def load(ctx: SeedContext) -> None:
    orgs = {o.id: o for o in await Organization.all().using_db(ctx.db)}
    items = {i.name: i for i in await ServiceItem.filter(status=ItemStatus.PUBLISHED).using_db(ctx.db)}
    await sync_shipped(ctx.db)  # `zsb migrate` loads it; a database migrated by other means gets it here
    calendar = await calendar_for(ctx.today, db=ctx.db)
    scripts = Scripts(ctx, calendar, items, orgs)
    numbers = Numbers()
    apps: dict[str, Application] = {}
    for case in build_cases(scripts):
        handler = journal.Actor(ActorType.STAFF, HANDLER_OF[case.org.id], "演示窗口", case.org.uscc)
        apps[case.label] = await case.run(ctx, numbers, handler)
    await numbers.save(ctx)
    await _issued_licence(ctx, apps["completed-e-delivered"], scripts)
    await _side_rows(ctx, apps)
    await _bundle(ctx, apps)
    await case_feedback.load(ctx, apps)


async def _issued_licence(ctx: SeedContext, app: Application, scripts: Scripts) -> None:
    """The e-licence the seeded 出证 step put in the wallet, issued by the live issuing code."""
    item = scripts.items[app.item_name]
    if not results.yields_licence(item):
        return
    org = scripts.orgs[app.accepting_org_id]
    issued_at = app.result_time or ctx.now
    actor = journal.Actor(ActorType.STAFF, None, "演示窗口", org.uscc)
    licence = await results.issue_licence(app, item, actor, issued_at, ctx.db, results.ResultSpec())
    await Application.filter(id=app.id).using_db(ctx.db).update(result_licence_ids=[str(licence.id)])
    await ELicense.filter(id=licence.id).using_db(ctx.db).update(is_synthetic=True)


async def _side_rows(ctx: SeedContext, apps: dict[str, Application]) -> None:
    """The 补正 rounds and special procedures the scripted events refer to."""
    for label, before in (
        ("supplement-before", True),
        ("supplement-after", False),
        ("completed-supplement-timeout", True),
    ):
        app = apps[label]
        notified = ctx.now - timedelta(days=44 if label.startswith("completed") else (4 if before else 3))
        await SupplementRequest.create(
            using_db=ctx.db,
            id=seed_id("supplement", label),
            application_id=app.id,
            round=1,
            items=[{"requirementId": None, "name": "身份证明", "reason": "扫描件模糊，无法辨认"}],
            before_acceptance=before,
            notified_at=notified,
            due_at=notified + timedelta(days=30),
        )
    for label in ("special-1", "special-2"):
        await SpecialProcedure.create(
            using_db=ctx.db,
            id=seed_id("special", label),
            application_id=apps[label].id,
            kind="2",
            subtype="SITE_INSPECTION",
            reason_basis="需现场勘查经营场所（演示）",
            requested_by="演示窗口",
            started_at=ctx.now - timedelta(days=2),
            planned_days=5,
        )


async def _bundle(ctx: SeedContext, apps: dict[str, Application]) -> None:
    """One 一件事 application whose children are in different statuses (the newborn bundle)."""
    bundle = await Bundle.filter(life_event="NEWBORN").using_db(ctx.db).first()
    if bundle is None:
        return
    parent = await BundleApplication.create(
        using_db=ctx.db,
        id=seed_id("bundle-application", "newborn"),
        bundle_id=bundle.id,
        submitted_by_person_id=seed_id("person", 12),
        applicant_person_id=seed_id("person", 12),
        applicant_name=BY_NUMBER[12].name,
        submitted_at=apps["submitted-2"].apply_time,
        is_synthetic=True,
    )
    for label in ("submitted-2", "completed-e-delivered"):
        await Application.filter(id=apps[label].id).using_db(ctx.db).update(bundle_application_id=parent.id)


PARTS: tuple[SeedPart, ...] = (SeedPart("applications", is_loaded, load),)
