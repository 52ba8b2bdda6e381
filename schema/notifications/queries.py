"""The notifications queries (§C14): your inbox and preferences; templates, segment previews and campaigns for
operators. A bad `first` or cursor is a top-level error with its code, as every list of the API answers it."""

from __future__ import annotations

import uuid
from typing import Annotated

import strawberry
from strawberry.exceptions import StrawberryGraphQLError

from api.kit.errors import AppError
from api.kit.ids import parse_uuid
from api.kit.pagination import MAX_FIRST, clamp_first, encode_cursor, offset_after, offset_page
from notifications import service
from schema.access import CitizenOnly
from schema.context import Info
from schema.errors import InvalidInputError
from schema.notifications import inputs
from schema.notifications.campaign_mutations import AUTHOR
from schema.notifications.campaign_types import CampaignStats, CampaignView, campaign_stats
from schema.notifications.common import caller, deps_of, run
from schema.notifications.errors import InvalidSegmentError
from schema.notifications.types import (
    InboxConnection,
    InboxEdge,
    InboxItem,
    InboxPageInfo,
    NotificationPreferences,
    NotificationTemplate,
    SegmentPreview,
)
from schema.notifications.views import preferences_view
from schema.pagination import Connection

PreviewSegmentResult = Annotated[
    SegmentPreview | InvalidSegmentError | InvalidInputError, strawberry.union("PreviewSegmentResult")
]
_PREVIEW = (SegmentPreview, InvalidSegmentError, InvalidInputError)


def _refused(exc: AppError) -> StrawberryGraphQLError:
    return StrawberryGraphQLError(exc.message, extensions={"code": exc.code})


@strawberry.type
class NotificationsQuery:
    @strawberry.field(
        permission_classes=[CitizenOnly],
        description=f"Your inbox (站内信), newest first, with the unread count; `first` at most {MAX_FIRST}.",
    )
    async def my_inbox(self, info: Info, first: int | None = 20, after: str | None = None) -> InboxConnection:
        try:
            page = await service.inbox_page(deps_of(info), caller(info), clamp_first(first), after)
        except AppError as exc:
            raise _refused(exc) from None
        cursors = page.cursors or [encode_cursor([row.created_at.isoformat(), str(row.id)]) for row in page.items]
        edges = [InboxEdge(cursor=c, node=InboxItem.of(row)) for row, c in zip(page.items, cursors, strict=True)]
        return InboxConnection(
            edges=edges,
            page_info=InboxPageInfo(has_next_page=page.has_next, end_cursor=page.end_cursor),
            unread_count=page.unread_count,
        )

    @strawberry.field(permission_classes=[CitizenOnly], description="Your preferences per category and channel.")
    async def my_notification_preferences(self, info: Info) -> NotificationPreferences:
        return preferences_view(await service.my_preferences(deps_of(info), caller(info)))

    @strawberry.field(
        permission_classes=[AUTHOR],
        description=f"The current version of every template, by code; `first` at most {MAX_FIRST}.",
    )
    async def notification_templates(
        self, info: Info, first: int | None = 20, after: str | None = None
    ) -> Connection[NotificationTemplate]:
        try:
            limit, start = clamp_first(first), offset_after(after)
        except AppError as exc:
            raise _refused(exc) from None
        templates = await service.list_templates()
        page = offset_page(templates[start : start + limit + 1], start=start, first=limit, total=len(templates))
        return Connection.of(page, NotificationTemplate.of)

    @strawberry.field(
        permission_classes=[AUTHOR], description="How many people a segment reaches, with a masked sample of 10."
    )
    async def preview_segment(self, info: Info, input: inputs.PreviewSegmentInput) -> PreviewSegmentResult:
        deps = deps_of(info)

        async def call() -> SegmentPreview:
            return SegmentPreview.of(await service.preview_segment(deps, input.dsl))

        return await run(call, _PREVIEW)  # type: ignore[no-any-return]

    @strawberry.field(permission_classes=[AUTHOR], description="A campaign with its transitions and stats.")
    async def campaign(self, info: Info, id: strawberry.ID) -> CampaignView | None:
        campaign_id = parse_uuid(str(id))
        row = None if campaign_id is None else await service.get_campaign(campaign_id)
        return None if row is None else CampaignView.of(row)

    @strawberry.field(permission_classes=[AUTHOR], description=f"Campaigns, newest first; `first` at most {MAX_FIRST}.")
    async def campaigns(self, info: Info, first: int | None = 20, after: str | None = None) -> Connection[CampaignView]:
        try:
            page = await service.list_campaigns(clamp_first(first), after)
        except AppError as exc:
            raise _refused(exc) from None
        return Connection.of(page, CampaignView.of)

    @strawberry.field(permission_classes=[AUTHOR], description="A campaign's funnel per channel (§C13).")
    async def campaign_stats(self, info: Info, campaign_id: strawberry.ID) -> CampaignStats | None:
        parsed = parse_uuid(str(campaign_id))
        if parsed is None or await service.get_campaign(parsed) is None:
            return None
        return await campaign_stats(uuid.UUID(str(parsed)))
