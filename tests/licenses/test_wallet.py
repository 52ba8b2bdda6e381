"""The licence wallet over HTTP: listing, 亮证, 扫码核验, 授权用证 and 加注件, and the daily sweep.

Every refusal is checked for what it must not have done: no LicenseUse, Consent or status change.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from api.kit.clock import SHANGHAI, shanghai_date
from api.licenses import identifiers, jobs
from api.models import (
    Consent,
    ELicense,
    LicenseOperation,
    LicenseStatus,
    LicenseUse,
    LicenseUseType,
    OutboxEvent,
    Person,
)
from api.seed import catalog_licence_types as types
from api.seed.context import seed_id
from api.seed.licenses import licence_id
from api.seed.operators import VERIFIER_CLIENT_ID, VERIFIER_CREDENTIAL
from tests.support.client import Api
from tests.support.client import Session as Signed

LICENSE = (
    "id identifier name typeCode status statusCode trustGrade validTo expiresInDays holderName surface { key value }"
)
MY_LICENSES = (
    f"query M($status: LicenseStatus) {{ myLicenses(status: $status) {{ edges {{ node {{ {LICENSE} }} }} }} }}"
)
ONE = f"query O($id: ID!) {{ license(id: $id) {{ {LICENSE} }} }}"
ENTERPRISE = "query E($id: ID!) { enterpriseLicenses(enterpriseId: $id) { edges { node { id typeName } } } }"
USES = "query { myLicenseUses(first: 50) { edges { node { licenseId useType usedBy usedByName purpose } } } }"
CONSENTS = "query { myConsents { id grantee granteeName licenseIds purpose active revokedAt } }"
SHOW = """
mutation S($input: ShowLicenseInput!) {
  showLicense(input: $input) {
    __typename
    ... on LicenseQrToken { licenseId token qrPayload expiresAt ttlSeconds }
    ... on Error { code message path }
  }
}
"""
VERIFY = """
mutation V($input: VerifyLicenseTokenInput!) {
  verifyLicenseToken(input: $input) {
    __typename
    ... on LicenseVerification { authentic valid license { identifier name holderName status statusCode } }
    ... on Error { code message path }
  }
}
"""
REQUEST_COPY = """
mutation R($input: RequestAnnotatedCopyInput!) {
  requestAnnotatedCopy(input: $input) {
    __typename
    ... on AnnotatedCopyTicket { downloadToken expiresAt copy { purpose validUntil watermark trustGrade } }
    ... on Error { code message path }
  }
}
"""
DOWNLOAD = """
mutation D($input: DownloadAnnotatedCopyInput!) {
  downloadAnnotatedCopy(input: $input) {
    __typename
    ... on AnnotatedLicenseCopy { watermark purpose license { identifier } }
    ... on Error { code message path }
  }
}
"""
GRANT = """
mutation G($input: GrantLicenseConsentInput!) {
  grantLicenseConsent(input: $input) {
    __typename
    ... on LicenseConsent { id grantee licenseIds purpose active }
    ... on Error { code message path }
  }
}
"""
REVOKE = """
mutation R($input: RevokeLicenseConsentInput!) {
  revokeLicenseConsent(input: $input) {
    __typename
    ... on LicenseConsent { id active revokedAt }
    ... on Error { code message path }
  }
}
"""
APP = {"clientId": VERIFIER_CLIENT_ID, "credential": VERIFIER_CREDENTIAL}

HOUSEHOLD_1 = licence_id("person:1", types.HOUSEHOLD_REGISTER)
DRIVING_1 = licence_id("person:1", types.DRIVING_LICENCE)
DRIVING_5 = licence_id("person:5", types.DRIVING_LICENCE)
SUSPENDED_11 = licence_id("person:11", types.DRIVING_LICENCE)
HOUSEHOLD_6 = licence_id("person:6", types.HOUSEHOLD_REGISTER)


_SESSIONS: dict[int, tuple[Signed, datetime]] = {}


async def resident(api: Api, n: int) -> Signed:
    """A signed-in seeded resident; sessions are reused while fresh, since each phone gets few SMS codes."""
    cached = _SESSIONS.get(n)
    if cached and api.live.clock.now() - cached[1] < timedelta(minutes=5):
        return cached[0]
    api.live.clock.advance(timedelta(seconds=61))  # past the SMS resend throttle of the same phone
    person = await Person.get(id=seed_id("person", n))
    assert person.mobile is not None
    session = await api.sign_in(person.mobile)
    _SESSIONS[n] = (session, api.live.clock.now())
    return session


async def call(api: Api, query: str, name: str, bearer: str | None = None, /, **input: Any) -> dict[str, Any]:
    result: dict[str, Any] = (await api.data(query, {"input": input}, bearer))[name]
    return result


async def uses(licence: uuid.UUID, use_type: LicenseUseType) -> int:
    return await LicenseUse.filter(elicense_id=licence, use_type=use_type).count()


async def show(api: Api, token: str, licence: uuid.UUID) -> dict[str, Any]:
    return await call(api, SHOW, "showLicense", token, licenseId=str(licence))


class TestMyLicenses:
    async def test_lists_the_callers_licences_with_status_and_expiry(self, api: Api) -> None:
        session = await resident(api, 1)
        edges = (await api.data(MY_LICENSES, {}, session.access_token))["myLicenses"]["edges"]
        by_type = {e["node"]["typeCode"]: e["node"] for e in edges}
        assert set(by_type) == {types.HOUSEHOLD_REGISTER, types.DRIVING_LICENCE, types.MARRIAGE_CERTIFICATE}
        driving = by_type[types.DRIVING_LICENCE]
        assert (driving["status"], driving["statusCode"], driving["trustGrade"]) == ("VALID", "01", "A")
        assert (
            driving["expiresInDays"]
            == 5 - (shanghai_date(api.live.clock.now()) - shanghai_date(await _seeded_at())).days
        )
        assert all(identifiers.is_valid(node["identifier"]) for node in by_type.values())
        assert by_type[types.HOUSEHOLD_REGISTER]["validTo"] is None

    async def test_filters_by_status_and_hides_other_peoples_licences(self, api: Api) -> None:
        session = await resident(api, 11)
        suspended = (await api.data(MY_LICENSES, {"status": "SUSPENDED"}, session.access_token))["myLicenses"]
        assert [e["node"]["id"] for e in suspended["edges"]] == [str(SUSPENDED_11)]
        assert (await api.data(ONE, {"id": str(HOUSEHOLD_1)}, session.access_token))["license"] is None

    async def test_enterprise_licences_need_the_legal_representative(self, api: Api) -> None:
        canyin = seed_id("enterprise", "canyin")
        rep = await resident(api, 1)
        edges = (await api.data(ENTERPRISE, {"id": str(canyin)}, rep.access_token))["enterpriseLicenses"]["edges"]
        assert {e["node"]["typeName"] for e in edges} == {"营业执照", "食品经营许可证", "公共场所卫生许可证"}
        stranger = await resident(api, 5)
        body = await api.gql(ENTERPRISE, {"id": str(canyin)}, stranger.access_token)
        assert body["errors"][0]["extensions"]["code"] == "NOT_ACTING_FOR_ENTERPRISE"


async def _seeded_at() -> Any:
    return (await ELicense.get(id=DRIVING_1)).created_at


class TestShowAndVerify:
    async def test_a_verifier_app_verifies_a_shown_licence_once(self, api: Api) -> None:
        session = await resident(api, 1)
        shown = await show(api, session.access_token, HOUSEHOLD_1)
        assert shown["__typename"] == "LicenseQrToken" and shown["ttlSeconds"] == 120
        assert shown["qrPayload"].endswith(shown["token"])
        before = await uses(HOUSEHOLD_1, LicenseUseType.VERIFY_SCAN)

        verified = await call(api, VERIFY, "verifyLicenseToken", token=shown["qrPayload"], purpose="窗口核验", **APP)

        assert verified["__typename"] == "LicenseVerification", verified
        assert (verified["authentic"], verified["valid"]) == (True, True)
        assert verified["license"]["holderName"] == "张***"
        assert await uses(HOUSEHOLD_1, LicenseUseType.VERIFY_SCAN) == before + 1
        replay = await call(api, VERIFY, "verifyLicenseToken", token=shown["token"], **APP)
        assert (replay["__typename"], replay["code"]) == ("LicenseTokenRejectedError", "TOKEN_USED")
        assert await uses(HOUSEHOLD_1, LicenseUseType.VERIFY_SCAN) == before + 1
        records = (await api.data(USES, {}, session.access_token))["myLicenseUses"]["edges"]
        assert {
            "licenseId": str(HOUSEHOLD_1),
            "useType": "VERIFY_SCAN",
            "usedBy": "VERIFIER_APP",
            "usedByName": "云溪市市场监督管理局 亮证核验（演示）",
            "purpose": "窗口核验",
        } in [r["node"] for r in records]

    async def test_an_expired_token_is_refused_and_not_recorded(self, api: Api) -> None:
        session = await resident(api, 1)
        shown = await show(api, session.access_token, HOUSEHOLD_1)
        before = await uses(HOUSEHOLD_1, LicenseUseType.VERIFY_SCAN)
        api.live.clock.advance(timedelta(seconds=121))
        result = await call(api, VERIFY, "verifyLicenseToken", token=shown["token"], **APP)
        assert (result["__typename"], result["code"]) == ("LicenseTokenRejectedError", "TOKEN_EXPIRED")
        assert await uses(HOUSEHOLD_1, LicenseUseType.VERIFY_SCAN) == before

    async def test_a_forged_token_or_wrong_credential_is_refused(self, api: Api) -> None:
        before = await LicenseUse.filter(use_type=LicenseUseType.VERIFY_SCAN).count()
        forged = await call(api, VERIFY, "verifyLicenseToken", token="zsb-license:AAAAAAAAAAAAAAAAAAAAAA", **APP)
        assert (forged["__typename"], forged["code"]) == ("LicenseTokenRejectedError", "TOKEN_INVALID")
        session = await resident(api, 1)
        shown = await show(api, session.access_token, HOUSEHOLD_1)
        wrong = await call(
            api, VERIFY, "verifyLicenseToken", token=shown["token"], clientId=VERIFIER_CLIENT_ID, credential="guess"
        )
        assert (wrong["__typename"], wrong["code"]) == ("AuthenticationError", "VERIFIER_CREDENTIALS_REFUSED")
        anonymous = await call(api, VERIFY, "verifyLicenseToken", token=shown["token"])
        assert anonymous["code"] == "VERIFIER_UNAUTHENTICATED"
        assert await LicenseUse.filter(use_type=LicenseUseType.VERIFY_SCAN).count() == before

    async def test_a_citizen_cannot_verify(self, api: Api) -> None:
        holder = await resident(api, 1)
        shown = await show(api, holder.access_token, HOUSEHOLD_1)
        citizen = await resident(api, 5)
        before = await uses(HOUSEHOLD_1, LicenseUseType.VERIFY_SCAN)
        result = await call(api, VERIFY, "verifyLicenseToken", citizen.access_token, token=shown["token"])
        assert (result["__typename"], result["code"]) == ("ForbiddenError", "NOT_A_VERIFIER")
        assert await uses(HOUSEHOLD_1, LicenseUseType.VERIFY_SCAN) == before

    async def test_show_needs_an_l2_session(self, api: Api) -> None:
        session = await resident(api, 6)  # L1
        before = await uses(HOUSEHOLD_6, LicenseUseType.SHOW_QR)
        result = await show(api, session.access_token, HOUSEHOLD_6)
        assert (result["__typename"], result["code"]) == ("ForbiddenError", "ASSURANCE_TOO_LOW")
        assert await uses(HOUSEHOLD_6, LicenseUseType.SHOW_QR) == before

    async def test_another_persons_licence_cannot_be_shown(self, api: Api) -> None:
        session = await resident(api, 5)
        before = await uses(HOUSEHOLD_1, LicenseUseType.SHOW_QR)
        result = await show(api, session.access_token, HOUSEHOLD_1)
        assert (result["__typename"], result["code"]) == ("NotFoundError", "LICENSE_NOT_FOUND")
        assert await uses(HOUSEHOLD_1, LicenseUseType.SHOW_QR) == before

    async def test_a_licence_that_is_not_valid_cannot_be_shown(self, api: Api) -> None:
        session = await resident(api, 11)
        result = await show(api, session.access_token, SUSPENDED_11)
        assert (result["__typename"], result["code"]) == ("ConflictError", "LICENSE_NOT_VALID")
        assert await uses(SUSPENDED_11, LicenseUseType.SHOW_QR) == 0


class TestAnnotatedCopy:
    async def test_without_consent_nothing_is_released(self, api: Api) -> None:
        before = await uses(DRIVING_5, LicenseUseType.DOWNLOAD_ANNOTATED)
        result = await call(api, REQUEST_COPY, "requestAnnotatedCopy", licenseId=str(DRIVING_5), purpose="核验", **APP)
        assert (result["__typename"], result["code"]) == ("ForbiddenError", "CONSENT_REQUIRED")
        assert await uses(DRIVING_5, LicenseUseType.DOWNLOAD_ANNOTATED) == before

    async def test_with_consent_a_single_use_download(self, api: Api) -> None:
        before = await uses(HOUSEHOLD_1, LicenseUseType.DOWNLOAD_ANNOTATED)
        ticket = await call(
            api, REQUEST_COPY, "requestAnnotatedCopy", licenseId=str(HOUSEHOLD_1), purpose="办理食品经营许可", **APP
        )
        assert ticket["__typename"] == "AnnotatedCopyTicket", ticket
        assert ticket["copy"]["watermark"].startswith("此件由云溪市公安局提供，仅供办理政务服务事项时使用，有效期至")
        assert ticket["copy"]["trustGrade"] == "A"
        assert await uses(HOUSEHOLD_1, LicenseUseType.DOWNLOAD_ANNOTATED) == before + 1

        first = await call(api, DOWNLOAD, "downloadAnnotatedCopy", downloadToken=ticket["downloadToken"], **APP)
        assert first["__typename"] == "AnnotatedLicenseCopy", first
        second = await call(api, DOWNLOAD, "downloadAnnotatedCopy", downloadToken=ticket["downloadToken"], **APP)
        assert (second["__typename"], second["code"]) == ("LicenseTokenRejectedError", "TOKEN_USED")
        assert await uses(HOUSEHOLD_1, LicenseUseType.DOWNLOAD_ANNOTATED) == before + 1

    async def test_granted_then_revoked_consent(self, api: Api) -> None:
        session = await resident(api, 5)
        expires = (api.live.clock.now() + timedelta(days=7)).astimezone(SHANGHAI).isoformat()
        consent = await call(
            api,
            GRANT,
            "grantLicenseConsent",
            session.access_token,
            licenseIds=[str(DRIVING_5)],
            grantee=VERIFIER_CLIENT_ID,
            purpose="驾驶资格核验",
            expiresAt=expires,
        )
        assert consent["__typename"] == "LicenseConsent" and consent["active"], consent
        listed = (await api.data(CONSENTS, {}, session.access_token))["myConsents"]
        assert consent["id"] in [c["id"] for c in listed]
        revoked = await call(api, REVOKE, "revokeLicenseConsent", session.access_token, consentId=consent["id"])
        assert revoked["active"] is False and revoked["revokedAt"]
        before = await uses(DRIVING_5, LicenseUseType.DOWNLOAD_ANNOTATED)
        result = await call(api, REQUEST_COPY, "requestAnnotatedCopy", licenseId=str(DRIVING_5), purpose="核验", **APP)
        assert result["code"] == "CONSENT_REQUIRED"
        assert await uses(DRIVING_5, LicenseUseType.DOWNLOAD_ANNOTATED) == before

    async def test_consent_needs_l2_and_a_valid_licence(self, api: Api) -> None:
        expires = (api.live.clock.now() + timedelta(days=7)).astimezone(SHANGHAI).isoformat()
        before = await Consent.all().count()
        low = await resident(api, 6)
        refused = await call(
            api,
            GRANT,
            "grantLicenseConsent",
            low.access_token,
            licenseIds=[str(HOUSEHOLD_6)],
            grantee=VERIFIER_CLIENT_ID,
            purpose="核验",
            expiresAt=expires,
        )
        assert refused["code"] == "ASSURANCE_TOO_LOW"
        suspended = await resident(api, 11)
        invalid = await call(
            api,
            GRANT,
            "grantLicenseConsent",
            suspended.access_token,
            licenseIds=[str(SUSPENDED_11)],
            grantee=VERIFIER_CLIENT_ID,
            purpose="核验",
            expiresAt=expires,
        )
        assert invalid["code"] == "LICENSE_NOT_VALID"
        assert await Consent.all().count() == before


class TestSweep:
    async def test_expires_past_validity_and_writes_reminders_once(self, api: Api) -> None:
        # Licences of its own, dated from the clock as it is now: other tests move the shared clock forward.
        today = shanghai_date(api.live.clock.now())
        holder = await Person.get(id=seed_id("person", 20))

        async def licence(valid_to_in_days: int) -> ELicense:
            return await ELicense.create(
                id=uuid.uuid4(),
                cert_identifier=identifiers.build(
                    types.DRIVING_LICENCE, "11990100000000013A", uuid.uuid4().hex[:12].upper(), 1
                ),
                type_code=types.DRIVING_LICENCE,
                type_name="机动车驾驶证",
                cert_number="T",
                name="机动车驾驶证",
                issuer_name="云溪市公安局",
                issuer_uscc="11990100000000013A",
                area_code="990100000000",
                holder_name=holder.name,
                holder_id_type="111",
                holder_id_hash=holder.id_number_hash or "",
                holder_person_id=holder.id,
                issue_date=today - timedelta(days=2000),
                valid_from=today - timedelta(days=2000),
                valid_to=today + timedelta(days=valid_to_in_days),
            )

        lapsed, in_five_days, in_twenty_days = await licence(-1), await licence(5), await licence(20)
        first = await jobs.sweep_licenses({"clock": api.live.clock})
        second = await jobs.sweep_licenses({"clock": api.live.clock})

        await lapsed.refresh_from_db()
        assert lapsed.status is LicenseStatus.EXPIRED
        assert await LicenseOperation.filter(elicense_id=lapsed.id, operation="04").count() == 1
        assert first["expired"] >= 1 and second == {"expired": 0, "expiring_events": 0}
        # Only the closest threshold reached is written: one notice, not three.
        soon = await OutboxEvent.filter(topic="licenses.expiring", key=str(in_five_days.id)).values_list(
            "state_version", flat=True
        )
        later = await OutboxEvent.filter(topic="licenses.expiring", key=str(in_twenty_days.id)).values_list(
            "state_version", flat=True
        )
        assert [int(str(v)) for v in soon] == [7] and [int(str(v)) for v in later] == [30]
        assert not await OutboxEvent.filter(topic="licenses.expiring", key=str(lapsed.id)).exists()
