"""Segments (notifications.md §C3): the DSL (segment_dsl), previews with masked samples, stored segments, and
the recipients of a segment in keyset pages for the campaign snapshot.

Targets are users (persons). A person root is its own recipient; an enterprise maps to its designated contacts
(the legal representative, found by the keyed ID hash, then its active staff agents, 经办人); a licence to its
holder person or, for an enterprise holder, that enterprise's contacts.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time

from api.kit.clock import SHANGHAI, shanghai_date
from api.models.identity import AgentAuthorization, AgentKind, Enterprise, Person, PrincipalType
from api.models.notifications import Segment
from notifications.deps import NotificationsDeps
from notifications.errors import NotificationsError, NotificationsErrorCode
from notifications.masking import mask_name, mask_phone
from notifications.segment_dsl import CompiledSegment, Root, SegmentSpec, compile_segment, parse_segment

__all__ = [
    "MaskedRecipient",
    "Recipient",
    "RecipientPage",
    "SegmentPreview",
    "SegmentSpec",
    "compile_segment",
    "create_segment",
    "iterate_recipients",
    "parse_segment",
    "preview_segment",
    "recipient_page",
    "segment_spec",
]

SAMPLE_SIZE = 10


@dataclass(frozen=True)
class Recipient:
    page_key: str  # the root id: the keyset position after this root
    user_id: uuid.UUID
    root_id: str
    params: dict[str, str] = field(default_factory=dict)  # root fields a template may show (licence name, …)


@dataclass(frozen=True)
class MaskedRecipient:
    name: str
    phone: str
    region_code: str


@dataclass(frozen=True)
class SegmentPreview:
    count: int
    sample: list[MaskedRecipient]


async def preview_segment(deps: NotificationsDeps, dsl: object) -> SegmentPreview:
    """How many root entities match now, and a masked sample of 10 (no ID numbers ever)."""
    compiled = compile_segment(parse_segment(dsl), shanghai_date(deps.clock.now()))
    query = compiled.model.filter(compiled.q)
    count = await query.count()
    return SegmentPreview(count=count, sample=await _sample(compiled))


async def create_segment(deps: NotificationsDeps, actor_id: uuid.UUID, name: str, dsl: object) -> Segment:
    """Store a validated segment; saving the same name again stores a new row (a campaign pins the row it used)."""
    parse_segment(dsl)
    name = name.strip() if isinstance(name, str) else ""
    if not name or len(name) > 128:
        raise NotificationsError(NotificationsErrorCode.INVALID_INPUT, "a name of 1 to 128 characters", path=["name"])
    assert isinstance(dsl, dict)  # parse_segment accepts objects only
    return await Segment.create(name=name, dsl=dsl, version=1, created_by=actor_id)


async def segment_spec(segment_id: uuid.UUID) -> SegmentSpec | None:
    row = await Segment.get_or_none(id=segment_id)
    return parse_segment(row.dsl) if row is not None else None


async def iterate_recipients(
    spec: SegmentSpec, today: date, after: str | None, limit: int = 1000, *, at: datetime | None = None
) -> list[Recipient]:
    """The recipients of the next `limit` root entities after keyset position `after`, in root id order.
    `at` decides which agent authorisations are active (default: the start of `today`). A page of roots without
    any contact is empty without being the end: use recipient_page to walk a whole segment."""
    return (await recipient_page(spec, today, after, limit, at=at)).recipients


@dataclass(frozen=True)
class RecipientPage:
    recipients: list[Recipient]
    last_key: str | None  # the keyset position after this page (None: no root in it)
    done: bool  # fewer roots than asked for: nothing after this page


async def recipient_page(
    spec: SegmentSpec, today: date, after: str | None, limit: int = 1000, *, at: datetime | None = None
) -> RecipientPage:
    compiled = compile_segment(spec, today)
    moment = at or datetime.combine(today, time(0), SHANGHAI)
    query = compiled.model.filter(compiled.q)
    if after is not None:
        query = query.filter(id__gt=uuid.UUID(after))
    query = query.order_by("id").limit(limit)
    recipients: list[Recipient]
    if compiled.root is Root.PERSON:
        ids = [_uuid(i) for i in await query.values_list("id", flat=True)]
        keys = [str(i) for i in ids]
        recipients = [Recipient(page_key=k, user_id=i, root_id=k) for i, k in zip(ids, keys, strict=True)]
    elif compiled.root is Root.ENTERPRISE:
        rows = await query.values_list("id", "name")
        keys = [str(r[0]) for r in rows]
        contacts = await enterprise_contacts([_uuid(k) for k in keys], moment)
        recipients = [
            Recipient(page_key=str(ent), user_id=user, root_id=str(ent), params={"enterpriseName": str(name)})
            for ent, name in rows
            for user in contacts.get(_uuid(ent), [])
        ]
    else:
        licences = await query.values_list(*LICENCE_COLUMNS)
        keys = [str(r[0]) for r in licences]
        recipients = await _licence_recipients(licences, moment)
    return RecipientPage(recipients, keys[-1] if keys else None, len(keys) < limit)


LICENCE_COLUMNS = ("id", "holder_person_id", "holder_enterprise_id", "name", "type_name", "valid_to", "holder_name")


async def _licence_recipients(rows: Iterable[tuple[object, ...]], moment: datetime) -> list[Recipient]:
    rows = list(rows)
    contacts = await enterprise_contacts([_uuid(r[2]) for r in rows if r[1] is None and r[2] is not None], moment)
    out: list[Recipient] = []
    for lid, person, enterprise, name, type_name, valid_to, holder in rows:
        params = {
            "licenseName": str(name),
            "licenseType": str(type_name),
            "validTo": valid_to.isoformat() if isinstance(valid_to, date) else "",
            "holderName": str(holder),
        }
        users = [_uuid(person)] if person is not None else contacts.get(_uuid(enterprise), []) if enterprise else []
        out.extend(Recipient(page_key=str(lid), user_id=u, root_id=str(lid), params=params) for u in users)
    return out


async def enterprise_contacts(enterprise_ids: list[uuid.UUID], at: datetime) -> dict[uuid.UUID, list[uuid.UUID]]:
    """Each enterprise's contacts: its legal representative's person row, then its active staff agents.
    Two queries per page whatever its size."""
    if not enterprise_ids:
        return {}
    hashes = dict(await Enterprise.filter(id__in=enterprise_ids).values_list("id", "legal_rep_id_hash"))
    reps = dict(
        await Person.filter(id_number_hash__in=list(set(hashes.values())), merged_into_id__isnull=True).values_list(
            "id_number_hash", "id"
        )
    )
    agents = await AgentAuthorization.filter(
        principal_type=PrincipalType.ENTERPRISE,
        principal_id__in=enterprise_ids,
        kind=AgentKind.STAFF,
        revoked_at__isnull=True,
        valid_from__lte=at,
        valid_to__gt=at,
    ).values_list("principal_id", "agent_person_id")
    contacts: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    for ent, rep_hash in hashes.items():
        if rep_hash in reps:
            contacts[_uuid(ent)].append(_uuid(reps[rep_hash]))
    for ent, person in agents:
        if _uuid(person) not in contacts[_uuid(ent)]:
            contacts[_uuid(ent)].append(_uuid(person))
    return contacts


async def _sample(compiled: CompiledSegment) -> list[MaskedRecipient]:
    query = compiled.model.filter(compiled.q).order_by("id").limit(SAMPLE_SIZE)
    if compiled.root is Root.PERSON:
        rows = await query.values_list("name", "mobile", "region_code")
        return [MaskedRecipient(mask_name(n), mask_phone(m), r or "") for n, m, r in rows]
    if compiled.root is Root.ENTERPRISE:
        ents = await query.values_list("name", "legal_rep_id_hash", "region_code")
        phones = await _phones_by_hash([h for _, h, _ in ents])
        # An enterprise's registered name is public; its representative's phone is not.
        return [MaskedRecipient(str(n), mask_phone(phones.get(h)), str(r)) for n, h, r in ents]
    lic = await query.values_list("holder_person_id", "holder_enterprise_id", "holder_name", "area_code")
    persons = dict(await Person.filter(id__in=[p for p, *_ in lic if p]).values_list("id", "mobile"))
    ent_hashes = dict(
        await Enterprise.filter(id__in=[e for _, e, *_ in lic if e]).values_list("id", "legal_rep_id_hash")
    )
    phones = await _phones_by_hash(list(ent_hashes.values()))
    sample = []
    for person, enterprise, holder, area in lic:
        if person is not None:
            sample.append(MaskedRecipient(mask_name(holder), mask_phone(persons.get(person)), str(area)))
        else:
            sample.append(
                MaskedRecipient(str(holder), mask_phone(phones.get(str(ent_hashes.get(enterprise)))), str(area))
            )
    return sample


async def _phones_by_hash(hashes: list[str]) -> dict[str, str]:
    rows = await Person.filter(id_number_hash__in=hashes).values_list("id_number_hash", "mobile")
    return {h: m for h, m in rows if h is not None and m is not None}


def _uuid(value: object) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
