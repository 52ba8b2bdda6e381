"""Who may call each notifications operation (§C14): residents the user operations, `campaign_author` and
`campaign_approver` operators their own, the service principal only emitNotificationEvent. A refusal is a
top-level UNAUTHENTICATED or FORBIDDEN error and runs nothing; an allowed caller gets a typed result."""

from __future__ import annotations

from collections.abc import Callable

from api.settings import GraphQLSettings
from schema.root import build_schema
from tests.notifications.graphql.operations import Operation, operations
from tests.notifications.graphql.support import APPROVER, AUTHOR, OTHER_OPERATOR, codes, gql, operator, service
from tests.support.client import Api

NOTIFICATION_FIELDS = {op.name for op in operations()}


async def _outcomes(api: Api, token: str | None, wanted: Callable[[Operation], bool]) -> dict[str, object]:
    """The error codes (or the result's __typename) of every operation `wanted` selects, called as `token`."""
    found: dict[str, object] = {}
    for op in operations():
        if not wanted(op):
            continue
        body = await gql(api, op.document, op.variables, token)
        errors = codes(body)
        result = (body.get("data") or {}).get(op.name)
        if errors:
            found[op.name] = errors
        elif result is None:
            found[op.name] = "null"
        elif isinstance(result, list):
            found[op.name] = "data"
        else:
            found[op.name] = result.get("__typename", "data")
    return found


class TestOperationList:
    def test_names_every_notifications_query_and_mutation(self) -> None:
        schema = build_schema(GraphQLSettings(), introspection=True)
        ours = set()
        for root in ("Query", "Mutation"):
            for name in schema._schema.get_type(root).fields:  # type: ignore[union-attr]
                resolver = schema.get_field_for_type(name, root).base_resolver  # type: ignore[union-attr]
                if resolver is not None and resolver.wrapped_func.__module__.startswith("schema.notifications"):
                    ours.add(name)
        assert ours == NOTIFICATION_FIELDS


class TestAnonymousCaller:
    async def test_is_refused_everywhere(self, api: Api) -> None:
        found = await _outcomes(api, None, lambda op: True)
        assert found == {name: ["UNAUTHENTICATED"] for name in NOTIFICATION_FIELDS}


class TestResident:
    async def test_is_refused_operator_and_service_operations(self, api: Api) -> None:
        session = await api.sign_in()
        found = await _outcomes(api, session.access_token, lambda op: op.caller != "citizen")
        assert found == {op.name: ["FORBIDDEN"] for op in operations() if op.caller != "citizen"}

    async def test_gets_typed_results_from_user_operations(self, api: Api) -> None:
        session = await api.sign_in()
        found = await _outcomes(api, session.access_token, lambda op: op.caller == "citizen")
        assert found == {
            "myInbox": "data",
            "myNotificationPreferences": "data",
            "registerDevice": "PushDevice",
            "unregisterDevice": "NotFoundError",
            "markRead": "InboxMarkedRead",
            "updateNotificationPreference": "CriticalNotMutableError",
            "updateQuietHours": "NotificationPreferences",
            "trackNotificationOpened": "NotFoundError",
        }


class TestOperatorWithoutCampaignRoles:
    async def test_is_refused_every_notifications_operation(self, api: Api) -> None:
        token = await operator(api, OTHER_OPERATOR)
        found = await _outcomes(api, token, lambda op: True)
        assert found == {name: ["FORBIDDEN"] for name in NOTIFICATION_FIELDS}


class TestCampaignAuthor:
    async def test_reaches_author_operations_only(self, api: Api) -> None:
        token = await operator(api, AUTHOR)
        found = await _outcomes(api, token, lambda op: op.caller != "author")
        assert found == {op.name: ["FORBIDDEN"] for op in operations() if op.caller != "author"}
        allowed = await _outcomes(api, token, lambda op: op.caller == "author")
        assert allowed == {
            "notificationTemplates": "data",
            "saveNotificationTemplate": "TemplateTooLargeError",
            "createSegment": "InvalidSegmentError",
            "previewSegment": "InvalidSegmentError",
            "createCampaign": "NotFoundError",
            "updateCampaign": "NotFoundError",
            "submitCampaign": "NotFoundError",
            "pauseCampaign": "NotFoundError",
            "resumeCampaign": "NotFoundError",
            "cancelCampaign": "NotFoundError",
            "campaign": "null",
            "campaigns": "data",
            "campaignStats": "null",
        }


class TestCampaignApprover:
    async def test_reaches_approval_operations_only(self, api: Api) -> None:
        token = await operator(api, APPROVER)
        found = await _outcomes(api, token, lambda op: True)
        assert found == {
            **{op.name: ["FORBIDDEN"] for op in operations() if op.caller != "approver"},
            "approveCampaign": "NotFoundError",
            "rejectCampaign": "NotFoundError",
        }


class TestServicePrincipal:
    async def test_reaches_only_emit(self, api: Api) -> None:
        token = await service(api)
        found = await _outcomes(api, token, lambda op: True)
        assert found == {
            **{op.name: ["FORBIDDEN"] for op in operations() if op.caller != "service"},
            "emitNotificationEvent": "InvalidInputError",
        }
