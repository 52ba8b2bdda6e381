"""The user's and the producer's mutations (§C11–§C14): devices, inbox, preferences, open tracking, events.

Adapters only: parse the input, call one `notifications.service` function, map its refusal to a member of the
result union (`schema.notifications.errors.notifications_error`).
"""

from __future__ import annotations

from typing import Annotated

import strawberry

from api.models.notifications import NoticeCategory, PushEnv, PushPlatform, TemplateChannel
from notifications import service
from notifications.errors import NotificationsError, NotificationsErrorCode
from schema.access import CitizenOnly, service_with
from schema.context import Info
from schema.errors import InvalidInputError, NotFoundError
from schema.notifications import inputs
from schema.notifications.common import caller, deps_of, local_time, parse_id, run
from schema.notifications.enums import to_row
from schema.notifications.errors import CriticalNotMutableError, QuietHoursTooNarrowError
from schema.notifications.types import (
    DeviceUnregistered,
    InboxMarkedRead,
    NotificationEventEmitted,
    NotificationOpened,
    NotificationPreferences,
    PushDevice,
)
from schema.notifications.views import preferences_view

EMIT_SCOPE = "notifications:emit"

RegisterDeviceResult = Annotated[PushDevice | InvalidInputError, strawberry.union("RegisterDeviceResult")]
_REGISTER = (PushDevice, InvalidInputError)
UnregisterDeviceResult = Annotated[
    DeviceUnregistered | NotFoundError | InvalidInputError, strawberry.union("UnregisterDeviceResult")
]
_UNREGISTER = (DeviceUnregistered, NotFoundError, InvalidInputError)
MarkReadResult = Annotated[InboxMarkedRead | InvalidInputError, strawberry.union("MarkReadResult")]
_MARK = (InboxMarkedRead, InvalidInputError)
UpdateNotificationPreferenceResult = Annotated[
    NotificationPreferences | CriticalNotMutableError | InvalidInputError,
    strawberry.union("UpdateNotificationPreferenceResult"),
]
_PREFERENCE = (NotificationPreferences, CriticalNotMutableError, InvalidInputError)
UpdateQuietHoursResult = Annotated[
    NotificationPreferences | QuietHoursTooNarrowError | InvalidInputError, strawberry.union("UpdateQuietHoursResult")
]
_QUIET = (NotificationPreferences, QuietHoursTooNarrowError, InvalidInputError)
TrackNotificationOpenedResult = Annotated[
    NotificationOpened | NotFoundError, strawberry.union("TrackNotificationOpenedResult")
]
_OPENED = (NotificationOpened, NotFoundError)
EmitNotificationEventResult = Annotated[
    NotificationEventEmitted | InvalidInputError | NotFoundError, strawberry.union("EmitNotificationEventResult")
]
_EMIT = (NotificationEventEmitted, InvalidInputError, NotFoundError)


@strawberry.type
class NotificationsUserMutation:
    @strawberry.mutation(permission_classes=[CitizenOnly], description="Register this device for push notifications.")
    async def register_device(self, info: Info, input: inputs.RegisterDeviceInput) -> RegisterDeviceResult:
        deps, user = deps_of(info), caller(info)

        async def call() -> PushDevice:
            platform, env = to_row(input.platform, PushPlatform), to_row(input.env, PushEnv)
            row = await service.register_device(deps, user, platform, input.token, env, input.app_version)
            return PushDevice.of(row)

        return await run(call, _REGISTER)  # type: ignore[no-any-return]

    @strawberry.mutation(
        permission_classes=[CitizenOnly], description="Stop push to this device (NOT_FOUND unless it is yours)."
    )
    async def unregister_device(self, info: Info, input: inputs.UnregisterDeviceInput) -> UnregisterDeviceResult:
        deps, user = deps_of(info), caller(info)

        async def call() -> DeviceUnregistered:
            await service.unregister_device(deps, user, to_row(input.platform, PushPlatform), input.token)
            return DeviceUnregistered(platform=input.platform, token=input.token)

        return await run(call, _UNREGISTER)  # type: ignore[no-any-return]

    @strawberry.mutation(permission_classes=[CitizenOnly], description="Mark inbox items of yours as read.")
    async def mark_read(self, info: Info, input: inputs.MarkReadInput) -> MarkReadResult:
        deps, user = deps_of(info), caller(info)

        async def call() -> InboxMarkedRead:
            ids = [parse_id(i, "ids", missing=NotificationsErrorCode.INVALID_INPUT) for i in input.ids]
            return InboxMarkedRead(marked=await service.mark_read(deps, user, ids))

        return await run(call, _MARK)  # type: ignore[no-any-return]

    @strawberry.mutation(
        permission_classes=[CitizenOnly],
        description="Turn a channel of a category on or off (CRITICAL cannot be muted: CRITICAL_NOT_MUTABLE).",
    )
    async def update_notification_preference(
        self, info: Info, input: inputs.UpdateNotificationPreferenceInput
    ) -> UpdateNotificationPreferenceResult:
        deps, user = deps_of(info), caller(info)

        async def call() -> NotificationPreferences:
            category = to_row(input.category, NoticeCategory)
            channel = "*" if input.channel is None else to_row(input.channel, TemplateChannel).value
            return preferences_view(await service.update_preference(deps, user, category, channel, input.enabled))

        return await run(call, _PREFERENCE)  # type: ignore[no-any-return]

    @strawberry.mutation(
        permission_classes=[CitizenOnly],
        description="Set your quiet hours; a window narrower than the default gets QUIET_HOURS_TOO_NARROW.",
    )
    async def update_quiet_hours(self, info: Info, input: inputs.UpdateQuietHoursInput) -> UpdateQuietHoursResult:
        deps, user = deps_of(info), caller(info)

        async def call() -> NotificationPreferences:
            start, end = local_time(input.start, "start"), local_time(input.end, "end")
            return preferences_view(await service.update_quiet_hours(deps, user, start, end))

        return await run(call, _QUIET)  # type: ignore[no-any-return]

    @strawberry.mutation(
        permission_classes=[CitizenOnly], description="Record that you opened a notification (once per delivery)."
    )
    async def track_notification_opened(
        self, info: Info, input: inputs.TrackNotificationOpenedInput
    ) -> TrackNotificationOpenedResult:
        deps, user = deps_of(info), caller(info)

        async def call() -> NotificationOpened:
            delivery_id = parse_id(input.delivery_id, "deliveryId", missing=NotificationsErrorCode.NOT_FOUND)
            row = await service.track_opened(deps, user, delivery_id)
            return NotificationOpened(delivery_id=strawberry.ID(str(row.id)), opened_at=row.opened_at)

        return await run(call, _OPENED)  # type: ignore[no-any-return]


@strawberry.type
class NotificationsProducerMutation:
    @strawberry.mutation(
        permission_classes=[service_with(EMIT_SCOPE)],
        description="A producer's business event for one recipient; the same event returns the same request id.",
    )
    async def emit_notification_event(
        self, info: Info, input: inputs.EmitNotificationEventInput
    ) -> EmitNotificationEventResult:
        deps = deps_of(info)

        async def call() -> NotificationEventEmitted:
            invalid = NotificationsErrorCode.INVALID_INPUT
            recipient = parse_id(input.recipient_user_id, "recipientUserId", missing=invalid)
            if not isinstance(input.params, dict):
                raise NotificationsError(invalid, "params must be a JSON object", path=["params"])
            if int(input.state_version) < 0:
                raise NotificationsError(invalid, "stateVersion must not be negative", path=["stateVersion"])
            if not input.topic.strip() or not input.key.strip():
                raise NotificationsError(invalid, "topic and key are required", path=["topic"])
            request_id = await service.emit(
                deps,
                topic=input.topic,
                key=input.key,
                state_version=int(input.state_version),
                recipient_user_id=recipient,
                params=input.params,
                expires_at=input.expires_at,
            )
            return NotificationEventEmitted(request_id=strawberry.ID(str(request_id)))

        return await run(call, _EMIT)  # type: ignore[no-any-return]
