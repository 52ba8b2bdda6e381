"""Version 1 of the template of every consumed topic, and two demo campaign templates, written at start-up.

Vendor template ids and SMS template codes here are plainly synthetic (TPL_WX_…, TPL_ALI_…, SMS_NOTICE_…):
operations replace them with the approved ones by saving a new version (notifications.md §5).
"""

from __future__ import annotations

from dataclasses import dataclass

from api.models import NoticeCategory, NotificationTemplate, TemplateChannel
from api.settings import SmsSettings
from notifications.template_checks import TemplateInput, check_template
from notifications.templates import rows_for
from notifications.topics import TOPIC_TEMPLATES

APPLICATION_LINK = "zsb://applications/{applicationId}"
BILL_LINK = "zsb://bills/{billId}"
LICENSE_LINK = "zsb://licenses/{license_id}"
CRITICAL_TOPICS = {
    "application.supplement_requested": "SMS_NOTICE_SUPPLEMENT",
    "payments.bill_due_soon": "SMS_NOTICE_BILL_DUE",
}
QUIET_TOPICS = {"licenses.expiring"}  # low-urgency reminders wait for the end of the user's quiet hours


@dataclass(frozen=True)
class _Text:
    title: str
    body: str
    phrase: str  # the WeChat phrase field: ≤ 5 汉字


_APPLICATION_TEXTS: dict[str, _Text] = {
    "submitted": _Text("申请已提交", "您的「{itemName}」申请已提交，办件编号 {projectNo}，请留意办理进度。", "已提交"),
    "precheck_returned": _Text(
        "申请预审退回", "您的「{itemName}」申请预审未通过，请按一次性告知内容修改后重新提交。", "预审退回"
    ),
    "accepted": _Text(
        "办件已受理", "您的「{itemName}」申请已受理，办件编号 {projectNo}，承诺办结日期 {promiseDate}。", "已受理"
    ),
    "not_accepted": _Text("申请不予受理", "您的「{itemName}」申请不予受理：{reason}。", "不予受理"),
    "supplement_requested": _Text(
        "请补正材料", "您的「{itemName}」申请需补正材料，请于 {dueDate} 前在掌上办提交，逾期视为撤回申请。", "待补正"
    ),
    "special_procedure_started": _Text(
        "办件进入特别程序", "您的「{itemName}」申请进入特别程序，期间不计入办理时限。", "特别程序"
    ),
    "special_procedure_ended": _Text("特别程序已结束", "您的「{itemName}」申请特别程序已结束，恢复办理。", "恢复办理"),
    "fee_required": _Text("请缴纳费用", "您的「{itemName}」申请需缴纳费用 {amount}，请在掌上办完成缴费。", "待缴费"),
    "decided": _Text("办件已作出决定", "您的「{itemName}」申请已作出审批决定，请查看办理结果。", "已决定"),
    "completed": _Text("办件已办结", "您的「{itemName}」申请已办结，办件编号 {projectNo}。", "已办结"),
    "withdrawn": _Text("申请已撤回", "您的「{itemName}」申请已撤回。", "已撤回"),
    "terminated": _Text("办件已终止", "您的「{itemName}」申请已终止办理：{reason}。", "已终止"),
    "delivered": _Text("办理结果已送达", "您的「{itemName}」办理结果已送达，请注意查收。", "已送达"),
}
_BILL_TEXTS: dict[str, _Text] = {
    "bill_created": _Text(
        "新的待缴账单", "您有一笔待缴费用「{subject}」，金额 {amount}，请在掌上办完成缴费。", "待缴费"
    ),
    "bill_due_soon": _Text(
        "缴费即将截止",
        "您的账单「{subject}」（{amount}）将于 {dueDate} 截止缴费，逾期可能影响办理，请尽快缴纳。",
        "即将截止",
    ),
    "bill_paid": _Text("缴费成功", "您已成功缴纳「{subject}」费用 {amount}，电子票据可在账单详情查看。", "已缴费"),
    "bill_refunded": _Text("退款已受理", "您的账单 {billNo} 退款 {amount} 已受理，款项将原路退回。", "已退款"),
}
_LICENSE_TEXTS: dict[str, _Text] = {
    "expiring": _Text(
        "证照即将到期", "您的「{name}」将于 {validTo} 到期（剩余 {days_left} 天），请及时办理延续。", "即将到期"
    ),
    "issued": _Text("电子证照已发放", "您的「{name}」已签发并放入证照夹。", "已发放"),
    "revoked": _Text("证照已注销", "您的「{name}」已被注销，如有疑问请联系发证机关。", "已注销"),
}
# texts, deeplink, Huawei category, what the notice is about, its reference number (WeChat/Alipay fields)
_FAMILIES = {
    "application": (_APPLICATION_TEXTS, APPLICATION_LINK, "WORK", "{itemName}", "{projectNo}"),
    "payments": (_BILL_TEXTS, BILL_LINK, "FINANCE", "{subject}", "{billNo}"),
    "licenses": (_LICENSE_TEXTS, LICENSE_LINK, "WORK", "{name}", ""),
}

CAMPAIGN_TEMPLATES = (
    TemplateInput(
        code="POLICY_ELDERLY_SUBSIDY",
        category=NoticeCategory.CAMPAIGN,
        title="高龄津贴政策提醒",
        body="年满80周岁的本市户籍老年人可申领高龄津贴，符合条件的可在掌上办「高龄津贴申领」一键办理。",
        deeplink="zsb://policies/elderly-subsidy",
        channels=[TemplateChannel.PUSH],
    ),
    TemplateInput(
        code="LICENSE_RENEWAL_CAMPAIGN",
        category=NoticeCategory.CAMPAIGN,
        title="证照延续办理提醒",
        body="您名下有证照将于近期到期，现可在掌上办在线办理延续，全程网办、免跑腿。",
        deeplink="zsb://licenses",
        channels=[TemplateChannel.PUSH],
    ),
)


def _fields(*pairs: tuple[str, str]) -> dict[str, str]:
    return {key: value for key, value in pairs if value}


def _topic_template(topic: str, sign_name: str) -> TemplateInput:
    family, event = topic.split(".", 1)
    texts, link, huawei_category, thing, reference = _FAMILIES[family]
    text = texts[event]
    suffix = event.upper()
    sms_code = CRITICAL_TOPICS.get(topic, "")
    return TemplateInput(
        code=TOPIC_TEMPLATES[topic],
        category=NoticeCategory.CRITICAL if sms_code else NoticeCategory.SERVICE,
        title=text.title,
        body=text.body,
        deeplink=link,
        channels=[TemplateChannel.PUSH, TemplateChannel.WECHAT, TemplateChannel.ALIPAY],
        huawei_category=huawei_category,
        wechat_template_id=f"TPL_WX_{suffix}",
        wechat_fields=_fields(("thing1", thing), ("character_string2", reference), ("phrase3", text.phrase)),
        alipay_template_id=f"TPL_ALI_{suffix}",
        alipay_fields=_fields(("keyword1", thing), ("keyword2", reference), ("keyword3", text.phrase)),
        sms_template_code=sms_code,
        sms_sign_name=sign_name if sms_code else "",
        sms_params={"name": thing, "date": "{dueDate}"} if sms_code else {},
        sms_fallback=bool(sms_code),
        defer_in_quiet_hours=topic in QUIET_TOPICS,
    )


def default_templates(sign_name: str | None = None) -> list[TemplateInput]:
    sign = sign_name or SmsSettings().sign_name
    return [_topic_template(topic, sign) for topic in TOPIC_TEMPLATES] + list(CAMPAIGN_TEMPLATES)


async def ensure_default_templates(*, sms_sign_name: str | None = None) -> int:
    """Writes version 1 of every default template whose code has no version yet; returns how many it wrote.
    Safe to run at every start and from several processes at once (conflicting rows are skipped)."""
    specs = default_templates(sms_sign_name)
    codes = await NotificationTemplate.filter(code__in=[s.code for s in specs]).values_list("code", flat=True)
    existing = {str(code) for code in codes}
    written = 0
    for spec in specs:
        if spec.code in existing:
            continue
        check_template(spec)
        await NotificationTemplate.bulk_create(rows_for(spec, 1, "system"), ignore_conflicts=True)
        written += 1
    return written
