"""Issuing a licence at 办结 (domain.md §8.1, §11.5): a LOCAL_ISSUED licence in the holder's wallet.

The caller (applications' result issuing) passes its connection: the licence, its 新发 operation and the
`licenses.issued` outbox row commit with the case's completion or not at all.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime

from tortoise.backends.base.client import BaseDBAsyncClient

from api.kit.clock import shanghai_date
from api.kit.errors import InvalidInput
from api.licenses import identifiers
from api.models import ELicense, LicenseOperation, LicenseStatus, Organization, OutboxEvent

ISSUED_TOPIC = "licenses.issued"
OP_NEW = "01"  # 新发
# The licence type code is 21 characters; a shorter (or empty) one cannot make a valid GB/T 36904 identifier.
TYPE_CODE_LENGTH = 21


@dataclass(frozen=True)
class Holder:
    """持证主体: a person or an enterprise, with the ID type (GA/T 2000.156 or 001 USCC) and its lookup hash."""

    name: str
    id_type: str
    id_hash: str
    person_id: uuid.UUID | None = None
    enterprise_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Issue:
    """What the issuing department decided: the type, the number, the surface (照面信息) and the term."""

    type_code: str
    type_name: str
    holder: Holder
    area_code: str
    surface: list[dict[str, str]] = field(default_factory=list)
    cert_number: str = ""
    valid_from: date | None = None
    valid_to: date | None = None  # None: open-ended (most identity and registration certificates)
    application_id: uuid.UUID | None = None
    project_no: str = ""
    associated_prev_identifier: str | None = None


async def issue(request: Issue, issuer: Organization, actor: str, now: datetime, db: BaseDBAsyncClient) -> ELicense:
    """Create the licence, record 新发 and announce it; refuses a type or term that cannot make a valid licence."""
    if len(request.type_code) != TYPE_CODE_LENGTH:
        raise InvalidInput("the item names no valid licence type code", code="LICENSE_TYPE_MISSING")
    if request.holder.person_id is None and request.holder.enterprise_id is None:
        raise InvalidInput("a licence needs a holder", code="LICENSE_HOLDER_MISSING")
    today = shanghai_date(now)
    valid_from = request.valid_from or today
    if request.valid_to is not None and request.valid_to < valid_from:
        raise InvalidInput("the licence would expire before it starts", path=["validTo"], code="INVALID_TERM")
    licence_id = uuid.uuid4()
    # The serial is the issue date plus the row id: unique without a counter, and traceable to the row.
    serial = f"{today:%Y%m%d}{licence_id.hex.upper()}"
    identifier = identifiers.build(request.type_code, issuer.uscc, serial, 1)
    licence = await ELicense.create(
        using_db=db,
        id=licence_id,
        cert_identifier=identifier,
        identifier_valid=True,
        type_code=request.type_code,
        type_name=request.type_name,
        cert_number=request.cert_number or serial,
        name=request.type_name,
        issuer_name=issuer.name,
        issuer_uscc=issuer.uscc,
        area_code=request.area_code,
        holder_name=request.holder.name,
        holder_id_type=request.holder.id_type,
        holder_id_hash=request.holder.id_hash,
        holder_person_id=request.holder.person_id,
        holder_enterprise_id=request.holder.enterprise_id,
        issue_date=today,
        valid_from=valid_from,
        valid_to=request.valid_to,
        status=LicenseStatus.VALID,
        surface=request.surface,
        trust_grade="A",
        source="LOCAL_ISSUED",
        associated_prev_identifier=request.associated_prev_identifier,
    )
    reason = f"新发（办件 {request.project_no}）" if request.project_no else "新发"
    await LicenseOperation.create(
        using_db=db, id=uuid.uuid4(), elicense_id=licence.id, operation=OP_NEW, reason=reason, actor=actor
    )
    await OutboxEvent.create(
        using_db=db,
        topic=ISSUED_TOPIC,
        key=str(licence.id),
        state_version=1,  # a licence is issued once; later operations get their own topics
        payload={
            "licenseId": str(licence.id),
            "certIdentifier": identifier,
            "typeCode": request.type_code,
            "name": request.type_name,
            "holderPersonId": str(request.holder.person_id) if request.holder.person_id else None,
            "holderEnterpriseId": str(request.holder.enterprise_id) if request.holder.enterprise_id else None,
            "issuerUscc": issuer.uscc,
            "applicationId": str(request.application_id) if request.application_id else None,
            "projectNo": request.project_no,
            "validTo": request.valid_to.isoformat() if request.valid_to else None,
        },
        created_at=now,
    )
    return licence
