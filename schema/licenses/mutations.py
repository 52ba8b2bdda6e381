"""Mutations of this domain; the root Mutation inherits them.

Verifier mutations are `Public` at the access layer because verifier apps hold no session: they send their
clientId and credential in the input, which the service checks (argon2) before anything else; operators send
their bearer token. Every refusal is a typed error and records nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import strawberry

from api.identity.tokens import AccessClaims
from api.kit.errors import AppError, InvalidInput
from api.kit.ids import parse_uuid
from api.licenses import consents, sharing, verifiers
from schema.access import CitizenOnly, Public
from schema.context import Info
from schema.errors import (
    AuthenticationError,
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    to_error,
)
from schema.licenses import inputs
from schema.licenses.types import (
    AnnotatedCopyTicket,
    AnnotatedLicenseCopy,
    LicenseConsent,
    LicenseQrToken,
    LicenseTokenRejectedError,
    LicenseVerification,
)

T = TypeVar("T")

ShowLicenseResult = Annotated[
    LicenseQrToken | InvalidInputError | NotFoundError | ForbiddenError | ConflictError,
    strawberry.union("ShowLicenseResult"),
]
VerifyLicenseTokenResult = Annotated[
    LicenseVerification | LicenseTokenRejectedError | AuthenticationError | ForbiddenError,
    strawberry.union("VerifyLicenseTokenResult"),
]
GrantLicenseConsentResult = Annotated[
    LicenseConsent | InvalidInputError | NotFoundError | ForbiddenError | ConflictError,
    strawberry.union("GrantLicenseConsentResult"),
]
RevokeLicenseConsentResult = Annotated[
    LicenseConsent | InvalidInputError | NotFoundError, strawberry.union("RevokeLicenseConsentResult")
]
RequestAnnotatedCopyResult = Annotated[
    AnnotatedCopyTicket
    | InvalidInputError
    | NotFoundError
    | ForbiddenError
    | ConflictError
    | AuthenticationError
    | LicenseTokenRejectedError,
    strawberry.union("RequestAnnotatedCopyResult"),
]
DownloadAnnotatedCopyResult = Annotated[
    AnnotatedLicenseCopy | ForbiddenError | ConflictError | AuthenticationError | LicenseTokenRejectedError,
    strawberry.union("DownloadAnnotatedCopyResult"),
]


async def _guard(call: Callable[[], Awaitable[T]]) -> T | object:
    try:
        return await call()
    except sharing.TokenRejected as exc:
        return LicenseTokenRejectedError(code=exc.code, message=exc.message, path=exc.path)
    except AppError as exc:
        return to_error(exc)


def _claims(info: Info) -> AccessClaims:
    claims = info.context.principal.claims
    assert claims is not None  # the field's permission class guarantees it
    return claims


def _uuid(value: str | None, field: str) -> uuid.UUID:
    parsed = parse_uuid(value or "")
    if parsed is None:
        raise InvalidInput("not a valid id", path=[field], code="INVALID_ID")
    return parsed


async def _verifier(info: Info, client_id: str | None, credential: str | None) -> verifiers.Verifier:
    return await verifiers.authenticate(info.context.principal.claims, client_id, credential)


@strawberry.type
class LicenseMutation:
    @strawberry.mutation(
        permission_classes=[CitizenOnly],
        description="亮证: a QR token for one of your valid licences, valid 120 s (needs an L2 session).",
    )
    async def show_license(self, info: Info, input: inputs.ShowLicenseInput) -> ShowLicenseResult:
        clock = info.context.identity.clock

        async def run() -> LicenseQrToken:
            shown = await sharing.show(clock, _claims(info), _uuid(input.license_id, "licenseId"))
            return LicenseQrToken.build(shown)

        return await _guard(run)  # type: ignore[return-value]

    @strawberry.mutation(
        permission_classes=[Public],
        description="扫码核验 by an operator or a verifier app: authenticity and surface data. A QR token scans once.",
    )
    async def verify_license_token(self, info: Info, input: inputs.VerifyLicenseTokenInput) -> VerifyLicenseTokenResult:
        clock = info.context.identity.clock

        async def run() -> LicenseVerification:
            verifier = await _verifier(info, input.client_id, input.credential)
            return LicenseVerification.build(await sharing.verify(clock, verifier, input.token, input.purpose))

        return await _guard(run)  # type: ignore[return-value]

    @strawberry.mutation(
        permission_classes=[CitizenOnly],
        description="授权用证: let a verifier download 加注件 of your valid licences until `expiresAt` (L2).",
    )
    async def grant_license_consent(
        self, info: Info, input: inputs.GrantLicenseConsentInput
    ) -> GrantLicenseConsentResult:
        clock = info.context.identity.clock

        async def run() -> LicenseConsent:
            if len(input.license_ids) > 100:
                raise InvalidInput("at most 100 licences", path=["licenseIds"], code="INVALID_SCOPE")
            ids = [_uuid(i, "licenseIds") for i in input.license_ids]
            row = await consents.grant(clock, _claims(info), ids, input.grantee, input.purpose, input.expires_at)
            return LicenseConsent.from_row(row, await consents.grantee_names([row]), clock.now())

        return await _guard(run)  # type: ignore[return-value]

    @strawberry.mutation(permission_classes=[CitizenOnly], description="End a consent now.")
    async def revoke_license_consent(
        self, info: Info, input: inputs.RevokeLicenseConsentInput
    ) -> RevokeLicenseConsentResult:
        clock = info.context.identity.clock

        async def run() -> LicenseConsent:
            row = await consents.revoke(clock, _claims(info), _uuid(input.consent_id, "consentId"))
            return LicenseConsent.from_row(row, await consents.grantee_names([row]), clock.now())

        return await _guard(run)  # type: ignore[return-value]

    @strawberry.mutation(
        permission_classes=[Public],
        description="A verifier asks for a 加注件; needs the holder's live consent (CONSENT_REQUIRED otherwise).",
    )
    async def request_annotated_copy(
        self, info: Info, input: inputs.RequestAnnotatedCopyInput
    ) -> RequestAnnotatedCopyResult:
        clock = info.context.identity.clock

        async def run() -> AnnotatedCopyTicket:
            verifier = await _verifier(info, input.client_id, input.credential)
            licence_id = _uuid(input.license_id, "licenseId") if input.license_id is not None else None
            ticket = await sharing.request_copy(
                clock, verifier, token=input.token, licence_id=licence_id, purpose=input.purpose
            )
            return AnnotatedCopyTicket(
                download_token=ticket.download_token,
                expires_at=ticket.expires_at,
                copy=AnnotatedLicenseCopy.build(ticket.copy),
            )

        return await _guard(run)  # type: ignore[return-value]

    @strawberry.mutation(
        permission_classes=[Public],
        description="Redeem a 加注件 download token (single use) by the verifier it was issued to.",
    )
    async def download_annotated_copy(
        self, info: Info, input: inputs.DownloadAnnotatedCopyInput
    ) -> DownloadAnnotatedCopyResult:
        clock = info.context.identity.clock

        async def run() -> AnnotatedLicenseCopy:
            verifier = await _verifier(info, input.client_id, input.credential)
            return AnnotatedLicenseCopy.build(await sharing.download_copy(clock, verifier, input.download_token))

        return await _guard(run)  # type: ignore[return-value]
