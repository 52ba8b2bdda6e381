"""The resident's operations over HTTP (§C11–§C13): each answers a typed result, and each expected failure a typed
error with its stable code that changed nothing."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from api.models import DeviceEndpoint, NotificationPreference, NotificationSettings
from tests.notifications.graphql.support import ERROR
from tests.support.client import Api, Session

DEVICE = "id platform env appVersion registeredAt lastSeenAt"
PREFERENCES = "categories { category enabled mutable channels { channel enabled mutable } } quietStart quietEnd"
REGISTER = f"""mutation R($input: RegisterDeviceInput!) {{
  registerDevice(input: $input) {{ __typename ... on PushDevice {{ {DEVICE} }} {ERROR} }} }}"""
UNREGISTER = f"""mutation U($input: UnregisterDeviceInput!) {{
  unregisterDevice(input: $input) {{ __typename ... on DeviceUnregistered {{ platform token }} {ERROR} }} }}"""
INBOX = """query I($first: Int, $after: String) {
  myInbox(first: $first, after: $after) { unreadCount edges { cursor node { id } } pageInfo { hasNextPage endCursor } }
}"""
MARK_READ = f"""mutation M($input: MarkReadInput!) {{
  markRead(input: $input) {{ __typename ... on InboxMarkedRead {{ marked }} {ERROR} }} }}"""
MY_PREFERENCES = f"query {{ myNotificationPreferences {{ {PREFERENCES} defaultQuietStart defaultQuietEnd timezone }} }}"
UPDATE_PREFERENCE = f"""mutation P($input: UpdateNotificationPreferenceInput!) {{
  updateNotificationPreference(input: $input) {{
    __typename ... on NotificationPreferences {{ {PREFERENCES} }} {ERROR}
  }}
}}"""
UPDATE_QUIET = f"""mutation Q($input: UpdateQuietHoursInput!) {{
  updateQuietHours(input: $input) {{ __typename ... on NotificationPreferences {{ quietStart quietEnd }} {ERROR} }}
}}"""
TRACK = f"""mutation T($input: TrackNotificationOpenedInput!) {{
  trackNotificationOpened(input: $input) {{ __typename ... on NotificationOpened {{ deliveryId }} {ERROR} }} }}"""


async def _call(api: Api, session: Session, document: str, field: str, **values: Any) -> dict[str, Any]:
    result: dict[str, Any] = (await api.data(document, {"input": values}, session.access_token))[field]
    return result


def _categories(preferences: dict[str, Any]) -> dict[str, dict[str, bool]]:
    return {c["category"]: {ch["channel"]: ch["enabled"] for ch in c["channels"]} for c in preferences["categories"]}


class TestRegisterDevice:
    async def test_returns_the_callers_device(self, api: Api) -> None:
        session = await api.sign_in()
        token = secrets.token_hex(32)
        result = await _call(
            api, session, REGISTER, "registerDevice", platform="IOS", token=token, env="SANDBOX", appVersion="3.2.0"
        )
        assert result["__typename"] == "PushDevice"
        assert (result["platform"], result["env"], result["appVersion"]) == ("IOS", "SANDBOX", "3.2.0")
        row = await DeviceEndpoint.get(id=result["id"])
        assert (str(row.user_id), row.token) == (session.person_id, token)

    async def test_refuses_a_malformed_token_and_stores_nothing(self, api: Api) -> None:
        session = await api.sign_in()
        result = await _call(api, session, REGISTER, "registerDevice", platform="HUAWEI", token="has space")
        assert result == {
            "__typename": "InvalidInputError",
            "code": "INVALID_INPUT",
            "message": result["message"],
            "path": ["token"],
        }
        assert not await DeviceEndpoint.filter(token="has space").exists()


class TestUnregisterDevice:
    async def test_removes_the_callers_own_device(self, api: Api) -> None:
        session = await api.sign_in()
        token = secrets.token_hex(32)
        await _call(api, session, REGISTER, "registerDevice", platform="IOS", token=token)
        result = await _call(api, session, UNREGISTER, "unregisterDevice", platform="IOS", token=token)
        assert result == {"__typename": "DeviceUnregistered", "platform": "IOS", "token": token}
        assert not await DeviceEndpoint.filter(token=token).exists()

    async def test_answers_not_found_for_a_token_another_user_holds_and_keeps_it(self, api: Api) -> None:
        holder, other = await api.sign_in(), await api.sign_in()
        token = secrets.token_hex(32)
        await _call(api, holder, REGISTER, "registerDevice", platform="IOS", token=token)
        result = await _call(api, other, UNREGISTER, "unregisterDevice", platform="IOS", token=token)
        assert (result["__typename"], result["code"], result["path"]) == ("NotFoundError", "NOT_FOUND", ["token"])
        assert str((await DeviceEndpoint.get(token=token)).user_id) == holder.person_id


class TestMyInbox:
    async def test_is_empty_for_a_new_resident(self, api: Api) -> None:
        session = await api.sign_in()
        inbox = (await api.data(INBOX, {"first": 5}, session.access_token))["myInbox"]
        assert inbox == {"unreadCount": 0, "edges": [], "pageInfo": {"hasNextPage": False, "endCursor": None}}

    async def test_refuses_a_foreign_cursor_with_its_code(self, api: Api) -> None:
        session = await api.sign_in()
        body = await api.gql(INBOX, {"first": 5, "after": "bm90LWEtY3Vyc29y"}, session.access_token)
        assert [e["extensions"]["code"] for e in body["errors"]] == ["INVALID_CURSOR"]


class TestMarkRead:
    async def test_counts_nothing_for_ids_that_are_not_the_callers(self, api: Api) -> None:
        session = await api.sign_in()
        result = await _call(api, session, MARK_READ, "markRead", ids=[str(uuid.uuid4())])
        assert result == {"__typename": "InboxMarkedRead", "marked": 0}

    async def test_refuses_a_malformed_id(self, api: Api) -> None:
        session = await api.sign_in()
        result = await _call(api, session, MARK_READ, "markRead", ids=["not-an-id"])
        assert (result["__typename"], result["code"], result["path"]) == ("InvalidInputError", "INVALID_INPUT", ["ids"])


class TestMyNotificationPreferences:
    async def test_shows_every_category_on_with_the_default_quiet_hours(self, api: Api) -> None:
        session = await api.sign_in()
        view = (await api.data(MY_PREFERENCES, token=session.access_token))["myNotificationPreferences"]
        assert [(c["category"], c["enabled"], c["mutable"]) for c in view["categories"]] == [
            ("CRITICAL", True, False),
            ("SERVICE", True, True),
            ("CAMPAIGN", True, True),
        ]
        assert (view["quietStart"], view["quietEnd"], view["defaultQuietStart"], view["defaultQuietEnd"]) == (
            "21:00",
            "08:00",
            "21:00",
            "08:00",
        )
        assert view["timezone"] == "Asia/Shanghai"


class TestUpdateNotificationPreference:
    async def test_mutes_one_channel_of_a_category(self, api: Api) -> None:
        session = await api.sign_in()
        view = await _call(
            api,
            session,
            UPDATE_PREFERENCE,
            "updateNotificationPreference",
            category="CAMPAIGN",
            channel="PUSH",
            enabled=False,
        )
        assert view["__typename"] == "NotificationPreferences"
        assert _categories(view)["CAMPAIGN"]["PUSH"] is False
        assert _categories(view)["SERVICE"]["PUSH"] is True

    async def test_refuses_muting_critical_and_changes_nothing(self, api: Api) -> None:
        session = await api.sign_in()
        result = await _call(
            api, session, UPDATE_PREFERENCE, "updateNotificationPreference", category="CRITICAL", enabled=False
        )
        assert (result["__typename"], result["code"]) == ("CriticalNotMutableError", "CRITICAL_NOT_MUTABLE")
        assert not await NotificationPreference.filter(user_id=session.person_id).exists()


class TestUpdateQuietHours:
    async def test_stores_a_wider_window(self, api: Api) -> None:
        session = await api.sign_in()
        result = await _call(api, session, UPDATE_QUIET, "updateQuietHours", start="20:00", end="09:30")
        assert result == {"__typename": "NotificationPreferences", "quietStart": "20:00", "quietEnd": "09:30"}

    async def test_refuses_a_window_narrower_than_the_default_and_changes_nothing(self, api: Api) -> None:
        session = await api.sign_in()
        result = await _call(api, session, UPDATE_QUIET, "updateQuietHours", start="22:00", end="07:00")
        assert (result["__typename"], result["code"]) == ("QuietHoursTooNarrowError", "QUIET_HOURS_TOO_NARROW")
        assert not await NotificationSettings.filter(user_id=session.person_id).exists()

    async def test_refuses_a_time_that_is_not_hh_mm(self, api: Api) -> None:
        session = await api.sign_in()
        result = await _call(api, session, UPDATE_QUIET, "updateQuietHours", start="25:00", end="08:00")
        assert (result["__typename"], result["code"], result["path"]) == (
            "InvalidInputError",
            "INVALID_INPUT",
            ["start"],
        )
        assert not await NotificationSettings.filter(user_id=session.person_id).exists()


class TestTrackNotificationOpened:
    async def test_answers_not_found_for_an_unknown_delivery(self, api: Api) -> None:
        session = await api.sign_in()
        result = await _call(api, session, TRACK, "trackNotificationOpened", deliveryId=str(uuid.uuid4()))
        assert (result["__typename"], result["code"], result["path"]) == ("NotFoundError", "NOT_FOUND", ["deliveryId"])

    async def test_answers_not_found_for_a_malformed_id(self, api: Api) -> None:
        session = await api.sign_in()
        result = await _call(api, session, TRACK, "trackNotificationOpened", deliveryId="not-an-id")
        assert (result["__typename"], result["code"]) == ("NotFoundError", "NOT_FOUND")
