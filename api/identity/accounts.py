"""Finding and creating the one account of a person behind a provider identity."""

from __future__ import annotations

import uuid

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from api.identity.deps import IdentityDeps
from api.kit.errors import Conflict
from api.kit.ids import new_id
from api.models import AssuranceLevel, BindingProvider, IdentityBinding, Person

# Possession of a bound credential (phone, WeChat, Alipay) carries the account's verified level into the
# session, but never L3: that needs the CA/UKey/电子营业执照 login itself (domain.md §6.2).
POSSESSION_CEILING = AssuranceLevel.L2


def session_level(person: Person, proven: AssuranceLevel = AssuranceLevel.L0) -> AssuranceLevel:
    return AssuranceLevel(max(int(proven), min(int(person.assurance_level), int(POSSESSION_CEILING))))


async def person_by_binding(provider: BindingProvider, subject_id: str) -> Person | None:
    binding = await IdentityBinding.filter(provider=provider, subject_id=subject_id).select_related("person").first()
    if binding is None:
        return None
    person = binding.person
    if person.merged_into_id is not None:
        merged = await Person.get_or_none(id=person.merged_into_id)
        return merged or person
    return person


async def find_or_create(
    deps: IdentityDeps,
    provider: BindingProvider,
    subject_id: str,
    *,
    union_id: str | None = None,
    mobile: str | None = None,
) -> Person:
    """The person bound to this provider identity; a new L0 account when there is none.

    Accounts are never joined by name: a second identity reaches an existing account only through an explicit
    bind from a session of that account (bindings.py).
    """
    existing = await person_by_binding(provider, subject_id)
    if existing is not None:
        return existing
    if mobile is not None:
        by_phone = await Person.get_or_none(mobile=mobile, merged_into_id=None)
        if by_phone is not None:
            # The phone was proven by the code just consumed: it is this account's own credential.
            await _bind(deps, by_phone.id, provider, subject_id, union_id)
            return by_phone
    try:
        async with in_transaction():
            person = await Person.create(id=new_id(), mobile=mobile, assurance_level=AssuranceLevel.L0)
            await IdentityBinding.create(
                id=new_id(),
                person=person,
                provider=provider,
                subject_id=subject_id,
                union_id=union_id,
                linked_at=deps.clock.now(),
            )
            return person
    except IntegrityError:
        # A concurrent first sign-in of the same identity won the race: use its account.
        raced = await person_by_binding(provider, subject_id)
        if raced is None and mobile is not None:
            raced = await Person.get_or_none(mobile=mobile)
        if raced is None:
            raise
        return raced


async def _bind(
    deps: IdentityDeps, person_id: uuid.UUID, provider: BindingProvider, subject_id: str, union_id: str | None
) -> None:
    try:
        await IdentityBinding.create(
            id=new_id(),
            person_id=person_id,
            provider=provider,
            subject_id=subject_id,
            union_id=union_id,
            linked_at=deps.clock.now(),
        )
    except IntegrityError:
        if not await IdentityBinding.filter(provider=provider, subject_id=subject_id, person_id=person_id).exists():
            raise Conflict("this identity is bound to another account", code="IDENTITY_ALREADY_BOUND") from None
