"""Search, suggestions and guided navigation queries; the root Query inherits them."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import strawberry
from strawberry.exceptions import StrawberryGraphQLError

from api.catalog import navigation
from api.catalog import search as search_service
from api.kit import pagination
from api.kit.errors import AppError, InvalidInput, NotFound
from api.models import FeeItem, MaterialRequirement, ServiceLocation
from schema.access import Public
from schema.catalog.types import ServiceAudience, ServiceItemSummary, TimeLimit
from schema.context import Info
from schema.errors import InvalidInputError, NotFoundError
from schema.pagination import Connection


@strawberry.enum(description="Why a search hit matched.")
class SearchMatchedBy(Enum):
    NAME = "NAME"
    KEYWORD = "KEYWORD"
    FAQ = "FAQ"
    PHRASE = strawberry.enum_value("PHRASE", description="A 常用语 of the knowledge base names the service.")
    SYNONYM = strawberry.enum_value("SYNONYM", description="Matched after an operator synonym rewrote the query.")


@strawberry.type(description="One search result: the service, how relevant it is and what matched.")
class SearchHit:
    score: float = strawberry.field(description="Relevance (popularity in the region included); higher is better.")
    matched_by: list[SearchMatchedBy] = strawberry.field(description="What matched, at most 5.")
    service: ServiceItemSummary


@strawberry.enum(description="What a type-ahead suggestion is.")
class ServiceSuggestionKind(Enum):
    NAME = "NAME"
    PHRASE = strawberry.enum_value("PHRASE", description="A 常用语 (everyday phrase) of the knowledge base.")


@strawberry.type(description="A type-ahead suggestion: show `text`; search it, or open `serviceCode` when set.")
class ServiceSuggestion:
    text: str
    kind: ServiceSuggestionKind
    service_code: str | None = strawberry.field(description="实施编码 when the suggestion means exactly one service.")


@strawberry.input(description="The option chosen for one 情形 question.")
class NavigationAnswerInput:
    situation_id: strawberry.ID
    option_key: str


@strawberry.type
class NavigationOption:
    key: str
    label: str


@strawberry.type(description="One 情形 question with its options and the option chosen, if any.")
class NavigationQuestion:
    situation_id: strawberry.ID
    question: str
    options: list[NavigationOption] = strawberry.field(description="The answers to choose from, at most 10.")
    chosen_option_key: str | None


@strawberry.type(description="A material to prepare, as the answers so far decide.")
class NavigationMaterial:
    id: strawberry.ID
    name: str
    necessity: str = strawberry.field(description="REQUIRED, OPTIONAL or TOLERATED_LATER (容缺).")
    forms: list[str] = strawberry.field(description="PAPER_ORIGINAL, PAPER_COPY, ELECTRONIC: at most 3.")
    source: str = strawberry.field(description="APPLICANT, ISSUING_AUTHORITY or DATA_SHARING.")
    issuing_org: str = strawberry.field(description="出具单位.")
    original_count: int
    copy_count: int
    paper_spec: str
    signature_requirement: str
    fill_guide: str
    accepted_elicense_type_codes: list[str] = strawberry.field(
        description="证照类型代码 of electronic licences accepted instead of an upload, at most 10."
    )
    allow_commitment: bool = strawberry.field(description="告知承诺 accepted instead of the material.")
    required_by_option_key: str | None = strawberry.field(
        description="The chosen option that added this material; null for materials every applicant prepares."
    )

    @classmethod
    def of(cls, row: MaterialRequirement, option_key: str | None) -> NavigationMaterial:
        return cls(
            id=strawberry.ID(str(row.id)),
            name=row.name,
            necessity=row.necessity,
            forms=[str(f) for f in row.forms],
            source=row.source,
            issuing_org=row.issuing_org_text,
            original_count=row.original_count,
            copy_count=row.copy_count,
            paper_spec=row.paper_spec,
            signature_requirement=row.signature_requirement,
            fill_guide=row.fill_guide,
            accepted_elicense_type_codes=[str(c) for c in row.elicense_type_codes],
            allow_commitment=row.allow_commitment,
            required_by_option_key=option_key,
        )


@strawberry.type(description="Where to go: one service window.")
class NavigationWindow:
    name: str
    address: str
    hours: str
    phone: str
    map_url: str
    traffic_info: str

    @classmethod
    def of(cls, row: ServiceLocation) -> NavigationWindow:
        return cls(
            name=row.window_name,
            address=row.address,
            hours=row.hours_text,
            phone=row.phone,
            map_url=row.map_url,
            traffic_info=row.traffic_info,
        )


@strawberry.type(description="A fee of the service.")
class NavigationFee:
    name: str
    standard: str
    amount_fen: str | None = strawberry.field(description="A fixed amount in fen (decimal digits); null if it varies.")
    amount_yuan: str | None = strawberry.field(description="The same amount in yuan for display, e.g. '50.00'.")
    reducible: bool
    reduce_basis: str

    @classmethod
    def of(cls, row: FeeItem) -> NavigationFee:
        fen = row.amount_fen
        return cls(
            name=row.name,
            standard=row.standard,
            amount_fen=None if fen is None else str(fen),
            amount_yuan=None if fen is None else f"{fen // 100}.{fen % 100:02d}",
            reducible=row.reducible,
            reduce_basis=row.reduce_basis,
        )


@strawberry.type(description="What to prepare, where to go, how many visits, fees and time limits for your situation.")
class NavigationGuide:
    service: ServiceItemSummary
    questions: list[NavigationQuestion] = strawberry.field(
        description="Every 情形 of the service, in order, at most 10."
    )
    complete: bool = strawberry.field(description="Every question is answered, so `materials` is final.")
    materials: list[NavigationMaterial] = strawberry.field(description="What to prepare, at most 30.")
    windows: list[NavigationWindow] = strawberry.field(description="Where to go, at most 10.")
    visits_required: int = strawberry.field(description="到办事现场次数.")
    visits_reason: str = strawberry.field(description="Why the visits are needed (必须现场办理原因).")
    fees: list[NavigationFee] = strawberry.field(description="At most 10.")
    is_fee: bool
    legal_limit: TimeLimit | None
    promised_limit: TimeLimit | None
    mobile_url: str

    @classmethod
    def of(cls, guide: navigation.Guide) -> NavigationGuide:
        item = guide.item
        return cls(
            service=ServiceItemSummary.from_row(item),
            questions=[
                NavigationQuestion(
                    situation_id=strawberry.ID(str(q.situation.id)),
                    question=q.situation.question,
                    options=[
                        NavigationOption(key=str(o.get("key")), label=str(o.get("label", "")))
                        for o in q.situation.options[:10]
                        if isinstance(o, dict)
                    ],
                    chosen_option_key=q.chosen,
                )
                for q in guide.questions[:10]
            ],
            complete=guide.complete,
            materials=[NavigationMaterial.of(m, key) for m, key in guide.materials[:30]],
            windows=[NavigationWindow.of(w) for w in guide.locations[:10]],
            visits_required=item.limit_scene_num,
            visits_reason=item.limit_scene_reason,
            fees=[NavigationFee.of(f) for f in guide.fees[:10]],
            is_fee=item.is_fee,
            legal_limit=TimeLimit.of(item.legal_limit),
            promised_limit=TimeLimit.of(item.promise_limit),
            mobile_url=item.mobile_url,
        )


NavigateResult = Annotated[NavigationGuide | NotFoundError | InvalidInputError, strawberry.union("NavigateResult")]


def _top_level(exc: AppError) -> StrawberryGraphQLError:
    return StrawberryGraphQLError(exc.message, extensions={"code": exc.code, "path": exc.path})


@strawberry.type
class SearchQuery:
    @strawberry.field(
        permission_classes=[Public],
        description=(
            "Search published services by name, keyword, FAQ question and everyday phrase (常用语), Chinese or not, "
            "tolerant of missing characters; best first, ties by popularity in `regionCode`. Queries are cut to "
            f"{search_service.MAX_QUERY_CHARS} characters; one with nothing searchable (blank, emoji, punctuation) "
            "has no hits. `audience` keeps services for that audience, `regionCode` those of the region's branch "
            "(its own, its parents' and its children's)."
        ),
    )
    async def search_services(
        self,
        info: Info,
        query: str,
        audience: ServiceAudience | None = None,
        region_code: str | None = None,
        first: int | None = pagination.DEFAULT_FIRST,
        after: str | None = None,
    ) -> Connection[SearchHit]:
        try:
            size = pagination.clamp_first(first)
            start = pagination.offset_after(after)
        except InvalidInput as exc:
            raise _top_level(exc) from None
        hits = await search_service.search_services(
            info.context.identity.redis,
            query,
            audience=search_service.Audience(audience.value) if audience is not None else None,
            region_code=(region_code or "").strip()[:12] or None,
        )
        page = pagination.offset_page(hits[start : start + size + 1], start=start, first=size, total=len(hits))
        return Connection[SearchHit].of(
            page,
            lambda hit: SearchHit(
                score=hit.score,
                matched_by=[SearchMatchedBy(m.value) for m in hit.matched_by],
                service=ServiceItemSummary.from_row(hit.item),
            ),
        )

    @strawberry.field(
        permission_classes=[Public],
        description="Type-ahead: service names and 常用语 starting with `prefix` (then containing it), most popular "
        f"first; at most {search_service.MAX_SUGGEST}.",
    )
    async def suggest_services(self, info: Info, prefix: str, first: int = 8) -> list[ServiceSuggestion]:
        found = await search_service.suggest_services(info.context.identity.redis, prefix, first)
        return [
            ServiceSuggestion(text=s.text, kind=ServiceSuggestionKind(s.kind.value), service_code=s.service_code)
            for s in found
        ]

    @strawberry.field(
        permission_classes=[Public],
        description="情景式导航: the service's 情形 questions; the answers given narrow the materials to prepare. "
        "Unknown service → NotFoundError SERVICE_NOT_FOUND; unknown situation or option, or a situation answered "
        "twice → InvalidInputError (UNKNOWN_SITUATION, UNKNOWN_OPTION, DUPLICATE_ANSWER) with the answer's path.",
    )
    async def navigate(self, service_code: str, answers: list[NavigationAnswerInput] | None = None) -> NavigateResult:
        given = [navigation.Answer(str(a.situation_id), a.option_key) for a in answers or []]
        try:
            guide = await navigation.navigate(service_code, given)
        except NotFound as exc:
            return NotFoundError(code=exc.code, message=exc.message, path=exc.path)
        except InvalidInput as exc:
            return InvalidInputError(code=exc.code, message=exc.message, path=exc.path)
        return NavigationGuide.of(guide)
