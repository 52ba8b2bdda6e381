"""The provincial SSO client (OIDC code flow + PKCE) against the IdP sandbox, over real HTTP."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from api.kit.clock import ShiftableClock
from api.kit.errors import ProviderError
from api.platforms.province_sso import ProvinceIdentity, ProvinceSsoClient, pkce_pair
from api.platforms.sandbox import SandboxHub
from tests.platforms.support import (
    SSO_CLIENT_ID,
    SSO_ID_NUMBER,
    SSO_NONCE,
    SSO_REDIRECT_URI,
    OffsetClock,
    sso_client,
    sso_code,
)


@pytest.fixture
def restore_signing_key(hub: SandboxHub) -> Iterator[None]:
    kid = hub.idp.signing_kid
    yield
    hub.idp.use_key(kid)


async def _refusal(client: ProvinceSsoClient, code: str, verifier: str, nonce: str = SSO_NONCE) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        await client.exchange_code(code=code, code_verifier=verifier, nonce=nonce)
    return caught.value


def _count(hub: SandboxHub, path: str) -> int:
    return sum(1 for request in hub.idp.requests() if request.path == path)


EXPECTED = ProvinceIdentity("sub-330102", "王演示三", "1", SSO_ID_NUMBER, "13800000001", "3")


class TestAuthorizationUrl:
    async def test_points_at_the_discovered_endpoint_with_every_parameter(
        self, sso: ProvinceSsoClient, hub: SandboxHub
    ) -> None:
        # when
        url = await sso.authorization_url(state="s-1", nonce=SSO_NONCE, code_challenge="c-1")
        again = await sso.authorization_url(state="s-2", nonce=SSO_NONCE, code_challenge="c-2")

        # then
        parts = urlsplit(url)
        assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{hub.idp.issuer}/authorize"
        assert dict(parse_qsl(parts.query)) == {
            "response_type": "code",
            "client_id": SSO_CLIENT_ID,
            "redirect_uri": SSO_REDIRECT_URI,
            "scope": "openid profile phone",
            "state": "s-1",
            "nonce": SSO_NONCE,
            "code_challenge": "c-1",
            "code_challenge_method": "S256",
        }
        assert "state=s-2" in again
        assert _count(hub, "/.well-known/openid-configuration") == 1

    async def test_a_discovery_document_of_another_issuer_is_refused(
        self, sso: ProvinceSsoClient, hub: SandboxHub
    ) -> None:
        # given
        forged = {
            "issuer": "https://idp.example",
            "authorization_endpoint": "https://idp.example/a",
            "token_endpoint": "https://idp.example/t",
            "jwks_uri": "https://idp.example/k",
        }
        hub.idp.script({"path": "/.well-known/*"}, {"body": forged})

        # when
        with pytest.raises(ProviderError) as caught:
            await sso.authorization_url(state="s", nonce=SSO_NONCE, code_challenge="c")

        # then
        assert caught.value.code == "SSO_UNAVAILABLE"

    async def test_a_failing_discovery_is_unavailable_and_not_cached(
        self, sso: ProvinceSsoClient, hub: SandboxHub
    ) -> None:
        # given
        hub.idp.script({"path": "/.well-known/*"}, {"status": 500})

        # when
        with pytest.raises(ProviderError) as caught:
            await sso.authorization_url(state="s", nonce=SSO_NONCE, code_challenge="c")

        # then
        assert caught.value.code == "SSO_UNAVAILABLE"
        assert (await sso.authorization_url(state="s", nonce=SSO_NONCE, code_challenge="c")).startswith(hub.idp.issuer)


class TestExchangeCode:
    async def test_a_code_gives_the_verified_identity(
        self, sso: ProvinceSsoClient, hub: SandboxHub, http: httpx.AsyncClient
    ) -> None:
        # given
        verifier, challenge = pkce_pair()
        code = await sso_code(http, hub, challenge)

        # when
        identity = await sso.exchange_code(code=code, code_verifier=verifier, nonce=SSO_NONCE)

        # then
        assert identity == EXPECTED
        assert SSO_ID_NUMBER not in repr(identity)
        [token_request] = [r for r in hub.idp.requests() if r.path == "/token"]
        assert token_request.body == {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": SSO_REDIRECT_URI,
            "code_verifier": verifier,
        }
        basic = base64.b64encode(b"zsb-mobile:sso+test%2Fsecret%2B1").decode()
        assert token_request.headers["authorization"] == f"Basic {basic}"

    async def test_an_es256_id_token_is_accepted(
        self, sso: ProvinceSsoClient, hub: SandboxHub, http: httpx.AsyncClient, restore_signing_key: None
    ) -> None:
        # given
        hub.idp.rotate_key("ES256")
        verifier, challenge = pkce_pair()

        # when
        identity = await sso.exchange_code(
            code=await sso_code(http, hub, challenge), code_verifier=verifier, nonce=SSO_NONCE
        )

        # then
        assert identity == EXPECTED

    async def test_a_rotated_key_is_fetched_once(
        self, sso: ProvinceSsoClient, hub: SandboxHub, http: httpx.AsyncClient, restore_signing_key: None
    ) -> None:
        # given a client that has cached the JWKS, then an IdP that rotates its key
        verifier, challenge = pkce_pair()
        await sso.exchange_code(code=await sso_code(http, hub, challenge), code_verifier=verifier, nonce=SSO_NONCE)
        hub.idp.rotate_key("RS256")

        # when
        identity = await sso.exchange_code(
            code=await sso_code(http, hub, challenge), code_verifier=verifier, nonce=SSO_NONCE
        )

        # then
        assert identity == EXPECTED
        assert _count(hub, "/jwks") == 2

    async def test_an_unknown_kid_is_refused_after_one_refetch(
        self, sso: ProvinceSsoClient, hub: SandboxHub, http: httpx.AsyncClient, restore_signing_key: None
    ) -> None:
        # given a warmed cache, then tokens signed by a key the JWKS never shows
        verifier, challenge = pkce_pair()
        await sso.exchange_code(code=await sso_code(http, hub, challenge), code_verifier=verifier, nonce=SSO_NONCE)
        kid = hub.idp.rotate_key("RS256", publish=False)

        # when
        error = await _refusal(sso, await sso_code(http, hub, challenge), verifier)

        # then
        assert (error.code, error.message) == (
            "SSO_TOKEN_INVALID",
            f"the identity platform's token is refused: unknown signing key {kid!r}",
        )
        assert _count(hub, "/jwks") == 2

    async def test_a_verifier_mismatch_is_an_invalid_code_and_burns_it(
        self, sso: ProvinceSsoClient, hub: SandboxHub, http: httpx.AsyncClient
    ) -> None:
        # given
        verifier, challenge = pkce_pair()
        code = await sso_code(http, hub, challenge)

        # when
        error = await _refusal(sso, code, pkce_pair()[0])

        # then
        assert error.code == "SSO_CODE_INVALID"
        assert (await _refusal(sso, code, verifier)).code == "SSO_CODE_INVALID"

    async def test_a_used_code_is_invalid(
        self, sso: ProvinceSsoClient, hub: SandboxHub, http: httpx.AsyncClient
    ) -> None:
        verifier, challenge = pkce_pair()
        code = await sso_code(http, hub, challenge)
        await sso.exchange_code(code=code, code_verifier=verifier, nonce=SSO_NONCE)
        assert (await _refusal(sso, code, verifier)).code == "SSO_CODE_INVALID"

    async def test_an_expired_code_is_invalid(
        self, sso: ProvinceSsoClient, hub: SandboxHub, http: httpx.AsyncClient, clock: ShiftableClock
    ) -> None:
        verifier, challenge = pkce_pair()
        code = await sso_code(http, hub, challenge)
        clock.advance(timedelta(seconds=61))
        assert (await _refusal(sso, code, verifier)).code == "SSO_CODE_INVALID"

    async def test_another_redirect_uri_is_an_invalidsso_code(
        self, hub: SandboxHub, http: httpx.AsyncClient, clock: ShiftableClock
    ) -> None:
        verifier, challenge = pkce_pair()
        code = await sso_code(http, hub, challenge)
        other = sso_client(http, hub, clock, redirect_uri="zsb://elsewhere")
        assert (await _refusal(other, code, verifier)).code == "SSO_CODE_INVALID"

    async def test_a_nonce_mismatch_is_an_invalid_token(
        self, sso: ProvinceSsoClient, hub: SandboxHub, http: httpx.AsyncClient
    ) -> None:
        verifier, challenge = pkce_pair()
        code = await sso_code(http, hub, challenge)
        error = await _refusal(sso, code, verifier, nonce="another-nonce")
        assert (error.code, error.message) == (
            "SSO_TOKEN_INVALID",
            "the identity platform's token is refused: nonce mismatch",
        )

    async def test_a_forged_signature_is_an_invalid_token(
        self, sso: ProvinceSsoClient, hub: SandboxHub, http: httpx.AsyncClient
    ) -> None:
        verifier, challenge = pkce_pair()
        code = await sso_code(http, hub, challenge)
        hub.idp.script({"path": "/token"}, {"badSignature": True})
        error = await _refusal(sso, code, verifier)
        assert (error.code, error.message) == (
            "SSO_TOKEN_INVALID",
            "the identity platform's token is refused: Signature verification failed",
        )

    async def test_a_token_issued_to_another_client_is_an_invalid_token(
        self, sso: ProvinceSsoClient, hub: SandboxHub, http: httpx.AsyncClient
    ) -> None:
        # given a genuine id_token that the IdP issued to another client
        hub.idp.register_client("other-app", "other-secret", [SSO_REDIRECT_URI])
        verifier, challenge = pkce_pair()
        code = await sso_code(http, hub, challenge, client_id="other-app")
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": SSO_REDIRECT_URI,
            "code_verifier": verifier,
        }
        theirs = await http.post(f"{hub.idp.issuer}/token", data=form, auth=("other-app", "other-secret"))
        hub.idp.script({"path": "/token"}, {"body": theirs.json()})

        # when
        error = await _refusal(sso, await sso_code(http, hub, challenge), verifier)

        # then
        assert (error.code, error.message) == (
            "SSO_TOKEN_INVALID",
            "the identity platform's token is refused: Audience doesn't match",
        )

    async def test_an_expired_id_token_is_invalid(
        self, hub: SandboxHub, http: httpx.AsyncClient, clock: ShiftableClock
    ) -> None:
        # given a client whose clock is past the token's five minutes and the leeway
        late = sso_client(http, hub, OffsetClock(clock, timedelta(minutes=6, seconds=1)))
        verifier, challenge = pkce_pair()

        # when
        error = await _refusal(late, await sso_code(http, hub, challenge), verifier)

        # then
        assert (error.code, error.message) == (
            "SSO_TOKEN_INVALID",
            "the identity platform's token is refused: expired",
        )

    async def test_a_wrong_client_secret_is_refused(
        self, hub: SandboxHub, http: httpx.AsyncClient, clock: ShiftableClock
    ) -> None:
        verifier, challenge = pkce_pair()
        code = await sso_code(http, hub, challenge)
        error = await _refusal(sso_client(http, hub, clock, secret="wrong"), code, verifier)
        assert (error.code, error.message) == (
            "SSO_ERROR",
            "the identity platform refused the sign-in (invalid_client)",
        )

    @pytest.mark.parametrize("action", [{"status": 500}, {"disconnect": True}, {"body": "<html>oops</html>"}])
    async def test_a_failing_token_endpoint_is_unavailable(
        self, sso: ProvinceSsoClient, hub: SandboxHub, http: httpx.AsyncClient, action: dict[str, Any]
    ) -> None:
        verifier, challenge = pkce_pair()
        code = await sso_code(http, hub, challenge)
        hub.idp.script({"path": "/token"}, action)
        assert (await _refusal(sso, code, verifier)).code == "SSO_UNAVAILABLE"

    async def test_a_token_endpoint_slower_than_the_timeout_is_unavailable(
        self,
        impatient_http: httpx.AsyncClient,
        hub: SandboxHub,
        http: httpx.AsyncClient,
        clock: ShiftableClock,
    ) -> None:
        verifier, challenge = pkce_pair()
        code = await sso_code(http, hub, challenge)
        hub.idp.script({"path": "/token"}, {"delayMs": 1000})
        assert (await _refusal(sso_client(impatient_http, hub, clock), code, verifier)).code == "SSO_UNAVAILABLE"
