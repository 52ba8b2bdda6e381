"""Default templates (§C5): one per consumed topic plus the demo campaigns, valid, idempotent, rendering the
producers' payloads into complete texts and deeplinks."""

from __future__ import annotations

import re

from api.models import NoticeCategory, NotificationTemplate, TemplateChannel
from notifications.default_templates import default_templates, ensure_default_templates
from notifications.template_checks import check_template
from notifications.templates import current_template, render
from notifications.topics import TOPIC_TEMPLATES, flatten_params

PUSH, WECHAT, ALIPAY, SMS, INBOX = (
    TemplateChannel.PUSH,
    TemplateChannel.WECHAT,
    TemplateChannel.ALIPAY,
    TemplateChannel.SMS,
    TemplateChannel.INBOX,
)


class TestDefaultTemplates:
    def test_every_consumed_topic_has_a_valid_template_and_two_campaigns_exist(self) -> None:
        specs = default_templates("掌上办")
        for spec in specs:
            check_template(spec)
        codes = {s.code for s in specs}
        assert set(TOPIC_TEMPLATES.values()) <= codes
        assert {s.code for s in specs if s.category is NoticeCategory.CAMPAIGN} == {
            "POLICY_ELDERLY_SUBSIDY",
            "LICENSE_RENEWAL_CAMPAIGN",
        }
        assert len(codes) == len(specs)

    def test_categories_and_flags_follow_the_topic(self) -> None:
        by_code = {s.code: s for s in default_templates("掌上办")}
        critical = {c for c, s in by_code.items() if s.category is NoticeCategory.CRITICAL}
        assert critical == {"APPLICATION_SUPPLEMENT_REQUESTED", "PAYMENTS_BILL_DUE_SOON"}
        assert {c for c, s in by_code.items() if s.sms_fallback} == critical
        assert {c for c, s in by_code.items() if s.defer_in_quiet_hours} == {"LICENSES_EXPIRING"}
        due = by_code["PAYMENTS_BILL_DUE_SOON"]
        assert (due.sms_template_code, due.sms_sign_name, due.channels) == (
            "SMS_NOTICE_BILL_DUE",
            "掌上办",
            [PUSH, WECHAT, ALIPAY],
        )
        assert by_code["APPLICATION_ACCEPTED"].wechat_template_id == "TPL_WX_ACCEPTED"


class TestEnsureDefaultTemplates:
    async def test_is_idempotent_and_leaves_existing_versions_alone(self, live: object) -> None:
        # given: the composition root ran it at start-up
        before = await NotificationTemplate.all().count()
        # when
        written = [await ensure_default_templates(), await ensure_default_templates(sms_sign_name="别的签名")]
        # then
        assert written == [0, 0]
        assert await NotificationTemplate.all().count() == before
        stored = await current_template("PAYMENTS_BILL_DUE_SOON")
        assert stored is not None and stored.version == 1
        assert stored.channels == [PUSH, WECHAT, ALIPAY, SMS, INBOX]
        assert stored.variants[SMS].sms_sign_name == "掌上办"

    async def test_a_stored_default_renders_a_producer_payload_completely(self, live: object) -> None:
        template = await current_template("APPLICATION_ACCEPTED")
        assert template is not None
        payload = {
            "applicationId": "5b0c5a4e-0000-4000-8000-000000000042",
            "projectNo": "11330100MB0000000X300010700100020300601000042",
            "itemName": "食品经营许可",
            "promiseDate": "2030-03-20",
            "status": "IN_PROGRESS",
        }
        rendered = render(template.variants[PUSH], flatten_params(payload))
        assert rendered.deeplink == "zsb://applications/5b0c5a4e-0000-4000-8000-000000000042"
        assert "食品经营许可" in rendered.body and "2030-03-20" in rendered.body
        assert not re.search(r"\{\w+\}", rendered.title + rendered.body)
        wechat = render(template.variants[WECHAT], flatten_params(payload)).data
        assert wechat == {"thing1": "食品经营许可", "character_string2": payload["projectNo"], "phrase3": "已受理"}
