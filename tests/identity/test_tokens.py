"""Access tokens (ES256, kid, iss/aud, 15 minutes) and rotating refresh tokens, over HTTP."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import jwt
import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from api.models import Session
from tests.support.client import Api

ME = "query { me { id } }"
REFRESH = """
mutation R($input: RefreshSessionInput!) {
  refreshSession(input: $input) {
    __typename
    ... on AuthPayload { accessToken refreshToken sessionId me { id } }
    ... on Error { code message }
  }
}
"""
SIGN_OUT = (
    "mutation S($input: SignOutInput!) { signOut(input: $input) { __typename ... on SignedOut { sessionsEnded } } }"
)
SESSIONS = "query { mySessions { id current channel authMethod } }"
REVOKE = """
mutation V($input: RevokeSessionInput!) {
  revokeSession(input: $input) { __typename ... on SessionRevoked { sessionId } ... on Error { code } }
}
"""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(api: Api, token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


def _dev_key(api: Api) -> tuple[str, ec.EllipticCurvePrivateKey]:
    secrets = orjson.loads((api.live.settings.var_dir / "dev-secrets.json").read_bytes())
    kid = secrets["signing_kid"]
    key = serialization.load_pem_private_key(secrets["jwt_keys"][kid].encode(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return kid, key


async def _refused(api: Api, token: str) -> dict[str, Any]:
    response = await api.post({"query": ME}, token)
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith("Bearer")
    body: dict[str, Any] = response.json()
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert body.get("data") is None
    return body


class TestAccessToken:
    async def test_is_es256_with_kid_issuer_audience_and_fifteen_minutes(self, api: Api) -> None:
        session = await api.sign_in()
        header = jwt.get_unverified_header(session.access_token)
        claims = _claims(api, session.access_token)
        assert header["alg"] == "ES256" and header["kid"] == _dev_key(api)[0]
        assert claims["iss"] == api.live.settings.auth.issuer and claims["aud"] == api.live.settings.auth.audience
        assert claims["exp"] - claims["iat"] == 15 * 60
        assert claims["typ"] == "citizen" and claims["sub"] == session.person_id

    async def test_expired_token_is_refused(self, api: Api) -> None:
        session = await api.sign_in()
        api.live.clock.advance(timedelta(minutes=15, seconds=1))
        await _refused(api, session.access_token)

    async def test_a_token_in_use_is_refused_once_it_expires(self, api: Api) -> None:
        # Given a token the server has verified (and so remembers) on an earlier request
        session = await api.sign_in()
        assert (await api.data(ME, {}, session.access_token))["me"]["id"] == session.person_id
        # When it expires, then the next request with the same bytes is refused
        api.live.clock.advance(timedelta(minutes=15, seconds=1))
        body = await _refused(api, session.access_token)
        assert body["errors"][0]["message"] == "access token expired"

    async def test_forged_signature_is_refused(self, api: Api) -> None:
        session = await api.sign_in()
        other_key = ec.generate_private_key(ec.SECP256R1())
        claims = _claims(api, session.access_token)
        forged = jwt.encode(claims, other_key, algorithm="ES256", headers={"kid": _dev_key(api)[0]})
        await _refused(api, forged)

    async def test_tampered_payload_is_refused(self, api: Api) -> None:
        victim, attacker = await api.sign_in(), await api.sign_in()
        head, _, signature = attacker.access_token.split(".")
        claims = _claims(api, attacker.access_token) | {"sub": victim.person_id}
        await _refused(api, f"{head}.{_b64(json.dumps(claims).encode())}.{signature}")

    async def test_alg_none_is_refused(self, api: Api) -> None:
        session = await api.sign_in()
        claims = _claims(api, session.access_token)
        header = _b64(json.dumps({"alg": "none", "typ": "JWT", "kid": _dev_key(api)[0]}).encode())
        await _refused(api, f"{header}.{_b64(json.dumps(claims).encode())}.")

    async def test_hs256_signed_with_the_public_key_is_refused(self, api: Api) -> None:
        session = await api.sign_in()
        kid, key = _dev_key(api)
        public_pem = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        claims = _claims(api, session.access_token)
        header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
        body = _b64(json.dumps(claims).encode())
        import hashlib
        import hmac

        signature = _b64(hmac.new(public_pem, f"{header}.{body}".encode(), hashlib.sha256).digest())
        await _refused(api, f"{header}.{body}.{signature}")

    async def test_wrong_audience_or_issuer_is_refused(self, api: Api) -> None:
        session = await api.sign_in()
        kid, key = _dev_key(api)
        claims = _claims(api, session.access_token)
        for change in ({"aud": "someone-else"}, {"iss": "https://evil.example"}):
            await _refused(api, jwt.encode(claims | change, key, algorithm="ES256", headers={"kid": kid}))

    async def test_unknown_kid_is_refused(self, api: Api) -> None:
        session = await api.sign_in()
        _, key = _dev_key(api)
        token = jwt.encode(_claims(api, session.access_token), key, algorithm="ES256", headers={"kid": "retired"})
        await _refused(api, token)

    async def test_garbage_and_wrong_scheme_are_refused(self, api: Api) -> None:
        await _refused(api, "not.a.jwt")
        response = await api.http.post("/graphql", json={"query": ME}, headers={"authorization": "Basic abc"})
        assert response.status_code == 401

    async def test_token_signed_with_a_valid_key_works(self, api: Api) -> None:
        session = await api.sign_in()
        kid, key = _dev_key(api)
        claims = _claims(api, session.access_token) | {"exp": int(api.live.clock.now().timestamp()) + 600}
        token = jwt.encode(claims, key, algorithm="ES256", headers={"kid": kid})
        assert (await api.data(ME, token=token))["me"]["id"] == session.person_id


class TestRefreshSession:
    async def test_rotates_the_refresh_token_within_the_family(self, api: Api) -> None:
        session = await api.sign_in()
        result = (await api.data(REFRESH, {"input": {"refreshToken": session.refresh_token}}))["refreshSession"]
        assert result["__typename"] == "AuthPayload"
        assert result["refreshToken"] != session.refresh_token and result["sessionId"] == session.session_id
        assert (await api.data(ME, token=result["accessToken"]))["me"]["id"] == session.person_id
        rows = await Session.filter(family_id=session.session_id).order_by("created_at")
        assert len(rows) == 2 and rows[0].replaced_by_id == rows[1].id and rows[1].replaced_by_id is None

    async def test_a_replayed_refresh_token_revokes_the_whole_family(self, api: Api) -> None:
        session = await api.sign_in()
        rotated = (await api.data(REFRESH, {"input": {"refreshToken": session.refresh_token}}))["refreshSession"]
        replay = (await api.data(REFRESH, {"input": {"refreshToken": session.refresh_token}}))["refreshSession"]
        assert replay == {
            "__typename": "AuthenticationError",
            "code": "REFRESH_TOKEN_REUSED",
            "message": replay["message"],
        }
        # The thief's replay ends the legitimate rotation too: both refresh and access stop working.
        after = (await api.data(REFRESH, {"input": {"refreshToken": rotated["refreshToken"]}}))["refreshSession"]
        assert after["__typename"] == "AuthenticationError" and after["code"] == "SESSION_REVOKED"
        await _refused(api, rotated["accessToken"])
        assert await Session.filter(family_id=session.session_id, revoked_at=None).count() == 0

    async def test_an_unknown_refresh_token_changes_nothing(self, api: Api) -> None:
        before = await Session.all().count()
        result = (await api.data(REFRESH, {"input": {"refreshToken": "made-up"}}))["refreshSession"]
        assert result["__typename"] == "AuthenticationError" and result["code"] == "INVALID_REFRESH_TOKEN"
        assert await Session.all().count() == before

    async def test_an_expired_session_cannot_refresh(self, api: Api) -> None:
        session = await api.sign_in()
        api.live.clock.advance(timedelta(days=31))
        result = (await api.data(REFRESH, {"input": {"refreshToken": session.refresh_token}}))["refreshSession"]
        assert result["__typename"] == "AuthenticationError" and result["code"] == "SESSION_EXPIRED"


class TestSignOutAndDevices:
    async def test_sign_out_ends_the_session_at_once(self, api: Api) -> None:
        session = await api.sign_in()
        result = (await api.data(SIGN_OUT, {"input": {}}, session.access_token))["signOut"]
        assert result == {"__typename": "SignedOut", "sessionsEnded": 1}
        await _refused(api, session.access_token)
        refreshed = (await api.data(REFRESH, {"input": {"refreshToken": session.refresh_token}}))["refreshSession"]
        assert refreshed["code"] == "SESSION_REVOKED"

    async def test_my_sessions_lists_each_device_and_revoke_ends_one(self, api: Api) -> None:
        phone_session = await api.sign_in()
        api.live.clock.advance(timedelta(seconds=61))
        other_device = await api.sign_in(phone_session.phone)
        listed = (await api.data(SESSIONS, token=phone_session.access_token))["mySessions"]
        assert {row["id"] for row in listed} == {phone_session.session_id, other_device.session_id}
        assert [row["current"] for row in listed if row["id"] == phone_session.session_id] == [True]
        revoked = await api.data(REVOKE, {"input": {"sessionId": other_device.session_id}}, phone_session.access_token)
        assert revoked["revokeSession"] == {
            "__typename": "SessionRevoked",
            "sessionId": other_device.session_id,
        }
        await _refused(api, other_device.access_token)
        assert (await api.data(ME, token=phone_session.access_token))["me"]["id"] == phone_session.person_id

    async def test_cannot_revoke_someone_elses_session(self, api: Api) -> None:
        mine, theirs = await api.sign_in(), await api.sign_in()
        result = await api.data(REVOKE, {"input": {"sessionId": theirs.session_id}}, mine.access_token)
        assert result["revokeSession"] == {"__typename": "NotFoundError", "code": "NOT_FOUND"}
        assert (await api.data(ME, token=theirs.access_token))["me"]["id"] == theirs.person_id

    async def test_sign_out_all_devices(self, api: Api) -> None:
        first = await api.sign_in()
        api.live.clock.advance(timedelta(seconds=61))
        second = await api.sign_in(first.phone)
        result = (await api.data(SIGN_OUT, {"input": {"allDevices": True}}, first.access_token))["signOut"]
        assert result["sessionsEnded"] == 2
        await _refused(api, second.access_token)
