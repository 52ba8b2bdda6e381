"""The one schema: every domain contributes its Query and Mutation fields here."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

import strawberry
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import (
    AddValidationRules,
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.schema.config import StrawberryConfig

from api.settings import GraphQLSettings
from schema.applications.handling import HandlingMutation, HandlingQuery
from schema.applications.mutations import ApplicationMutation
from schema.applications.queries import ApplicationQuery
from schema.catalog.mutations import CatalogMutation
from schema.catalog.queries import CatalogQuery
from schema.catalog.search import SearchQuery
from schema.cost import CostLimiter
from schema.errors import Error
from schema.execution import ExecutionContext
from schema.identity.mutations import IdentityMutation
from schema.identity.queries import IdentityQuery
from schema.identity.services import ServiceIdentityMutation
from schema.licenses.mutations import LicenseMutation
from schema.licenses.queries import LicenseQuery
from schema.masking import should_mask
from schema.notifications.campaign_mutations import NotificationsOperatorMutation
from schema.notifications.mutations import NotificationsProducerMutation, NotificationsUserMutation
from schema.notifications.queries import NotificationsQuery
from schema.notifications.subscriptions import NotificationsSubscription
from schema.pages.mutations import PagesMutation
from schema.pages.queries import PagesQuery
from schema.payments.mutations import PaymentsMutation
from schema.payments.queries import PaymentsQuery
from schema.payments.scalars import FEN_SCALAR, Fen
from schema.ratings.mutations import RatingMutation
from schema.ratings.queries import RatingQuery
from schema.scalars import SCALAR_MAP
from schema.supervision.mutations import SupervisionMutation
from schema.supervision.queries import SupervisionQuery
from schema.sync.mutations import SyncMutation
from schema.sync.queries import SyncQuery
from schema.sync.subscriptions import SyncSubscription
from schema.sync.uploads import SyncUploadMutation, SyncUploadQuery
from schema.validation import ValidationCache

SDL_PATH = Path(__file__).resolve().parent / "schema.graphql"


@strawberry.type
class Query(
    IdentityQuery,
    CatalogQuery,
    SearchQuery,
    LicenseQuery,
    PagesQuery,
    ApplicationQuery,
    HandlingQuery,
    RatingQuery,
    SupervisionQuery,
    PaymentsQuery,
    SyncQuery,
    SyncUploadQuery,
    NotificationsQuery,
):
    pass


@strawberry.type
class Mutation(
    IdentityMutation,
    CatalogMutation,
    LicenseMutation,
    PagesMutation,
    ApplicationMutation,
    HandlingMutation,
    RatingMutation,
    SupervisionMutation,
    PaymentsMutation,
    SyncMutation,
    SyncUploadMutation,
    ServiceIdentityMutation,
    NotificationsUserMutation,
    NotificationsOperatorMutation,
    NotificationsProducerMutation,
):
    pass


@strawberry.type
class Subscription(SyncSubscription, NotificationsSubscription):
    pass


def _cached(extension: type[ParserCache] | type[ValidationCache]) -> Callable[[], SchemaExtension]:
    return partial(extension, maxsize=1024)


def build_schema(limits: GraphQLSettings, *, introspection: bool) -> strawberry.Schema:
    # Validation rules are built once: the depth and alias limiters create new rule classes per instance, and a
    # new class per request would make every ValidationCache lookup miss (≈1.5 ms per request re-validating).
    rules = [
        *QueryDepthLimiter(max_depth=limits.max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=limits.max_aliases).validation_rules,
    ]
    if not introspection:
        rules.append(NoSchemaIntrospectionCustomRule)
    # Factories, not instances: strawberry builds a fresh extension per request from each.
    extensions: list[Callable[[], SchemaExtension]] = [
        partial(MaxTokensLimiter, max_token_count=limits.max_tokens),
        partial(AddValidationRules, rules),
        partial(CostLimiter, max_cost=limits.max_cost),
        _cached(ParserCache),
        _cached(ValidationCache),
        partial(MaskErrors, should_mask_error=should_mask, error_message="Unexpected error."),
    ]
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[Error],
        extensions=extensions,
        # Money is the Fen scalar (payments.md §7), registered like the shared scalars through the scalar map.
        config=StrawberryConfig(scalar_map={**SCALAR_MAP, Fen: FEN_SCALAR}),
        execution_context_class=ExecutionContext,
    )


def printed_sdl() -> str:
    return build_schema(GraphQLSettings(), introspection=True).as_str() + "\n"
