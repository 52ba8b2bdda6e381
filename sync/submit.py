"""SUBMIT (sync-protocol.md §10, P8): the draft's checks in their order, then the application is created by the
same service function as `submitApplication`, inside a savepoint of the mutation's transaction, so a refusal
leaves no application while the REJECTED result and LMID still commit."""

from __future__ import annotations

import uuid

from tortoise.transactions import in_transaction

from api.applications import requests as application_requests
from api.applications import submission
from api.applications.applicant import ApplicantChoice, ApplicantKind
from api.applications.materials import MaterialClaim
from api.kit.errors import AppError
from api.kit.ids import parse_uuid
from api.models import Application, ApplicationChannel, ProvidedVia
from api.models.sync import (
    AttachmentStatus,
    ConflictStatus,
    Draft,
    DraftBlobRef,
    DraftConflict,
    DraftStatus,
    Platform,
    SyncMutationStatus,
)
from sync.apply_context import Applied, MutationContext, maybe_uuid, own_draft, plain_uuid
from sync.apply_fields import current_values
from sync.contract import SyncErrorCode
from sync.merge import unseen_changes
from sync.push_checks import parse_version
from sync.push_errors import Rejected
from sync.submit_form import AmbiguousMap, flatten, nested
from sync.templates import MATERIALS
from sync.uploads import attachment_statuses

CHANNELS = {
    Platform.APP_IOS: ApplicationChannel.APP,
    Platform.APP_ANDROID: ApplicationChannel.APP,
    Platform.WECHAT_MP: ApplicationChannel.WECHAT_MP,
    Platform.ALIPAY_MP: ApplicationChannel.ALIPAY_MP,
    Platform.WEB: ApplicationChannel.H5,
}
# The application service's refusal codes, as SUBMIT reports them.
REFUSALS = {
    "ASSURANCE_TOO_LOW": SyncErrorCode.ASSURANCE_TOO_LOW,
    "AGENT_OUT_OF_SCOPE": SyncErrorCode.AGENT_OUT_OF_SCOPE,
    "AGENT_NOT_AUTHORIZED": SyncErrorCode.AGENT_OUT_OF_SCOPE,
    "NOT_ACTING_FOR_ENTERPRISE": SyncErrorCode.AGENT_OUT_OF_SCOPE,
    "ITEM_NOT_FOUND": SyncErrorCode.SERVICE_CLOSED,
    "ITEM_VERSION_SUPERSEDED": SyncErrorCode.SERVICE_CLOSED,
    "ITEM_SUSPENDED": SyncErrorCode.SERVICE_CLOSED,
    "ITEM_CANCELLED": SyncErrorCode.SERVICE_CLOSED,
    "ITEM_NOT_ONLINE": SyncErrorCode.SERVICE_CLOSED,
}
FORM_SEGMENT = "formData"


async def submit(ctx: MutationContext) -> Applied:
    draft = await own_draft(ctx)
    if draft.status is DraftStatus.DELETED:
        raise Rejected(SyncErrorCode.DRAFT_DELETED, "this draft was deleted; restore it first")
    if draft.status is DraftStatus.SUBMITTED:
        raise Rejected(
            SyncErrorCode.ALREADY_SUBMITTED,
            "this draft was already submitted",
            application_id=maybe_uuid(draft.application_id),
        )
    rows, values = await current_values(draft.id)
    expected = ctx.mutation.expected_content_hash
    if draft.content_hash != expected:
        base = parse_version(ctx.mutation.base_draft_version) or 0
        seen = [(path, row.version, str(row.writer_client_id)) for path, row in rows.items()]
        raise Rejected(
            SyncErrorCode.CONTENT_CHANGED,
            "the draft changed since you confirmed it; review the changes and submit again",
            paths=unseen_changes(seen, base, str(ctx.client_id)),
        )
    await _check_conflicts_and_attachments(ctx, draft)
    form = _form_data(values)
    slots, claims = material_claims(values)
    application_id = await _application(ctx, draft, form, claims, slots)
    draft.status = DraftStatus.SUBMITTED
    draft.application_id = application_id
    draft.version = ctx.version
    await draft.save(update_fields=["status", "application_id", "version", "updated_at"])
    return Applied(SyncMutationStatus.APPLIED, changed=True, draft_version=draft.version, application_id=application_id)


async def _check_conflicts_and_attachments(ctx: MutationContext, draft: Draft) -> None:
    open_paths = await DraftConflict.filter(draft_id=draft.id, status=ConflictStatus.OPEN).values_list(
        "path", flat=True
    )
    if open_paths:
        raise Rejected(
            SyncErrorCode.UNRESOLVED_CONFLICTS,
            "resolve the conflicting edits first",
            paths=sorted(str(p) for p in open_paths),
        )
    refs = await DraftBlobRef.filter(draft_id=draft.id).values_list("path", "sha256")
    statuses = await attachment_statuses(ctx.space_id, {str(sha) for _, sha in refs}, ctx.now)
    incomplete = sorted(str(path) for path, sha in refs if statuses.get(str(sha)) is not AttachmentStatus.COMPLETE)
    if incomplete:
        raise Rejected(
            SyncErrorCode.ATTACHMENT_INCOMPLETE, "some attachments have not finished uploading", paths=incomplete
        )


def _form_data(values: dict[str, object]) -> dict[str, object]:
    try:
        form = nested(values)
    except AmbiguousMap as exc:
        raise Rejected(
            SyncErrorCode.VALIDATION_FAILED, "a field and its sub-fields both hold values", paths=[str(exc)]
        ) from None
    if flatten(form) != values:
        odd = sorted(set(values) ^ set(flatten(form)))
        raise Rejected(SyncErrorCode.VALIDATION_FAILED, "some fields hold objects instead of values", paths=odd)
    return form


def _applicant(ctx: MutationContext) -> ApplicantChoice:
    enterprise_id = ctx.claims.acting_as_enterprise_id
    if ctx.space_id.startswith("E:") and enterprise_id is not None:
        return ApplicantChoice(ApplicantKind.ENTERPRISE, enterprise_id=enterprise_id)
    return ApplicantChoice(ApplicantKind.SELF)


def material_claims(values: dict[str, object]) -> tuple[list[str], list[MaterialClaim]]:
    """The draft's `materials/{requirementId}/…` fields as the application's material claims, one per requirement
    (claim i is slot i): a wallet licence when one is named, else the uploaded files. The material row points at
    the first file by item id (UUIDv7: the order they were added); the application's copy of the field map keeps
    every file. Requirements the wallet satisfies need no fields at all: the applications service fills them."""
    licences: dict[str, object] = {}
    files: dict[str, dict[str, object]] = {}
    for path, value in values.items():
        segments = path.split("/")
        if segments[0] != MATERIALS or value is None:
            continue
        if len(segments) == 3 and segments[2] == "licenceId":
            licences[segments[1]] = value
        elif len(segments) == 4 and segments[2] == "files":
            files.setdefault(segments[1], {})[segments[3]] = value
    slots = sorted(licences.keys() | files.keys())
    claims = []
    for index, slot in enumerate(slots):
        requirement = parse_uuid(slot)
        if slot in licences:
            licence_id = parse_uuid(licences[slot])
            claims.append(MaterialClaim(index, requirement, ProvidedVia.ELICENSE, licence_id=licence_id))
            continue
        first = files[slot][min(files[slot])]
        sha = first.get("blobSha256") if isinstance(first, dict) else None
        claims.append(MaterialClaim(index, requirement, ProvidedVia.UPLOAD, file_id=f"blob:{sha}"))
    return slots, claims


async def _application(
    ctx: MutationContext, draft: Draft, form: dict[str, object], claims: list[MaterialClaim], slots: list[str]
) -> uuid.UUID:
    try:
        async with in_transaction():  # a savepoint: a refusal below leaves no application behind
            if draft.status is DraftStatus.CORRECTION and draft.application_id is not None:
                return await _resubmit(ctx, draft, form)
            sub = submission.Submission(
                idempotency_key=f"draft:{draft.id}",
                service_code=draft.service_code,
                channel=CHANNELS[ctx.platform],
                form_data=form,
                materials=claims,
                applicant=_applicant(ctx),
                draft=submission.DraftOrigin(draft.id, draft.content_hash, draft.form_version),
            )
            submitted = await submission.submit(ctx.claims, sub, ctx.now, ctx.deps.pii)
            return plain_uuid(submitted.app.id)
    except submission.SubmissionRejected as exc:
        raise _validation_failed(exc, slots) from None
    except AppError as exc:
        code = REFUSALS.get(exc.code, SyncErrorCode.VALIDATION_FAILED)
        raise Rejected(code, exc.message) from None


async def _resubmit(ctx: MutationContext, draft: Draft, form: dict[str, object]) -> uuid.UUID:
    """A CORRECTION draft goes back into its application (预审退回 then 重新提交), materials unchanged."""
    assert draft.application_id is not None
    fix = application_requests.Correction(form_data=form, materials=None, situations=[])
    app = await application_requests.resubmit(ctx.claims, draft.application_id, fix, ctx.now)
    await Application.filter(id=app.id).update(content_hash=draft.content_hash)
    return plain_uuid(app.id)


def _validation_failed(exc: submission.SubmissionRejected, slots: list[str]) -> Rejected:
    paths = sorted({path for p in exc.problems if (path := _draft_path(p.path, slots))})
    messages = "; ".join(p.message for p in exc.problems[:5])
    return Rejected(SyncErrorCode.VALIDATION_FAILED, f"the application was refused: {messages}", paths=paths or None)


def _draft_path(problem: list[str], slots: list[str]) -> str | None:
    """The draft path a problem of the applications service names: a form field, or a material's slot (by claim
    index, or by requirement id for a required material nobody provided)."""
    if len(problem) > 1 and problem[0] == FORM_SEGMENT:
        return "/".join(problem[1:])
    if len(problem) > 1 and problem[0] == MATERIALS:
        key = problem[1]
        slot = slots[int(key)] if key.isdigit() and int(key) < len(slots) else key
        return f"{MATERIALS}/{slot}"
    return None
