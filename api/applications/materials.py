"""Which materials an application carries, and how each was provided (domain.md §8.2, 国办函〔2016〕108号).

The client names a requirement and a way: an upload (grade C until checked against the original), a licence of
the applicant's wallet (A), the same material verified at a window for an earlier case of the applicant (B), or a
commitment (告知承诺, D) where the requirement allows one. Whatever the client leaves out is completed here: a
required material that a valid wallet licence satisfies is attached from the wallet (never asked for again), one
the department obtains by data sharing is recorded as such, and only what remains missing is refused. Optional
materials are attached from the wallet only when the client asks for them: nothing is shared that is not needed.
Situations (情形) decide which requirements apply. Everything is checked before anything is written, and every
problem is reported at once with its path.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q

from api.kit.ids import new_id
from api.models import (
    Application,
    ApplicationMaterial,
    ELicense,
    LicenseStatus,
    LicenseUse,
    LicenseUseType,
    MaterialRequirement,
    ProvidedVia,
    Situation,
)

REQUIRED = "REQUIRED"
TOLERATED_LATER = "TOLERATED_LATER"  # 容缺: may be handed in after acceptance
DATA_SHARING = "DATA_SHARING"
MAX_FILE_ID = 200
CLIENT_WAYS = frozenset({ProvidedVia.UPLOAD, ProvidedVia.ELICENSE, ProvidedVia.REUSED, ProvidedVia.COMMITMENT})
GRADES = {
    ProvidedVia.UPLOAD: "C",
    ProvidedVia.ELICENSE: "A",
    ProvidedVia.DATA_SHARING: "A",
    ProvidedVia.REUSED: "B",
    ProvidedVia.COMMITMENT: "D",
}


@dataclass(frozen=True)
class MaterialClaim:
    """One material as the client sent it; `index` is its position in the input list (for error paths)."""

    index: int
    requirement_id: uuid.UUID | None
    via: ProvidedVia
    file_id: str = ""
    licence_id: uuid.UUID | None = None
    reused_material_id: uuid.UUID | None = None


@dataclass(frozen=True)
class SituationAnswer:
    index: int
    situation_id: uuid.UUID | None
    option_key: str


@dataclass(frozen=True)
class Problem:
    path: list[str]
    code: str
    message: str
    field: str = ""  # the requirement name or the '/'-separated form field, for display


@dataclass(frozen=True)
class Wallet:
    """Whose licences and earlier materials the application may use: the applicant's own."""

    person_id: uuid.UUID | None
    enterprise_id: uuid.UUID | None

    def q(self) -> Q:
        if self.enterprise_id is not None:
            return Q(holder_enterprise_id=self.enterprise_id)
        return Q(holder_person_id=self.person_id)

    def holds(self, licence: ELicense) -> bool:
        if self.enterprise_id is not None:
            return licence.holder_enterprise_id == self.enterprise_id
        return licence.holder_person_id is not None and licence.holder_person_id == self.person_id


@dataclass
class Resolved:
    """Rows to insert (without application id) and the wallet licences used, once everything checked out."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    licence_ids: list[uuid.UUID] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    licence_names: dict[uuid.UUID, tuple[str, str]] = field(default_factory=dict)  # id → (name, 证照标识)


def usable(licence: ELicense, today: date) -> bool:
    return (
        licence.status == LicenseStatus.VALID
        and licence.valid_from <= today
        and (licence.valid_to is None or licence.valid_to >= today)
    )


def applicable(
    requirements: Sequence[MaterialRequirement],
    situations: Sequence[Situation],
    answers: Sequence[SituationAnswer],
    problems: list[Problem],
) -> tuple[set[str], set[str]]:
    """(required ids, excluded ids) after the situation answers; bad answers become problems."""
    by_id = {str(s.id): s for s in situations}
    required = {str(r.id) for r in requirements if r.necessity == REQUIRED}
    excluded: set[str] = set()
    seen: set[str] = set()
    for answer in answers:
        situation = by_id.get(str(answer.situation_id)) if answer.situation_id else None
        if situation is None:
            problems.append(
                Problem(
                    ["situations", str(answer.index), "situationId"],
                    "UNKNOWN_SITUATION",
                    "no such situation for this service",
                )
            )
            continue
        if str(situation.id) in seen:
            problems.append(
                Problem(["situations", str(answer.index)], "DUPLICATE_ANSWER", "this situation is answered twice")
            )
            continue
        seen.add(str(situation.id))
        option = next((o for o in situation.options if o.get("key") == answer.option_key), None)
        if option is None:
            problems.append(
                Problem(
                    ["situations", str(answer.index), "optionKey"],
                    "UNKNOWN_OPTION",
                    f"not an answer of 「{situation.question}」",
                )
            )
            continue
        required |= {str(x) for x in option.get("require", [])}
        excluded |= {str(x) for x in option.get("exclude", [])}
    return required - excluded, excluded


def licences_to_load(
    requirements: Sequence[MaterialRequirement], claims: Sequence[MaterialClaim], wallet: Wallet
) -> tuple[Q, bool]:
    """One query for every licence the application may use: the claimed ones (whoever holds them, so that a
    licence of someone else is refused by name) and the wallet's licences of the accepted types."""
    codes = {code for r in requirements for code in r.elicense_type_codes}
    claimed = [c.licence_id for c in claims if c.via is ProvidedVia.ELICENSE and c.licence_id]
    q = Q(id__in=claimed) if claimed else None
    if codes:
        typed = Q(wallet.q(), type_code__in=sorted(codes))
        q = typed if q is None else q | typed
    return (q if q is not None else Q(id__in=[])), q is not None


def _pick_from_wallet(
    requirement: MaterialRequirement, wallet: Wallet, licences: Sequence[ELicense], today: date
) -> ELicense | None:
    accepted = set(requirement.elicense_type_codes)
    candidates = [x for x in licences if x.type_code in accepted and wallet.holds(x) and usable(x, today)]
    return max(candidates, key=lambda x: (x.issue_date, str(x.id)), default=None)


def _row(requirement: MaterialRequirement, via: ProvidedVia) -> dict[str, Any]:
    return {"requirement_id": requirement.id, "name": requirement.name, "provided_via": via, "trust_grade": GRADES[via]}


def check_claim(
    claim: MaterialClaim,
    requirement: MaterialRequirement,
    wallet: Wallet,
    licences: dict[uuid.UUID, ELicense],
    reused: dict[uuid.UUID, ApplicationMaterial],
    today: date,
    out: Resolved,
) -> None:
    at = ["materials", str(claim.index)]
    if claim.via not in CLIENT_WAYS:
        out.problems.append(
            Problem([*at, "via"], "VIA_NOT_ACCEPTED", "choose upload, wallet licence, reuse or commitment")
        )
        return
    row = _row(requirement, claim.via)
    if claim.via is ProvidedVia.UPLOAD:
        file_id = claim.file_id.strip()
        if not file_id or len(file_id) > MAX_FILE_ID:
            out.problems.append(
                Problem([*at, "fileId"], "FILE_REQUIRED", "an uploaded file is required", requirement.name)
            )
            return
        row["file_id"] = file_id
    elif claim.via is ProvidedVia.ELICENSE:
        licence = licences.get(claim.licence_id) if claim.licence_id else None
        if licence is None or not wallet.holds(licence):
            out.problems.append(
                Problem(
                    [*at, "licenseId"],
                    "LICENSE_NOT_HELD",
                    "no such licence in the applicant's wallet",
                    requirement.name,
                )
            )
            return
        if licence.type_code not in requirement.elicense_type_codes:
            out.problems.append(
                Problem(
                    [*at, "licenseId"],
                    "LICENSE_TYPE_NOT_ACCEPTED",
                    f"「{licence.name}」 is not accepted for 「{requirement.name}」",
                    requirement.name,
                )
            )
            return
        if not usable(licence, today):
            out.problems.append(
                Problem(
                    [*at, "licenseId"], "LICENSE_NOT_VALID", f"「{licence.name}」 is not valid today", requirement.name
                )
            )
            return
        row["elicense_id"] = licence.id
        row["file_id"] = licence.file_id
        out.licence_ids.append(licence.id)
        out.licence_names[licence.id] = (licence.name, licence.cert_identifier)
    elif claim.via is ProvidedVia.REUSED:
        earlier = reused.get(claim.reused_material_id) if claim.reused_material_id else None
        if earlier is None:
            out.problems.append(
                Problem(
                    [*at, "reusedMaterialId"],
                    "REUSED_NOT_FOUND",
                    "no material verified at a window for an earlier application of yours",
                    requirement.name,
                )
            )
            return
        if earlier.requirement_id != requirement.id and earlier.name != requirement.name:
            # Grade B vouches for the original of that material: a verified 分娩记录 is no verified 申请表.
            out.problems.append(
                Problem(
                    [*at, "reusedMaterialId"],
                    "REUSED_OTHER_MATERIAL",
                    f"the verified material is 「{earlier.name}」, not 「{requirement.name}」",
                    requirement.name,
                )
            )
            return
        row["file_id"] = earlier.file_id
        row["elicense_id"] = earlier.elicense_id
    elif not requirement.allow_commitment:
        out.problems.append(
            Problem(
                [*at, "via"],
                "COMMITMENT_NOT_ALLOWED",
                "this material cannot be replaced by a commitment",
                requirement.name,
            )
        )
        return
    out.rows.append(row)


def resolve(
    *,
    requirements: Sequence[MaterialRequirement],
    situations: Sequence[Situation],
    answers: Sequence[SituationAnswer],
    claims: Sequence[MaterialClaim],
    wallet: Wallet,
    licences: Sequence[ELicense],
    reused: Sequence[ApplicationMaterial],
    today: date,
) -> Resolved:
    out = Resolved()
    required, excluded = applicable(requirements, situations, answers, out.problems)
    by_id = {r.id: r for r in requirements}
    licences_by_id = {x.id: x for x in licences}
    reused_by_id = {m.id: m for m in reused}
    provided: set[uuid.UUID] = set()
    for claim in claims:
        requirement = by_id.get(claim.requirement_id) if claim.requirement_id else None
        at = ["materials", str(claim.index), "requirementId"]
        if requirement is None:
            out.problems.append(Problem(at, "UNKNOWN_REQUIREMENT", "no such material for this service"))
            continue
        if requirement.id in provided:
            out.problems.append(Problem(at, "DUPLICATE_MATERIAL", "this material is provided twice", requirement.name))
            continue
        if str(requirement.id) in excluded:
            out.problems.append(
                Problem(at, "NOT_APPLICABLE", "your answers say this material does not apply", requirement.name)
            )
            continue
        provided.add(requirement.id)
        check_claim(claim, requirement, wallet, licences_by_id, reused_by_id, today, out)
    for requirement in requirements:
        wanted = str(requirement.id) in required or requirement.necessity == TOLERATED_LATER
        if requirement.id in provided or not wanted or str(requirement.id) in excluded:
            continue
        licence = _pick_from_wallet(requirement, wallet, licences, today)
        if licence is not None:
            out.rows.append(
                {**_row(requirement, ProvidedVia.ELICENSE), "elicense_id": licence.id, "file_id": licence.file_id}
            )
            out.licence_ids.append(licence.id)
            out.licence_names[licence.id] = (licence.name, licence.cert_identifier)
        elif requirement.source == DATA_SHARING:
            out.rows.append(_row(requirement, ProvidedVia.DATA_SHARING))
        elif str(requirement.id) in required:
            out.problems.append(
                Problem(
                    ["materials", str(requirement.id)],
                    "MATERIAL_MISSING",
                    f"「{requirement.name}」 is required",
                    requirement.name,
                )
            )
    return out


async def reusable(wallet: Wallet, ids: Sequence[uuid.UUID]) -> list[ApplicationMaterial]:
    """Earlier materials of the same applicant that a window verified (grade B once reused)."""
    if not ids:
        return []
    rows = await ApplicationMaterial.filter(id__in=list(ids), verified_at__not_isnull=True)
    if not rows:
        return []
    owner = (
        Q(applicant_enterprise_id=wallet.enterprise_id)
        if wallet.enterprise_id
        else Q(applicant_person_id=wallet.person_id)
    )
    mine = set(
        await Application.filter(owner, id__in=list({r.application_id for r in rows})).values_list("id", flat=True)
    )
    return [r for r in rows if r.application_id in mine]


async def insert(
    app: Application, resolved: Resolved, now: datetime, db: BaseDBAsyncClient, round_no: int = 0
) -> list[ApplicationMaterial]:
    """Store the checked materials of a submission (round 0) or of a 补正 round, and the use of each wallet
    licence, in the caller's transaction."""
    rows = [
        ApplicationMaterial(
            id=new_id(),
            application_id=app.id,
            receive_time=now,
            supplement_round=round_no,
            created_at=now,
            updated_at=now,
            **row,
        )
        for row in resolved.rows
    ]
    if rows:
        await ApplicationMaterial.bulk_create(rows, using_db=db)
    if resolved.licence_ids:
        await LicenseUse.bulk_create(
            [
                LicenseUse(
                    id=new_id(),
                    elicense_id=licence_id,
                    use_type=LicenseUseType.ATTACH_TO_APPLICATION,
                    purpose=f"办件 {app.project_no}（{app.item_name}）",
                    application_id=app.id,
                    detail={"projectNo": app.project_no, "supplementRound": round_no},
                    created_at=now,
                    updated_at=now,
                )
                for licence_id in resolved.licence_ids
            ],
            using_db=db,
        )
    return rows
