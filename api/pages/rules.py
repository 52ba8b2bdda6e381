"""Pure rules of the home pages: days left, region ancestry, renewal items, life events, policy eligibility.

No I/O here: the loaders in `personal` and `enterprise` read rows, these functions decide.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from api.kit.codes import is_ascii_digits

EXPIRY_WINDOW_DAYS = 90
NEWBORN_WINDOW_DAYS = 365
RETIREMENT_AGE = 60
RENEWAL_WORDS = ("延续", "换领", "换证")
BIRTH_CERTIFICATE_TYPE_NAME = "出生医学证明"


class LifeEvent(StrEnum):
    """`Bundle.life_event` codes the page recommends; a bundle also matches by its seeded name."""

    NEWBORN = "NEWBORN"
    RETIREMENT = "RETIREMENT"


LIFE_EVENT_BUNDLE_NAMES: dict[LifeEvent, str] = {
    LifeEvent.NEWBORN: "新生儿出生一件事",
    LifeEvent.RETIREMENT: "退休一件事",
}
LIFE_EVENT_TEXT: dict[LifeEvent, str] = {
    LifeEvent.NEWBORN: "家中有新生儿，出生医学证明、出生登记、医保参保和社保卡可一次办理",
    LifeEvent.RETIREMENT: "您已年满60周岁，退休审批、养老金核定和医保待遇变更可一次办理",
}


@dataclass(frozen=True, slots=True)
class ItemSummary:
    """A published service item as the pages read it (a `.values()` projection, no model instance)."""

    id: uuid.UUID
    task_code: str
    name: str
    version: int
    region_code: str
    online_depth_level: int
    mobile_url: str
    popularity: int
    elicense_type_code: str
    result_name: str
    keywords: tuple[str, ...]
    person_topics: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class BundleSummary:
    """A resident's 一件事 as the pages read it."""

    id: uuid.UUID
    code: str
    name: str
    life_event: str


def days_left(valid_to: date, today: date) -> int:
    return (valid_to - today).days


def age_on(birth_date: date, today: date) -> int:
    return today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))


def region_ancestors(region_code: str | None) -> list[str]:
    """A 12-digit GB/T 2260 code and the codes above it (district → city → province): the regions serving it."""
    if not region_code or len(region_code) != 12 or not is_ascii_digits(region_code):
        return []
    found = [region_code]
    for keep in (9, 6, 4, 2):
        ancestor = region_code[:keep].ljust(12, "0")
        if ancestor not in found and ancestor[:2] != "00":
            found.append(ancestor)
    return found


def life_events(
    *,
    birth_date: date | None,
    ward_birth_dates: Iterable[date | None],
    birth_certificates_issued: Iterable[date],
    today: date,
) -> list[LifeEvent]:
    """NEWBORN: a live GUARDIAN authorization held by the caller for a ward born within the last year, or a VALID
    出生医学证明 in the caller's wallet issued within the last year. RETIREMENT: the caller is 60 or older."""
    events: list[LifeEvent] = []
    recent = [d for d in ward_birth_dates if d is not None and 0 <= (today - d).days <= NEWBORN_WINDOW_DAYS]
    recent += [d for d in birth_certificates_issued if 0 <= (today - d).days <= NEWBORN_WINDOW_DAYS]
    if recent:
        events.append(LifeEvent.NEWBORN)
    if birth_date is not None and age_on(birth_date, today) >= RETIREMENT_AGE:
        events.append(LifeEvent.RETIREMENT)
    return events


def bundle_event(bundle: BundleSummary) -> LifeEvent | None:
    if bundle.life_event in LifeEvent.__members__:
        return LifeEvent(bundle.life_event)
    for event, name in LIFE_EVENT_BUNDLE_NAMES.items():
        if bundle.name == name:
            return event
    return None


def says_renewal(item: ItemSummary) -> bool:
    return any(word in item.name or word in keyword for word in RENEWAL_WORDS for keyword in [*item.keywords, ""])


def renewal_item(
    type_code: str, type_name: str, candidates: Sequence[ItemSummary], regions: Sequence[str]
) -> ItemSummary | None:
    """The item that renews a licence type: its result e-licence type is the licence's, or (an item without a
    result type) its result name is the licence type name and its name or keywords say 延续/换领/换证. Items that
    say renewal come first, then those serving the caller's region, then the most popular."""
    matching = [
        item
        for item in candidates
        if (item.elicense_type_code and item.elicense_type_code == type_code)
        or (not item.elicense_type_code and item.result_name == type_name and says_renewal(item))
    ]
    if not matching:
        return None
    return min(
        matching,
        key=lambda item: (not says_renewal(item), item.region_code not in regions, -item.popularity, item.task_code),
    )


def latest_versions(items: Iterable[ItemSummary]) -> list[ItemSummary]:
    """One row per 实施编码: the highest published version."""
    best: dict[str, ItemSummary] = {}
    for item in items:
        seen = best.get(item.task_code)
        if seen is None or item.version > seen.version:
            best[item.task_code] = item
    return list(best.values())


# ------------------------------------------------------------------------------------------------ policies


class PolicyRule(StrEnum):
    INDUSTRY = "INDUSTRY"
    SIZE = "SIZE"
    REGION = "REGION"


@dataclass(frozen=True)
class RuleMatch:
    rule: PolicyRule
    required: list[str]  # empty: any value
    value: str  # the enterprise's value
    matched_by: str | None  # the required value (or prefix) that matched; None when any value matches


_ELIGIBILITY_KEYS: tuple[tuple[PolicyRule, str, bool], ...] = (
    (PolicyRule.INDUSTRY, "industry_codes", True),
    (PolicyRule.SIZE, "sizes", False),
    (PolicyRule.REGION, "region_codes", True),
)


def _holds(required: str, value: str, by_prefix: bool, rule: PolicyRule) -> bool:
    if not by_prefix:
        return value == required
    if rule is PolicyRule.REGION:
        # A 12-digit region code stands for its whole area: 990100000000 covers 990102000000.
        required = required.rstrip("0") or required
        while len(required) % 2:
            required += "0"
    return value.startswith(required)


def match_policy(
    eligibility: dict[str, list[str]], *, industry_code: str, size: str, region_code: str
) -> list[RuleMatch] | None:
    """The rules matched when every rule holds (an empty list matches any value; industry and region codes match
    by prefix, sizes exactly); None when one fails."""
    values = {PolicyRule.INDUSTRY: industry_code, PolicyRule.SIZE: size, PolicyRule.REGION: region_code}
    matched: list[RuleMatch] = []
    for rule, key, by_prefix in _ELIGIBILITY_KEYS:
        required = [str(v) for v in (eligibility.get(key) or []) if str(v)]
        value = values[rule]
        if not required:
            matched.append(RuleMatch(rule, [], value, None))
            continue
        hit = next((r for r in required if value and _holds(r, value, by_prefix, rule)), None)
        if hit is None:
            return None
        matched.append(RuleMatch(rule, required, value, hit))
    return matched
