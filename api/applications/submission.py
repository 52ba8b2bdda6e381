"""Submitting an application (domain.md §7.2 "Submission"): the one service function behind `submitApplication`.

Everything that can be refused is checked before the transaction: the item version, the applicant and the
caller's right to apply for them, the form against its JSON Schema and every material, each problem reported at
once with its path. Then one transaction allocates the 办件编号, creates the row (status SUBMITTED), inserts the
materials in one statement, records the wallet licences used and appends the SUBMIT event with its
`application.submitted` outbox row; a 即办件 continues straight to its result in the same transaction.

The idempotency key is unique per submitting person. A retry with the same key returns the application created
first (`replayed`); the same key with a different request is a Conflict. The request's fingerprint is kept in
the SUBMIT event's detail, so the comparison needs no extra column.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from api.applications import applicant as applicants
from api.applications import forms, numbering, parts, reading, results
from api.applications import materials as rules
from api.applications.journal import Actor, notice_payload
from api.catalog import read as catalog
from api.identity.tokens import AccessClaims
from api.kit.clock import shanghai_date
from api.kit.codes import normalize_mobile
from api.kit.errors import Conflict, InvalidInput, NotFound
from api.kit.ids import new_id
from api.kit.passwords import hash_password
from api.kit.pii import PiiCipher
from api.models import (
    ActorType,
    Application,
    ApplicationChannel,
    ApplicationEvent,
    ApplicationMaterial,
    ApplicationStatus,
    ELicense,
    EventType,
    ItemStatus,
    OutboxEvent,
    ServiceItem,
)

# 申报来源 accepted from this API: PC and WINDOW applications are recorded by the portal and the window systems.
MOBILE_CHANNELS = frozenset(
    {ApplicationChannel.APP, ApplicationChannel.WECHAT_MP, ApplicationChannel.ALIPAY_MP, ApplicationChannel.H5}
)
MAX_KEY = 64
MAX_MATERIALS = 100
PASSWORD_LENGTH = (6, 32)
INSTANT = "1"
# 网办深度 Ⅱ (收件 or 预约 online) is the least at which an application can be received online (domain.md §4).
ONLINE_APPLICATION_DEPTH = 2


class SubmissionRejected(InvalidInput):
    """The form or the materials were refused; `problems` lists every one of them with its path."""

    def __init__(self, problems: list[rules.Problem]) -> None:
        first = problems[0]
        code = "FORM_INVALID" if first.path and first.path[0] == "formData" else "MATERIALS_INVALID"
        if all(p.code == "MATERIAL_MISSING" for p in problems):
            code = "MATERIALS_MISSING"
        super().__init__(f"{len(problems)} problem(s) to fix: {first.message}", path=first.path, code=code)
        self.problems = problems


@dataclass(frozen=True)
class Contact:
    name: str = ""
    mobile: str = ""
    address: str = ""
    postcode: str = ""


@dataclass(frozen=True)
class DraftOrigin:
    draft_id: uuid.UUID
    content_hash: str
    form_version: str


@dataclass(frozen=True)
class Submission:
    idempotency_key: str
    service_code: str
    channel: ApplicationChannel
    form_data: Any
    version: int | None = None
    handle_item_code: str | None = None
    applicant: applicants.ApplicantChoice = field(default_factory=applicants.ApplicantChoice)
    materials: list[rules.MaterialClaim] = field(default_factory=list)
    situations: list[rules.SituationAnswer] = field(default_factory=list)
    contact: Contact | None = None
    query_password: str | None = None
    # A submission of a synced draft (sync-protocol.md §10): the item version is the one whose form the draft was
    # filled against, the draft's id backs up "one application per draft", and its content hash is kept.
    draft: DraftOrigin | None = None

    def form_to_validate(self) -> Any:
        """A synced draft's form data also holds its `materials` subtree (the person's copy of every file and
        licence reference, sync-protocol.md §5): the item's JSON Schema describes the form fields only."""
        if self.draft is not None and isinstance(self.form_data, dict):
            return {key: value for key, value in self.form_data.items() if key != "materials"}
        return self.form_data

    def fingerprint(self) -> str:
        """What makes two requests the same submission (the query password is left out: never hashed fast)."""
        body = {
            "code": self.service_code.strip().upper(),
            "version": self.version,
            "handle": self.handle_item_code,
            "applicant": [
                self.applicant.kind.value,
                str(self.applicant.enterprise_id),
                str(self.applicant.principal_person_id),
            ],
            "channel": self.channel.value,
            "form": self.form_data,
            "materials": [
                [str(m.requirement_id), m.via.value, m.file_id, str(m.licence_id), str(m.reused_material_id)]
                for m in self.materials
            ],
            "situations": [[str(s.situation_id), s.option_key] for s in self.situations],
            "contact": None if self.contact is None else [self.contact.name, self.contact.mobile, self.contact.address],
        }
        return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


@dataclass(frozen=True)
class Submitted:
    app: Application
    replayed: bool
    view: reading.ApplicationView | None = None  # built from the rows just written, when nothing else changed them


def _check_basics(sub: Submission) -> None:
    key = sub.idempotency_key.strip()
    if not key or len(key) > MAX_KEY:
        raise InvalidInput(
            f"an idempotency key of 1 to {MAX_KEY} characters is required", path=["idempotencyKey"], code="INVALID_KEY"
        )
    if sub.channel not in MOBILE_CHANNELS:
        raise InvalidInput(
            "applications from this API come from the app, a mini program or H5",
            path=["channel"],
            code="CHANNEL_NOT_ACCEPTED",
        )
    if len(sub.materials) > MAX_MATERIALS:
        raise InvalidInput(f"at most {MAX_MATERIALS} materials", path=["materials"], code="TOO_MANY")
    if len(orjson.dumps(sub.form_data)) > forms.MAX_FORM_BYTES:
        raise InvalidInput("the form data is larger than 64 KiB", path=["formData"], code="TOO_LARGE")
    if sub.query_password is not None:
        low, high = PASSWORD_LENGTH
        if not low <= len(sub.query_password) <= high:
            raise InvalidInput(
                f"a query password has {low} to {high} characters", path=["queryPassword"], code="INVALID_PASSWORD"
            )
    if sub.contact is not None and sub.contact.mobile and normalize_mobile(sub.contact.mobile) != sub.contact.mobile:
        raise InvalidInput("not a mobile number", path=["contact", "mobile"], code="INVALID_MOBILE")


async def _replay(claims: AccessClaims, sub: Submission, fingerprint: str) -> Submitted | None:
    app = await Application.get_or_none(submitted_by_person_id=claims.subject, idempotency_key=sub.idempotency_key)
    if app is None:
        return None
    first = await ApplicationEvent.get_or_none(application_id=app.id, seq=1)
    if first is None or first.detail.get("requestFingerprint") != fingerprint:
        raise Conflict(
            "this idempotency key was used for a different submission",
            path=["idempotencyKey"],
            code="IDEMPOTENCY_KEY_REUSED",
        )
    return Submitted(app, True)


async def find_item(service_code: str, version: int | None, handle_item_code: str | None) -> ServiceItem:
    found = await catalog.find(service_code, version, handle_item_code)
    if found is None:
        path = ["version"] if version is not None else ["serviceCode"]
        raise NotFound("no such service (实施编码 and version)", path=path, code="ITEM_NOT_FOUND")
    return open_item(found.row, found.superseded)


async def find_item_by_form(service_code: str, form_version: str) -> ServiceItem:
    """The public item version whose form a draft was filled against: the published one if several share it."""
    code = service_code.strip().upper()
    rows = await ServiceItem.filter(
        task_code=code, form_version=form_version, status__in=list(catalog.PUBLIC_STATUSES)
    ).order_by("-version")
    if not rows:
        raise NotFound("no such service (实施编码 and form version)", path=["serviceCode"], code="ITEM_NOT_FOUND")
    chosen = next((row for row in rows if row.status == ItemStatus.PUBLISHED), rows[0])
    return open_item(chosen, chosen.status == ItemStatus.SUPERSEDED)


def open_item(item: ServiceItem, superseded: bool) -> ServiceItem:
    """The item version if it accepts online applications, else the Conflict saying why not."""
    refusals = {
        ItemStatus.SUPERSEDED: (
            "ITEM_VERSION_SUPERSEDED",
            ["version"],
            "this version was replaced; apply for the current one",
        ),
        ItemStatus.SUSPENDED: ("ITEM_SUSPENDED", ["serviceCode"], "this service is suspended for now"),
        ItemStatus.CANCELLED: ("ITEM_CANCELLED", ["serviceCode"], "this service has been cancelled"),
    }
    if superseded or item.status in refusals:
        code, path, message = refusals[ItemStatus.SUPERSEDED if superseded else item.status]
        raise Conflict(message, path=path, code=code)
    if item.online_depth_level < ONLINE_APPLICATION_DEPTH:
        raise Conflict(
            "this service is handled at the window only (网办深度 Ⅰ): its guide lists where and what to bring",
            path=["serviceCode"],
            code="ITEM_NOT_ONLINE",
        )
    return item


def form_problems(item: ServiceItem, form_data: Any) -> list[rules.Problem]:
    problems = forms.validate(form_data, item.form_schema, cache_key=(str(item.id), item.form_version))
    return [rules.Problem(["formData", *([p.field] if p.field else [])], p.code, p.message, p.field) for p in problems]


async def find_materials_context(
    item: ServiceItem,
    claims: list[rules.MaterialClaim],
    answers: list[rules.SituationAnswer],
    wallet: rules.Wallet,
    now: datetime,
) -> rules.Resolved:
    """Load what the material rules need (the item's parts, licences, reusable materials), then check."""
    found = await parts.of(item)
    requirements, situations = found.requirements, found.situations if answers else ()
    query, any_licence = rules.licences_to_load(requirements, claims, wallet)
    licences = await ELicense.filter(query) if any_licence else []
    reused = await rules.reusable(wallet, [m.reused_material_id for m in claims if m.reused_material_id])
    return rules.resolve(
        requirements=requirements,
        situations=situations,
        answers=answers,
        claims=claims,
        wallet=wallet,
        licences=licences,
        reused=reused,
        today=shanghai_date(now),
    )


async def submit(claims: AccessClaims, sub: Submission, now: datetime, pii: PiiCipher) -> Submitted:
    """Inside a caller's transaction (a draft's SUBMIT), this one nests as a savepoint: a refusal leaves nothing."""
    _check_basics(sub)
    fingerprint = sub.fingerprint()
    replayed = await _replay(claims, sub, fingerprint)
    if replayed is not None:
        return replayed
    if sub.draft is not None:
        item = await find_item_by_form(sub.service_code, sub.draft.form_version)
    else:
        item = await find_item(sub.service_code, sub.version, sub.handle_item_code)
    who = await applicants.resolve(claims, sub.applicant, item, now, pii)
    resolved = await find_materials_context(item, sub.materials, sub.situations, who.wallet, now)
    problems = form_problems(item, sub.form_to_validate()) + resolved.problems
    if problems:
        raise SubmissionRejected(problems)
    password_hash = await hash_password(sub.query_password) if sub.query_password else ""
    actor = Actor(ActorType.APPLICANT, claims.subject, who.submitter_name)
    try:
        async with in_transaction() as db:
            app, rows, event = await _create(sub, item, who, password_hash, now, db, resolved, actor, fingerprint)
            if item.project_type == INSTANT:
                await results.complete_instant(app, actor, now, db)
    except IntegrityError:
        # The same key raced in from a parallel retry: its twin committed first, so answer with that one.
        replayed = await _replay(claims, sub, fingerprint)
        if replayed is None:
            raise
        return replayed
    if item.project_type == INSTANT:
        return Submitted(app, False)
    # A new 承诺件 is exactly what was just written: its view needs no read back.
    view = reading.ApplicationView(
        app=app,
        materials=reading.material_views(rows, resolved.licence_names),
        supplements=[],
        specials=[],
        deliveries=[],
        timeline=[reading.event_view(event)],
        viewer=reading.Viewer.APPLICANT,
    )
    return Submitted(app, False, view)


async def _create(
    sub: Submission,
    item: ServiceItem,
    who: applicants.Applicant,
    password_hash: str,
    now: datetime,
    db: Any,
    resolved: rules.Resolved,
    actor: Actor,
    fingerprint: str,
) -> tuple[Application, list[ApplicationMaterial], ApplicationEvent]:
    project_no = await numbering.allocate(item.task_code, now, db)
    contact = sub.contact or Contact()
    app = Application(
        id=new_id(),
        project_no=project_no,
        idempotency_key=sub.idempotency_key,
        submitted_by_person_id=actor.id,
        service_item_id=item.id,
        service_item_version=item.version,
        task_code=item.task_code,
        item_name=item.name,
        applicant_type=who.applicant_type,
        applicant_person_id=who.person_id,
        applicant_enterprise_id=who.enterprise_id,
        applicant_name=who.name,
        applicant_id_type=who.id_type,
        applicant_id_no_hash=who.id_no_hash,
        agent_person_id=who.agent_person_id,
        legal_rep_name=who.legal_rep_name,
        contact_name=(contact.name or who.contact_name)[:64],
        contact_mobile=contact.mobile or who.contact_mobile,
        address=contact.address[:300],
        postcode=contact.postcode[:6],
        channel=sub.channel,
        region_code=item.region_code,
        accepting_org_id=item.dept_id,
        status=ApplicationStatus.SUBMITTED,
        project_type=item.project_type,
        apply_time=now,
        form_version=item.form_version,
        form_data=sub.form_data,
        draft_id=None if sub.draft is None else sub.draft.draft_id,
        content_hash=None if sub.draft is None else sub.draft.content_hash,
        query_password_hash=password_hash,
        last_seq=1,
        created_at=now,
        updated_at=now,
    )
    await app.save(using_db=db, force_create=True)
    rows = await rules.insert(app, resolved, now, db)
    event = await _record_submit(app, actor, now, db, fingerprint, len(rows))
    return app, rows, event


async def _record_submit(
    app: Application, actor: Actor, now: datetime, db: Any, fingerprint: str, count: int
) -> ApplicationEvent:
    """The creating SUBMIT event: journal.append without its transition check (the row did not exist before)."""
    event = await ApplicationEvent.create(
        using_db=db,
        id=uuid.uuid4(),
        application_id=app.id,
        seq=1,
        event_type=EventType.SUBMIT,
        from_status=None,
        to_status=ApplicationStatus.SUBMITTED,
        step_name="申请",
        actor_type=actor.type,
        actor_id=actor.id,
        actor_name=actor.name,
        action_result="PASS",
        detail={"requestFingerprint": fingerprint, "materials": count, "channel": app.channel.value},
        started_at=now,
        ended_at=now,
        step_state="DONE",
    )
    await OutboxEvent.create(
        using_db=db,
        topic="application.submitted",
        key=str(app.id),
        state_version=1,
        payload={**notice_payload(app), "event": EventType.SUBMIT.value, "seq": 1},
        created_at=now,
    )
    return event
