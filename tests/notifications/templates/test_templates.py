"""Templates (§C2, §C6): versions saved whole, payload limits with the placeholders empty, WeChat field types,
required vendor ids, and a render that never evaluates anything."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest

from api.models import Fanout, NoticeCategory, NotificationTemplate, TemplateChannel
from notifications.deps import NotificationsDeps
from notifications.errors import NotificationsError
from notifications.templates import (
    TemplateInput,
    TemplateVariant,
    current_template,
    list_templates,
    pinned_template,
    render,
    save_template,
)

PUSH, WECHAT, ALIPAY, SMS, INBOX = (
    TemplateChannel.PUSH,
    TemplateChannel.WECHAT,
    TemplateChannel.ALIPAY,
    TemplateChannel.SMS,
    TemplateChannel.INBOX,
)


def spec(**changes: object) -> TemplateInput:
    base = TemplateInput(
        code=f"TEST_{uuid.uuid4().hex[:10].upper()}",
        category=NoticeCategory.SERVICE,
        title="办件已受理",
        body="您的「{itemName}」申请已受理，办件编号 {projectNo}。",
        deeplink="zsb://applications/{applicationId}",
        channels=[PUSH, WECHAT, ALIPAY],
        wechat_template_id="TPL_WX_TEST",
        wechat_fields={"thing1": "{itemName}", "phrase2": "已受理"},
        alipay_template_id="TPL_ALI_TEST",
        alipay_fields={"keyword1": "{itemName}"},
    )
    return replace(base, **changes)  # type: ignore[arg-type]


async def refused(deps: NotificationsDeps, bad: TemplateInput) -> NotificationsError:
    with pytest.raises(NotificationsError) as caught:
        await save_template(deps, "operator-1", bad)
    assert not await NotificationTemplate.exists(code=bad.code)
    return caught.value


class TestSaveTemplate:
    async def test_writes_one_row_per_channel_plus_the_inbox_under_version_one(self, deps: NotificationsDeps) -> None:
        # when
        saved = await save_template(deps, "operator-1", spec(channels=[WECHAT, PUSH]))
        # then: ranked in the input's order, the inbox last
        rows = await NotificationTemplate.filter(code=saved.code).order_by("rank")
        assert [(r.channel, r.rank, r.version) for r in rows] == [(WECHAT, 0, 1), (PUSH, 1, 1), (INBOX, 2, 1)]
        assert saved.interrupting_channels() == [WECHAT, PUSH]
        assert saved.variants[WECHAT].fields_map == {"thing1": "{itemName}", "phrase2": "已受理"}
        assert saved.variants[PUSH].wechat_template_id == "" and saved.created_by == "operator-1"

    async def test_a_second_save_is_the_next_version_and_the_first_stays_pinned(self, deps: NotificationsDeps) -> None:
        first = await save_template(deps, "operator-1", spec())
        second = await save_template(deps, "operator-2", replace(spec(code=first.code), title="办件受理通知"))
        assert (first.version, second.version) == (1, 2)
        current = await current_template(first.code)
        pinned = await pinned_template(first.code, 1)
        assert current is not None and current.variants[PUSH].title == "办件受理通知"
        assert pinned is not None and pinned.variants[PUSH].title == "办件已受理"
        listed = [t for t in await list_templates() if t.code == first.code]
        assert [(t.version, t.locale) for t in listed] == [(2, "zh-CN")]

    async def test_versions_count_per_locale(self, deps: NotificationsDeps) -> None:
        zh = await save_template(deps, "operator-1", spec())
        en = await save_template(deps, "operator-1", spec(code=zh.code, locale="en", title="Accepted"))
        assert (zh.version, en.version) == (1, 1)
        assert await current_template(zh.code, "fr") is None

    async def test_sms_fallback_adds_an_sms_row_before_the_inbox(self, deps: NotificationsDeps) -> None:
        saved = await save_template(
            deps,
            "operator-1",
            spec(
                category=NoticeCategory.CRITICAL,
                channels=[PUSH],
                sms_fallback=True,
                sms_template_code="SMS_NOTICE_TEST",
                sms_sign_name="掌上办",
                sms_params={"name": "{itemName}"},
                fanout=Fanout.ALL,
            ),
        )
        assert saved.channels == [PUSH, SMS, INBOX]
        sms = saved.variants[SMS]
        assert (sms.sms_template_code, sms.sms_sign_name, dict(sms.fields_map)) == (
            "SMS_NOTICE_TEST",
            "掌上办",
            {"name": "{itemName}"},
        )
        assert (saved.sms_fallback, saved.fanout, saved.interrupting_channels()) == (True, Fanout.ALL, [PUSH])

    async def test_a_body_over_the_apns_limit_is_too_large(self, deps: NotificationsDeps) -> None:
        # 1,400 汉字 are 4,200 bytes: over 4,096 once serialised
        error = await refused(deps, spec(body="受" * 1400 + "{itemName}"))
        assert (error.code, error.path) == ("TEMPLATE_TOO_LARGE", ["body"])

    async def test_placeholders_count_as_empty(self, deps: NotificationsDeps) -> None:
        saved = await save_template(deps, "operator-1", spec(body="受" * 1200 + "{a}" * 500))
        assert saved.version == 1

    async def test_a_title_over_200_characters_is_too_large(self, deps: NotificationsDeps) -> None:
        error = await refused(deps, spec(title="题" * 201))
        assert (error.code, error.path) == ("TEMPLATE_TOO_LARGE", ["title"])

    @pytest.mark.parametrize(
        ("fields", "code", "path"),
        [
            ({"keyword1": "{itemName}"}, "INVALID_INPUT", ["wechatFields", "keyword1"]),
            ({"phrase2": "已经受理完毕"}, "TEMPLATE_TOO_LARGE", ["wechatFields", "phrase2"]),
            ({"amount3": "十二元"}, "TEMPLATE_TOO_LARGE", ["wechatFields", "amount3"]),
            (
                {"thing1": "这是一段明显超过了二十个字符长度的固定说明文字{itemName}"},
                "TEMPLATE_TOO_LARGE",
                ["wechatFields", "thing1"],
            ),
        ],
    )
    async def test_wechat_fields_must_fit_their_types(
        self, deps: NotificationsDeps, fields: dict[str, str], code: str, path: list[str]
    ) -> None:
        error = await refused(deps, spec(wechat_fields=fields))
        assert (error.code, error.path) == (code, path)

    @pytest.mark.parametrize(
        ("changes", "path"),
        [
            ({"wechat_template_id": ""}, ["wechatTemplateId"]),
            ({"alipay_template_id": ""}, ["alipayTemplateId"]),
            ({"sms_fallback": True, "sms_sign_name": "掌上办"}, ["smsTemplateCode"]),
            ({"sms_fallback": True, "sms_template_code": "SMS_X"}, ["smsSignName"]),
            ({"channels": [PUSH, SMS]}, ["channels"]),
            ({"channels": [INBOX]}, ["channels"]),
            ({"code": "has space"}, ["code"]),
            ({"title": " "}, ["title"]),
            (
                {
                    "category": NoticeCategory.CAMPAIGN,
                    "sms_fallback": True,
                    "sms_template_code": "SMS_X",
                    "sms_sign_name": "掌上办",
                },
                ["smsFallback"],
            ),
        ],
    )
    async def test_missing_or_malformed_fields_are_invalid(
        self, deps: NotificationsDeps, changes: dict[str, object], path: list[str]
    ) -> None:
        error = await refused(deps, spec(**changes))
        assert (error.code, error.path) == ("INVALID_INPUT", path)


class TestRender:
    variant = TemplateVariant(
        channel=WECHAT,
        rank=0,
        title="{itemName}已受理",
        body="办件 {projectNo}：{missing}{0}{a.b}{x[0]}{ literal }",
        deeplink="zsb://applications/{applicationId}",
        fields_map={"thing1": "{itemName}", "number2": "{count}"},
    )

    def test_fills_placeholders_and_leaves_everything_else_as_written(self) -> None:
        rendered = render(self.variant, {"itemName": "食品经营许可", "projectNo": "C42", "count": 3, "0": "zero"})
        assert rendered.title == "食品经营许可已受理"
        assert rendered.body == "办件 C42：zero{a.b}{x[0]}{ literal }"
        assert rendered.data == {"thing1": "食品经营许可", "number2": "3"}

    def test_never_evaluates_attributes_or_format_specs(self) -> None:
        hostile = {"itemName": "{projectNo.__class__}", "projectNo": "{0.__globals__}"}
        rendered = render(self.variant, hostile)
        assert rendered.title == "{projectNo.__class__}已受理"
        assert rendered.body.startswith("办件 {0.__globals__}：")

    def test_deeplink_parameters_are_percent_encoded(self) -> None:
        rendered = render(self.variant, {"applicationId": "../bills/1?x=y"})
        assert rendered.deeplink == "zsb://applications/..%2Fbills%2F1%3Fx%3Dy"
