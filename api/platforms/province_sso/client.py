"""OpenID Connect client of the provincial unified identity platform (authorization code + PKCE S256)."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus, urlencode

import httpx
import jwt

from api.kit.clock import Clock, SystemClock
from api.kit.errors import ProviderError

ALGORITHMS = ("RS256", "ES256")
# Tolerated skew between our clock and the IdP's when checking exp and iat.
LEEWAY_SECONDS = 60
_REQUIRED_CLAIMS = ["iss", "aud", "sub", "exp", "iat"]


@dataclass(frozen=True)
class ProvinceIdentity:
    subject: str
    name: str
    id_type: str
    # Personal data: kept out of repr so that it never lands in a log line by accident.
    id_number: str = field(repr=False)
    phone: str | None = field(repr=False)
    authlevel: str


@dataclass(frozen=True)
class _Metadata:
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str


def _unavailable(message: str) -> ProviderError:
    return ProviderError(message, code="SSO_UNAVAILABLE")


def _token_invalid(message: str) -> ProviderError:
    return ProviderError(f"the identity platform's token is refused: {message}", code="SSO_TOKEN_INVALID")


class ProvinceSsoClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        issuer: str,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        scope: str = "openid profile phone",
        clock: Clock | None = None,
    ) -> None:
        self._http = http
        self._issuer = issuer
        self._client_id = client_id
        self._client_secret = client_secret
        self._redirect_uri = redirect_uri
        self._scope = scope
        self._clock = clock or SystemClock()
        self._metadata: _Metadata | None = None
        self._keys: dict[str, jwt.PyJWK] = {}

    async def authorization_url(self, *, state: str, nonce: str, code_challenge: str) -> str:
        endpoint = (await self._discover()).authorization_endpoint
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self._client_id,
                "redirect_uri": self._redirect_uri,
                "scope": self._scope,
                "state": state,
                "nonce": nonce,
                "code_challenge": code_challenge,
                "code_challenge_method": "S256",
            }
        )
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"

    async def exchange_code(self, *, code: str, code_verifier: str, nonce: str) -> ProvinceIdentity:
        metadata = await self._discover()
        id_token = await self._redeem(metadata, code, code_verifier)
        claims = await self._verify(metadata, id_token, nonce)
        return _identity(claims)

    async def _discover(self) -> _Metadata:
        if self._metadata is None:
            doc = await self._get_json(self._issuer.rstrip("/") + "/.well-known/openid-configuration")
            if doc.get("issuer") != self._issuer:
                raise _unavailable("the identity platform's discovery document names another issuer")
            endpoints = [doc.get(name) for name in ("authorization_endpoint", "token_endpoint", "jwks_uri")]
            if not all(isinstance(url, str) and url for url in endpoints):
                raise _unavailable("the identity platform's discovery document is incomplete")
            self._metadata = _Metadata(*[str(url) for url in endpoints])
        return self._metadata

    async def _redeem(self, metadata: _Metadata, code: str, code_verifier: str) -> str:
        # client_secret_basic: RFC 6749 §2.3.1 form-encodes both halves before base64.
        basic = f"{quote_plus(self._client_id)}:{quote_plus(self._client_secret)}".encode()
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self._redirect_uri,
            "code_verifier": code_verifier,
        }
        headers = {"Authorization": "Basic " + base64.b64encode(basic).decode(), "Accept": "application/json"}
        try:
            response = await self._http.post(metadata.token_endpoint, data=form, headers=headers)
        except httpx.HTTPError as exc:
            raise _unavailable("the identity platform cannot be reached") from exc
        if response.status_code >= 500:
            raise _unavailable(f"the identity platform failed (HTTP {response.status_code})")
        try:
            body: Any = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise _unavailable("the identity platform answered with something other than a JSON object")
        if response.status_code != 200:
            error = str(body.get("error", "unknown_error"))
            if error == "invalid_grant":
                raise ProviderError("the sign-in code is invalid, expired or used", code="SSO_CODE_INVALID")
            raise ProviderError(f"the identity platform refused the sign-in ({error})", code="SSO_ERROR")
        id_token = body.get("id_token")
        if not isinstance(id_token, str):
            raise _token_invalid("no id_token")
        return id_token

    async def _verify(self, metadata: _Metadata, id_token: str, nonce: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(id_token)
        except jwt.PyJWTError as exc:
            raise _token_invalid("malformed") from exc
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in ALGORITHMS or not isinstance(kid, str):
            raise _token_invalid(f"algorithm {alg!r} or key id {kid!r} not accepted")
        key = await self._signing_key(metadata, kid)
        if key is None or key.algorithm_name != alg:
            raise _token_invalid(f"unknown signing key {kid!r}")
        try:
            claims = jwt.decode(
                id_token,
                key,
                algorithms=[alg],
                audience=self._client_id,
                issuer=self._issuer,
                # Time is checked below against the injectable clock, which PyJWT cannot be given.
                options={
                    "require": _REQUIRED_CLAIMS,
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except jwt.PyJWTError as exc:
            raise _token_invalid(str(exc)) from exc
        self._check_time_and_binding(claims, nonce)
        return claims

    def _check_time_and_binding(self, claims: dict[str, Any], nonce: str) -> None:
        now = self._clock.now().timestamp()
        exp, iat = claims["exp"], claims["iat"]
        if not isinstance(exp, int | float) or not isinstance(iat, int | float):
            raise _token_invalid("exp and iat must be numbers")
        if exp + LEEWAY_SECONDS < now:
            raise _token_invalid("expired")
        if iat - LEEWAY_SECONDS > now:
            raise _token_invalid("issued in the future")
        audience = claims["aud"]
        if isinstance(audience, list) and len(audience) > 1 and claims.get("azp") != self._client_id:
            raise _token_invalid("issued to another party")
        # The nonce ties the token to the browser session that started the flow: a replayed token fails here.
        if claims.get("nonce") != nonce:
            raise _token_invalid("nonce mismatch")

    async def _signing_key(self, metadata: _Metadata, kid: str) -> jwt.PyJWK | None:
        if kid not in self._keys:
            # Cached keys do not know this kid: the IdP may have rotated, so refetch once.
            self._keys = await self._fetch_keys(metadata)
        return self._keys.get(kid)

    async def _fetch_keys(self, metadata: _Metadata) -> dict[str, jwt.PyJWK]:
        doc = await self._get_json(metadata.jwks_uri)
        keys: dict[str, jwt.PyJWK] = {}
        entries = doc.get("keys")
        for entry in entries if isinstance(entries, list) else []:
            if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str):
                continue
            if entry.get("use", "sig") != "sig":
                continue
            try:
                keys[entry["kid"]] = jwt.PyJWK(entry)
            except (jwt.PyJWTError, ValueError, KeyError, TypeError):
                continue  # a key we cannot use must not hide the others
        return keys

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = await self._http.get(url, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise _unavailable("the identity platform cannot be reached") from exc
        if response.status_code != 200:
            raise _unavailable(f"the identity platform failed (HTTP {response.status_code})")
        try:
            doc = response.json()
        except ValueError as exc:
            raise _unavailable("the identity platform answered with something other than JSON") from exc
        if not isinstance(doc, dict):
            raise _unavailable("the identity platform answered with something other than a JSON object")
        return doc


def _identity(claims: dict[str, Any]) -> ProvinceIdentity:
    def text(name: str) -> str:
        value = claims.get(name)
        if not isinstance(value, str | int) or isinstance(value, bool) or str(value) == "":
            raise _token_invalid(f"claim {name!r} missing")
        return str(value)

    phone = claims.get("phone")
    return ProvinceIdentity(
        subject=text("sub"),
        name=text("name"),
        id_type=text("id_type"),
        id_number=text("id_number"),
        phone=phone if isinstance(phone, str) and phone else None,
        authlevel=text("authlevel"),
    )
