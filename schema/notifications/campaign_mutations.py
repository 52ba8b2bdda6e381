"""The operators' mutations (§C14): templates and segments (campaign_author), the campaign state machine
(campaign_author), approval and rejection (campaign_approver, four-eyes)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import strawberry

from api.models import OperatorRole
from api.models.notifications import Fanout, NoticeCategory, TemplateChannel
from notifications import service
from notifications.errors import NotificationsError, NotificationsErrorCode
from schema.access import operator_with
from schema.context import Info
from schema.errors import InvalidInputError, NotFoundError
from schema.notifications import inputs
from schema.notifications.campaign_types import CampaignView
from schema.notifications.common import caller, deps_of, local_time, parse_id, run
from schema.notifications.enums import to_row
from schema.notifications.errors import (
    InvalidSegmentError,
    InvalidTransitionError,
    ScheduleInPastError,
    SelfApprovalError,
    TemplateTooLargeError,
)
from schema.notifications.types import NotificationTemplate, Segment

AUTHOR = operator_with(OperatorRole.CAMPAIGN_AUTHOR)
APPROVER = operator_with(OperatorRole.CAMPAIGN_APPROVER)
_NOT_FOUND = NotificationsErrorCode.NOT_FOUND
_INVALID = NotificationsErrorCode.INVALID_INPUT

SaveNotificationTemplateResult = Annotated[
    NotificationTemplate | TemplateTooLargeError | InvalidInputError, strawberry.union("SaveNotificationTemplateResult")
]
_SAVE = (NotificationTemplate, TemplateTooLargeError, InvalidInputError)
CreateSegmentResult = Annotated[
    Segment | InvalidSegmentError | InvalidInputError, strawberry.union("CreateSegmentResult")
]
_SEGMENT = (Segment, InvalidSegmentError, InvalidInputError)
CreateCampaignResult = Annotated[
    CampaignView | ScheduleInPastError | NotFoundError | InvalidInputError, strawberry.union("CreateCampaignResult")
]
UpdateCampaignResult = Annotated[
    CampaignView | ScheduleInPastError | InvalidTransitionError | NotFoundError | InvalidInputError,
    strawberry.union("UpdateCampaignResult"),
]
_EDIT = (CampaignView, ScheduleInPastError, InvalidTransitionError, NotFoundError, InvalidInputError)
SubmitCampaignResult = Annotated[
    CampaignView | InvalidTransitionError | NotFoundError | InvalidInputError, strawberry.union("SubmitCampaignResult")
]
PauseCampaignResult = Annotated[
    CampaignView | InvalidTransitionError | NotFoundError | InvalidInputError, strawberry.union("PauseCampaignResult")
]
ResumeCampaignResult = Annotated[
    CampaignView | InvalidTransitionError | NotFoundError | InvalidInputError, strawberry.union("ResumeCampaignResult")
]
CancelCampaignResult = Annotated[
    CampaignView | InvalidTransitionError | NotFoundError | InvalidInputError, strawberry.union("CancelCampaignResult")
]
RejectCampaignResult = Annotated[
    CampaignView | InvalidTransitionError | NotFoundError | InvalidInputError, strawberry.union("RejectCampaignResult")
]
_MOVE = (CampaignView, InvalidTransitionError, NotFoundError, InvalidInputError)
ApproveCampaignResult = Annotated[
    CampaignView | SelfApprovalError | InvalidTransitionError | NotFoundError | InvalidInputError,
    strawberry.union("ApproveCampaignResult"),
]
_APPROVE = (CampaignView, SelfApprovalError, InvalidTransitionError, NotFoundError, InvalidInputError)


def _text_map(value: object, field: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise NotificationsError(_INVALID, "an object of field names to texts", path=[field])
    return dict(value)


def _template_channels(values: list[Any]) -> list[TemplateChannel]:
    return [to_row(v, TemplateChannel) for v in values]


def _channels(values: list[Any]) -> list[str]:
    return [channel.value for channel in _template_channels(values)]


def _recurrence(value: inputs.CampaignRecurrenceInput | None) -> dict[str, str] | None:
    if value is None:
        return None
    at = local_time(value.at, "recurrence")
    return {"every": "day", "at": at.strftime("%H:%M")}


async def _move(
    info: Info,
    campaign_id: strawberry.ID,
    operation: Callable[..., Awaitable[Any]],
    allowed: tuple[type[Any], ...],
    *extra: object,
) -> Any:
    deps, actor = deps_of(info), caller(info)

    async def call() -> CampaignView:
        target = parse_id(campaign_id, "campaignId", missing=_NOT_FOUND)
        return CampaignView.of(await operation(deps, actor, target, *extra))

    return await run(call, allowed)


@strawberry.type
class NotificationsOperatorMutation:
    @strawberry.mutation(
        permission_classes=[AUTHOR], description="Save a new version of a template (TEMPLATE_TOO_LARGE over a limit)."
    )
    async def save_notification_template(
        self, info: Info, input: inputs.SaveNotificationTemplateInput
    ) -> SaveNotificationTemplateResult:
        deps, actor = deps_of(info), caller(info)

        async def call() -> NotificationTemplate:
            template = service.TemplateInput(
                code=input.code,
                category=to_row(input.category, NoticeCategory),
                locale=input.locale,
                title=input.title,
                body=input.body,
                deeplink=input.deeplink,
                channels=_template_channels(input.channels),
                fanout=to_row(input.fanout, Fanout),
                huawei_category=input.huawei_category,
                wechat_template_id=input.wechat_template_id,
                wechat_fields=_text_map(input.wechat_fields, "wechatFields"),
                alipay_template_id=input.alipay_template_id,
                alipay_fields=_text_map(input.alipay_fields, "alipayFields"),
                sms_template_code=input.sms_template_code,
                sms_sign_name=input.sms_sign_name,
                sms_params=_text_map(input.sms_params, "smsParams"),
                sms_fallback=input.sms_fallback,
                defer_in_quiet_hours=input.defer_in_quiet_hours,
            )
            return NotificationTemplate.of(await service.save_template(deps, str(actor), template))

        return await run(call, _SAVE)  # type: ignore[no-any-return]

    @strawberry.mutation(permission_classes=[AUTHOR], description="Save a segment (INVALID_SEGMENT for a bad DSL).")
    async def create_segment(self, info: Info, input: inputs.CreateSegmentInput) -> CreateSegmentResult:
        deps, actor = deps_of(info), caller(info)

        async def call() -> Segment:
            if not input.name.strip():
                raise NotificationsError(_INVALID, "a segment needs a name", path=["name"])
            return Segment.of(await service.create_segment(deps, actor, input.name.strip(), input.dsl))

        return await run(call, _SEGMENT)  # type: ignore[no-any-return]

    @strawberry.mutation(permission_classes=[AUTHOR], description="Create a draft campaign.")
    async def create_campaign(self, info: Info, input: inputs.CreateCampaignInput) -> CreateCampaignResult:
        deps, actor = deps_of(info), caller(info)

        async def call() -> CampaignView:
            campaign = service.CampaignInput(
                name=input.name,
                segment_id=parse_id(input.segment_id, "segmentId", missing=_NOT_FOUND),
                template_code=input.template_code,
                channels=_channels(input.channels),
                schedule_at=input.schedule_at,
                window_end=input.window_end,
                recurrence=_recurrence(input.recurrence),
                throttle_per_min=input.throttle_per_min,
            )
            return CampaignView.of(await service.create_campaign(deps, actor, campaign))

        return await run(call, _EDIT)  # type: ignore[no-any-return]

    @strawberry.mutation(permission_classes=[AUTHOR], description="Edit a campaign: it returns to DRAFT.")
    async def update_campaign(self, info: Info, input: inputs.UpdateCampaignInput) -> UpdateCampaignResult:
        deps, actor = deps_of(info), caller(info)

        async def call() -> CampaignView:
            target = parse_id(input.campaign_id, "campaignId", missing=_NOT_FOUND)
            patch = service.CampaignPatch(
                name=input.name,
                segment_id=None
                if input.segment_id is None
                else parse_id(input.segment_id, "segmentId", missing=_NOT_FOUND),
                template_code=input.template_code,
                channels=None if input.channels is None else _channels(input.channels),
                schedule_at=input.schedule_at,
                window_end=input.window_end,
                recurrence=_recurrence(input.recurrence),
                throttle_per_min=input.throttle_per_min,
                clear_recurrence=input.clear_recurrence,
            )
            return CampaignView.of(await service.update_campaign(deps, actor, target, patch))

        return await run(call, _EDIT)  # type: ignore[no-any-return]

    @strawberry.mutation(permission_classes=[AUTHOR], description="Ask for approval (DRAFT → PENDING_APPROVAL).")
    async def submit_campaign(self, info: Info, input: inputs.SubmitCampaignInput) -> SubmitCampaignResult:
        return await _move(info, input.campaign_id, service.submit_campaign, _MOVE)  # type: ignore[no-any-return]

    @strawberry.mutation(permission_classes=[AUTHOR], description="Pause a scheduled or sending campaign.")
    async def pause_campaign(self, info: Info, input: inputs.PauseCampaignInput) -> PauseCampaignResult:
        return await _move(info, input.campaign_id, service.pause_campaign, _MOVE)  # type: ignore[no-any-return]

    @strawberry.mutation(permission_classes=[AUTHOR], description="Resume a paused campaign.")
    async def resume_campaign(self, info: Info, input: inputs.ResumeCampaignInput) -> ResumeCampaignResult:
        return await _move(info, input.campaign_id, service.resume_campaign, _MOVE)  # type: ignore[no-any-return]

    @strawberry.mutation(permission_classes=[AUTHOR], description="Cancel a campaign that has not completed.")
    async def cancel_campaign(self, info: Info, input: inputs.CancelCampaignInput) -> CancelCampaignResult:
        return await _move(info, input.campaign_id, service.cancel_campaign, _MOVE)  # type: ignore[no-any-return]

    @strawberry.mutation(
        permission_classes=[APPROVER],
        description="Approve a campaign someone else prepared (SELF_APPROVAL otherwise); it is scheduled at once.",
    )
    async def approve_campaign(self, info: Info, input: inputs.ApproveCampaignInput) -> ApproveCampaignResult:
        return await _move(info, input.campaign_id, service.approve_campaign, _APPROVE)  # type: ignore[no-any-return]

    @strawberry.mutation(permission_classes=[APPROVER], description="Send a campaign back to DRAFT with a reason.")
    async def reject_campaign(self, info: Info, input: inputs.RejectCampaignInput) -> RejectCampaignResult:
        if not input.reason.strip():
            return InvalidInputError(code=_INVALID.value, message="give a reason", path=["reason"])
        reason = input.reason.strip()[:255]
        return await _move(  # type: ignore[no-any-return]
            info, input.campaign_id, service.reject_campaign, _MOVE, reason
        )
