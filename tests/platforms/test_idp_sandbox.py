"""The IdP sandbox itself: the browser flow of its login page, its control shortcut and its token endpoint."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from api.kit.clock import ShiftableClock
from api.kit.codes import is_valid_id_number
from api.platforms.province_sso import ProvinceSsoClient, pkce_pair
from api.platforms.sandbox import SandboxHub
from tests.platforms.support import SSO_CLIENT_ID, SSO_CLIENT_SECRET, SSO_REDIRECT_URI, basic_auth, sso_code


def _query(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))


class TestLoginPage:
    async def test_lists_the_synthetic_accounts_in_a_form_carrying_the_request(
        self, sso: ProvinceSsoClient, http: httpx.AsyncClient
    ) -> None:
        # given
        url = await sso.authorization_url(state="s-1", nonce="n-1", code_challenge="c" * 43)

        # when
        page = await http.get(url)

        # then
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "张演示一" in page.text
        assert "李演示二" in page.text
        assert '<input type="hidden" name="code_challenge" value="' + "c" * 43 + '">' in page.text
        assert '<button type="submit" name="subject" value="sandbox-0001">' in page.text

    async def test_choosing_an_account_redirects_with_a_code_the_client_redeems(
        self, sso: ProvinceSsoClient, hub: SandboxHub, http: httpx.AsyncClient
    ) -> None:
        # given the login page opened for a PKCE request
        verifier, challenge = pkce_pair()
        url = await sso.authorization_url(state="s-1", nonce="n-1", code_challenge=challenge)

        # when the person picks the first account
        chosen = await http.post(f"{hub.idp.issuer}/authorize", data={**_query(url), "subject": "sandbox-0001"})

        # then
        assert chosen.status_code == 302
        location = chosen.headers["location"]
        assert location.startswith(f"{SSO_REDIRECT_URI}?")
        callback = _query(location)
        assert callback["state"] == "s-1"
        identity = await sso.exchange_code(code=callback["code"], code_verifier=verifier, nonce="n-1")
        assert (identity.subject, identity.name, identity.phone, identity.authlevel) == (
            "sandbox-0001",
            "张演示一",
            "13800000001",
            "3",
        )
        assert is_valid_id_number(identity.id_number)
        assert identity.id_number.startswith("99")

    async def test_denying_redirects_with_access_denied(
        self, sso: ProvinceSsoClient, hub: SandboxHub, http: httpx.AsyncClient
    ) -> None:
        url = await sso.authorization_url(state="s-1", nonce="n-1", code_challenge="c" * 43)
        denied = await http.post(f"{hub.idp.issuer}/authorize", data={**_query(url), "deny": "1"})
        assert denied.status_code == 302
        assert _query(denied.headers["location"]) == {"error": "access_denied", "state": "s-1"}

    async def test_an_unregistered_redirect_uri_is_never_redirected_to(
        self, sso: ProvinceSsoClient, http: httpx.AsyncClient
    ) -> None:
        url = await sso.authorization_url(state="s-1", nonce="n-1", code_challenge="c" * 43)
        page = await http.get(url.replace("zsb%3A%2F%2Fsso%2Fcallback", "https%3A%2F%2Fevil.example%2F"))
        assert page.status_code == 400
        assert "location" not in page.headers

    async def test_a_request_without_pkce_is_sent_back_with_an_error(
        self, hub: SandboxHub, http: httpx.AsyncClient
    ) -> None:
        params = {
            "response_type": "code",
            "client_id": SSO_CLIENT_ID,
            "redirect_uri": SSO_REDIRECT_URI,
            "scope": "openid",
            "state": "s-1",
        }
        page = await http.get(f"{hub.idp.issuer}/authorize", params=params)
        assert page.status_code == 302
        assert _query(page.headers["location"])["error"] == "invalid_request"


class TestControlAuthorize:
    @pytest.mark.parametrize(
        "body",
        [
            {},
            {
                "client_id": SSO_CLIENT_ID,
                "redirect_uri": SSO_REDIRECT_URI,
                "code_challenge": "c",
                "code_challenge_method": "plain",
                "subject": "s",
                "name": "n",
                "idNumber": "1",
            },
            {
                "client_id": SSO_CLIENT_ID,
                "redirect_uri": SSO_REDIRECT_URI,
                "code_challenge": "c",
                "code_challenge_method": "S256",
                "name": "n",
                "idNumber": "1",
            },
        ],
        ids=["empty", "plain PKCE", "no subject"],
    )
    async def test_refuses_what_the_idp_would_refuse(
        self, hub: SandboxHub, http: httpx.AsyncClient, body: dict[str, str]
    ) -> None:
        response = await http.post(f"{hub.idp.control_url}/authorize", json=body)
        assert (response.status_code, response.json()["error"]) == (400, "invalid_request")


class TestTokenEndpoint:
    """The IdP's own reasons for refusing a code, which the client folds into SSO_CODE_INVALID."""

    async def _redeem(self, http: httpx.AsyncClient, hub: SandboxHub, **form: str) -> httpx.Response:
        return await http.post(f"{hub.idp.issuer}/token", data=form, headers={"Authorization": basic_auth()})

    @pytest.mark.parametrize(
        ("tamper", "description"),
        [
            ({"code_verifier": "x" * 43}, "PKCE verification failed"),
            ({"code_verifier": "short"}, "PKCE verification failed"),
            ({"redirect_uri": "zsb://elsewhere"}, "redirect_uri does not match the authorization request"),
            ({"code": "never-issued"}, "unknown code"),
        ],
    )
    async def test_refuses_a_tampered_redemption(
        self, hub: SandboxHub, http: httpx.AsyncClient, tamper: dict[str, str], description: str
    ) -> None:
        # given
        verifier, challenge = pkce_pair()
        form = {
            "grant_type": "authorization_code",
            "code": await sso_code(http, hub, challenge),
            "redirect_uri": SSO_REDIRECT_URI,
            "code_verifier": verifier,
        }

        # when
        response = await self._redeem(http, hub, **{**form, **tamper})

        # then
        assert response.status_code == 400
        assert response.json() == {"error": "invalid_grant", "error_description": description}
        assert response.headers["cache-control"] == "no-store"

    async def test_refuses_a_used_and_an_expired_code(
        self, hub: SandboxHub, http: httpx.AsyncClient, clock: ShiftableClock
    ) -> None:
        # given
        verifier, challenge = pkce_pair()
        used, late = await sso_code(http, hub, challenge), await sso_code(http, hub, challenge)
        form = {
            "grant_type": "authorization_code",
            "redirect_uri": SSO_REDIRECT_URI,
            "code_verifier": verifier,
        }
        assert (await self._redeem(http, hub, code=used, **form)).status_code == 200
        clock.advance(timedelta(seconds=61))

        # when
        again = await self._redeem(http, hub, code=used, **form)
        expired = await self._redeem(http, hub, code=late, **form)

        # then
        assert again.json()["error_description"] == "code already used"
        assert expired.json()["error_description"] == "code expired"

    async def test_refuses_a_client_without_basic_authentication(
        self, hub: SandboxHub, http: httpx.AsyncClient
    ) -> None:
        response = await http.post(
            f"{hub.idp.issuer}/token", data={"client_id": SSO_CLIENT_ID, "client_secret": SSO_CLIENT_SECRET}
        )
        assert (response.status_code, response.json()["error"]) == (401, "invalid_client")
        assert response.headers["www-authenticate"] == 'Basic realm="idp"'
