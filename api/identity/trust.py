"""Trust transfer (信任传递) from the provincial unified identity platform.

The platform has verified the person's name and ID number; its `authlevel` maps onto our levels
(domain.md §6.2). A verified ID number is an authoritative identity, so an SSO sign-in reaches the account that
already holds that verified ID number: this is a join by a higher-level identity, never by name.
"""

from __future__ import annotations

import uuid

from tortoise.transactions import in_transaction

from api.identity import accounts, signin
from api.identity.deps import IdentityDeps
from api.identity.sessions import SessionStart
from api.identity.signin import SignedIn
from api.kit.codes import is_valid_id_number
from api.kit.errors import Conflict
from api.kit.ids import new_id
from api.models import AssuranceLevel, AuthMethod, BindingProvider, IdentityBinding, Person, SessionChannel
from api.platforms.province_sso import ProvinceIdentity

# 浙里办-style claim: 1 非实名, 2 初级实名, 3 高级实名.
_AUTHLEVEL = {"1": AssuranceLevel.L0, "2": AssuranceLevel.L1, "3": AssuranceLevel.L2}


def map_authlevel(raw: str) -> AssuranceLevel:
    return _AUTHLEVEL.get(raw.strip(), AssuranceLevel.L0)


async def complete_province(
    deps: IdentityDeps,
    code: str,
    state: str,
    *,
    link_person_id: uuid.UUID | None,
    channel: SessionChannel,
    device: str,
    ip: str,
) -> SignedIn:
    identity = await signin.exchange_province(deps, code, state)
    level = map_authlevel(identity.authlevel)
    verified_id = (
        identity.id_number.upper() if level >= AssuranceLevel.L1 and is_valid_id_number(identity.id_number) else None
    )
    if verified_id is None:
        # A real-name claim is only as good as the ID number it names: a malformed one proves nothing.
        level = AssuranceLevel.L0
    id_hash = deps.pii.lookup_hash(verified_id) if verified_id else None
    async with in_transaction():
        person, created = await _resolve(deps, identity, id_hash, link_person_id)
        await _raise_level(deps, person, identity, level, verified_id, id_hash)
    tokens = await signin.start_session(deps, person, SessionStart(AuthMethod.PROVINCE_SSO, level, channel, device, ip))
    return SignedIn(person, tokens, created)


async def _resolve(
    deps: IdentityDeps, identity: ProvinceIdentity, id_hash: str | None, link_person_id: uuid.UUID | None
) -> tuple[Person, bool]:
    bound = await accounts.person_by_binding(BindingProvider.PROVINCE_SSO, identity.subject)
    holder = await Person.get_or_none(id_number_hash=id_hash) if id_hash else None
    if bound is not None:
        if link_person_id is not None and bound.id != link_person_id:
            raise Conflict("this provincial identity belongs to another account", code="IDENTITY_ALREADY_BOUND")
        if holder is not None and holder.id != bound.id:
            # The identity's account and the holder of its now verified ID number are two accounts: never join
            # them silently (nor fail on the unique hash).
            raise Conflict("this ID number belongs to another account", code="IDENTITY_MISMATCH")
        return bound, False
    created = False
    if link_person_id is not None:
        person = await Person.get(id=link_person_id)
        if holder is not None and holder.id != person.id:
            raise Conflict("this ID number belongs to another account", code="IDENTITY_MISMATCH")
        if person.id_number_hash and id_hash and person.id_number_hash != id_hash:
            raise Conflict("the provincial identity is another person", code="IDENTITY_MISMATCH")
    elif holder is not None:
        person = holder
    else:
        person = await Person.create(id=new_id(), assurance_level=AssuranceLevel.L0)
        created = True
    await IdentityBinding.create(
        id=new_id(),
        person=person,
        provider=BindingProvider.PROVINCE_SSO,
        subject_id=identity.subject,
        raw_level=identity.authlevel,
        linked_at=deps.clock.now(),
    )
    return person, created


async def _raise_level(
    deps: IdentityDeps,
    person: Person,
    identity: ProvinceIdentity,
    level: AssuranceLevel,
    verified_id: str | None,
    id_hash: str | None,
) -> None:
    changed: list[str] = []
    if level > person.assurance_level:
        person.assurance_level = level
        person.verified_at = deps.clock.now()
        person.verified_by = "LINKED_PLATFORM"
        changed += ["assurance_level", "verified_at", "verified_by"]
    if verified_id and not person.id_number_hash:
        person.id_number_encrypted = deps.pii.encrypt(verified_id)
        person.id_number_hash = id_hash
        person.id_type = "111"
        changed += ["id_number_encrypted", "id_number_hash", "id_type"]
    if verified_id and identity.name and person.name != identity.name:
        person.name = identity.name
        changed.append("name")
    await IdentityBinding.filter(provider=BindingProvider.PROVINCE_SSO, subject_id=identity.subject).update(
        raw_level=identity.authlevel
    )
    if changed:
        await person.save(update_fields=changed)
