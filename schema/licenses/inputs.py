"""Inputs of the licence wallet's mutations."""

from __future__ import annotations

from datetime import datetime

import strawberry


@strawberry.input
class ShowLicenseInput:
    license_id: strawberry.ID


@strawberry.input(description="Operators send their bearer token; verifier apps send clientId and credential.")
class VerifyLicenseTokenInput:
    token: str = strawberry.field(description="The scanned QR payload (or the bare token)")
    purpose: str = ""
    client_id: str | None = None
    credential: str | None = None


@strawberry.input
class GrantLicenseConsentInput:
    license_ids: list[strawberry.ID]
    grantee: str = strawberry.field(description="The verifier app's client id")
    purpose: str
    expires_at: datetime


@strawberry.input
class RevokeLicenseConsentInput:
    consent_id: strawberry.ID


@strawberry.input(description="Name the licence by a live QR token or by its id (as listed in the holder's consent).")
class RequestAnnotatedCopyInput:
    purpose: str
    token: str | None = None
    license_id: strawberry.ID | None = None
    client_id: str | None = None
    credential: str | None = None


@strawberry.input
class DownloadAnnotatedCopyInput:
    download_token: str
    client_id: str | None = None
    credential: str | None = None
