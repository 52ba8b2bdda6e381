"""情景式导航 (domain.md §5.2): an item's 情形 as questions; the answers narrow the material list.

Rules. A material is *tied* when some option of some situation lists it in `require`. The materials that apply
are the untied ones plus those required by a chosen option, minus those excluded by a chosen option (an exclusion
wins over a requirement). A situation left unanswered adds nothing; the guide says which questions are still open
(`complete` false), so a client can show the base list at once and refine it as the user answers.

Five SQL statements whatever the number of situations, materials, windows or fees.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from api.kit.errors import InvalidInput, NotFound
from api.models import FeeItem, ItemStatus, MaterialRequirement, ServiceItem, ServiceLocation, Situation

MAX_ANSWERS = 100


@dataclass(frozen=True)
class Answer:
    situation_id: str
    option_key: str


@dataclass(frozen=True)
class Question:
    situation: Situation
    chosen: str | None


@dataclass(frozen=True)
class Guide:
    item: ServiceItem
    questions: list[Question]
    materials: list[tuple[MaterialRequirement, str | None]]  # material, the option key that required it (None: base)
    locations: list[ServiceLocation]
    fees: list[FeeItem]

    @property
    def complete(self) -> bool:
        return all(q.chosen is not None for q in self.questions)


async def published_item(service_code: str) -> ServiceItem:
    code = service_code.strip()
    row = (
        await ServiceItem.filter(task_code=code, status=ItemStatus.PUBLISHED, cancel_at__isnull=True)
        .order_by("-version")
        .first()
        if code
        else None
    )
    if row is None:
        raise NotFound("no published service has this code", path=["serviceCode"], code="SERVICE_NOT_FOUND")
    return row


def _keys(raw: object) -> set[str]:
    return {str(v) for v in raw} if isinstance(raw, list) else set()


async def navigate(service_code: str, answers: Sequence[Answer]) -> Guide:
    if len(answers) > MAX_ANSWERS:
        raise InvalidInput(f"at most {MAX_ANSWERS} answers", path=["answers"], code="TOO_MANY_ANSWERS")
    item = await published_item(service_code)
    situations = await Situation.filter(service_item_id=item.id).order_by("order", "id")
    by_id = {str(s.id): s for s in situations}
    chosen: dict[str, str] = {}
    for i, answer in enumerate(answers):
        situation = by_id.get(answer.situation_id.strip())
        if situation is None:
            raise InvalidInput(
                "this service has no such situation", path=["answers", str(i), "situationId"], code="UNKNOWN_SITUATION"
            )
        if str(situation.id) in chosen:
            raise InvalidInput(
                "this situation is answered twice", path=["answers", str(i), "situationId"], code="DUPLICATE_ANSWER"
            )
        keys = {str(o.get("key")) for o in situation.options if isinstance(o, dict)}
        if answer.option_key not in keys:
            raise InvalidInput(
                "this situation has no such option", path=["answers", str(i), "optionKey"], code="UNKNOWN_OPTION"
            )
        chosen[str(situation.id)] = answer.option_key
    tied: set[str] = set()
    required: dict[str, str] = {}
    excluded: set[str] = set()
    for situation in situations:
        for option in situation.options:
            if not isinstance(option, dict):
                continue
            require = _keys(option.get("require"))
            tied |= require
            if chosen.get(str(situation.id)) == str(option.get("key")):
                for material_id in require:
                    required.setdefault(material_id, str(option.get("key")))
                excluded |= _keys(option.get("exclude"))
    materials = await MaterialRequirement.filter(service_item_id=item.id).order_by("order", "id")
    applying: list[tuple[MaterialRequirement, str | None]] = []
    for material in materials:
        mid = str(material.id)
        if mid in excluded:
            continue
        if mid not in tied:
            applying.append((material, None))
        elif mid in required:
            applying.append((material, required[mid]))
    locations = await ServiceLocation.filter(service_item_id=item.id).order_by("order", "id")
    fees = await FeeItem.filter(service_item_id=item.id).order_by("order", "id")
    questions = [Question(s, chosen.get(str(s.id))) for s in situations]
    return Guide(item, questions, applying, locations, fees)
