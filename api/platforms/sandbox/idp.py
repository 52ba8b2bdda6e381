"""Provincial unified identity platform twin: an OpenID Connect provider (code flow, PKCE S256 required)."""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import json
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import unquote_plus, urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from api.kit.clock import Clock
from api.platforms.province_sso.pkce import pkce_challenge
from api.platforms.sandbox.base import Handler, ProviderCall, Sandbox
from api.platforms.sandbox.idp_accounts import DEFAULT_ACCOUNTS, IdpAccount
from api.platforms.sandbox.idp_keys import ALGORITHMS, KeyRing
from api.platforms.sandbox.idp_page import FORWARDED_ALL, error_page, login_page

CODE_TTL = timedelta(seconds=60)
ID_TOKEN_TTL = timedelta(minutes=5)
ACCESS_TOKEN_TTL_SECONDS = 3600
_VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


@dataclass(frozen=True)
class _AuthRequest:
    client_id: str
    redirect_uri: str
    state: str
    nonce: str | None
    code_challenge: str


class _AuthError(Exception):
    def __init__(self, error: str, description: str, *, redirectable: bool) -> None:
        super().__init__(description)
        self.error, self.description, self.redirectable = error, description, redirectable


@dataclass
class _Grant:
    request: _AuthRequest
    account: IdpAccount
    issued_at: datetime
    used: bool = False


class IdpSandbox(Sandbox):
    name = "idp"

    def __init__(self, hub_base_url: str, clock: Clock) -> None:
        super().__init__(hub_base_url, clock)
        self.issuer = self.base_url
        self.keys = KeyRing()
        self._clients: dict[str, tuple[str, frozenset[str]]] = {}
        self._accounts: dict[str, IdpAccount] = {}
        self._grants: dict[str, _Grant] = {}
        for account in DEFAULT_ACCOUNTS:
            self._accounts[account.subject] = account

    # -- in-process harness --

    def register_client(self, client_id: str, secret: str, redirect_uris: Iterable[str]) -> None:
        self._clients[client_id] = (secret, frozenset(redirect_uris))

    def add_account(
        self,
        subject: str,
        name: str,
        id_number: str,
        *,
        id_type: str = "1",
        phone: str | None = None,
        authlevel: str = "3",
    ) -> IdpAccount:
        """An account for the login page. `id_type` uses the provincial variant (1 = 身份证)."""
        account = IdpAccount(subject, name, id_type, id_number, phone, authlevel)
        self._accounts[subject] = account
        return account

    def accounts(self) -> list[IdpAccount]:
        return list(self._accounts.values())

    def rotate_key(self, alg: str = "RS256", *, publish: bool = True) -> str:
        """Sign from now on with a new key; unpublished, it is missing from the JWKS (an unknown kid)."""
        kid = self.keys.add(alg, publish=publish)
        self.keys.use(kid)
        return kid

    def use_key(self, kid: str) -> None:
        self.keys.use(kid)

    @property
    def signing_kid(self) -> str:
        return self.keys.signing_kid

    def issue_code(self, params: Mapping[str, str], account: IdpAccount) -> str:
        """Complete a login as `account`; raises ValueError for a request the IdP would refuse."""
        try:
            request = self._authorization_request(params)
        except _AuthError as exc:
            raise ValueError(f"{exc.error}: {exc.description}") from exc
        return self._grant(request, account)

    # -- routes --

    def provider_routes(self) -> list[tuple[str, list[str], Handler]]:
        return [
            ("/.well-known/openid-configuration", ["GET"], self._discovery),
            ("/jwks", ["GET"], self._jwks),
            ("/authorize", ["GET", "POST"], self._authorize),
            ("/token", ["POST"], self._token),
        ]

    def harness_routes(self) -> list[BaseRoute]:
        return [Route("/_control/authorize", self._control_authorize, methods=["POST"])]

    async def _discovery(self, call: ProviderCall) -> Response:
        return JSONResponse(
            {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/jwks",
                "response_types_supported": ["code"],
                "grant_types_supported": ["authorization_code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": list(ALGORITHMS),
                "scopes_supported": ["openid", "profile", "phone"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic"],
                "code_challenge_methods_supported": ["S256"],
                "claims_supported": ["sub", "name", "id_type", "id_number", "phone", "authlevel", "nonce"],
            }
        )

    async def _jwks(self, call: ProviderCall) -> Response:
        return JSONResponse(self.keys.jwks())

    async def _authorize(self, call: ProviderCall) -> Response:
        params = call.form if call.method == "POST" else call.query
        try:
            request = self._authorization_request(params)
        except _AuthError as exc:
            if not exc.redirectable:
                return HTMLResponse(error_page(exc.description), status_code=400)
            error = {
                "error": exc.error,
                "error_description": exc.description,
                "state": params.get("state", ""),
            }
            return RedirectResponse(_with_query(params["redirect_uri"], error), status_code=302)
        if call.method == "GET":
            return HTMLResponse(login_page(f"{self.issuer}/authorize", params, self.accounts()))
        if call.form.get("deny"):
            denied = {"error": "access_denied", "state": request.state}
            return RedirectResponse(_with_query(request.redirect_uri, denied), status_code=302)
        account = self._accounts.get(call.form.get("subject", ""))
        if account is None:
            return HTMLResponse(error_page("unknown account"), status_code=400)
        code = self._grant(request, account)
        return RedirectResponse(_with_query(request.redirect_uri, {"code": code, "state": request.state}), 302)

    async def _control_authorize(self, request: Request) -> Response:
        try:
            payload = json.loads(await request.body())
            if not isinstance(payload, dict):
                raise ValueError("body must be a JSON object")
            params = {name: str(payload[name]) for name in FORWARDED_ALL if payload.get(name) is not None}
            account = IdpAccount(
                subject=str(payload["subject"]),
                name=str(payload["name"]),
                id_type=str(payload.get("idType") or "1"),
                id_number=str(payload["idNumber"]),
                phone=str(payload["phone"]) if payload.get("phone") else None,
                authlevel=str(payload.get("authlevel") or "3"),
            )
            code = self.issue_code({"response_type": "code", "scope": "openid", **params}, account)
        except (ValueError, KeyError) as exc:
            return JSONResponse({"error": "invalid_request", "error_description": str(exc)}, status_code=400)
        return JSONResponse({"code": code})

    async def _token(self, call: ProviderCall) -> Response:
        client_id = self._authenticate_client(call.request.headers.get("authorization", ""))
        if client_id is None:
            headers = {"WWW-Authenticate": 'Basic realm="idp"', **_NO_STORE}
            return _oauth_error("invalid_client", "client authentication failed", 401, headers)
        form = call.form
        if form.get("grant_type") != "authorization_code":
            return _oauth_error("unsupported_grant_type", "only authorization_code is supported")
        if not form.get("code") or not form.get("redirect_uri") or not form.get("code_verifier"):
            return _oauth_error("invalid_request", "code, redirect_uri and code_verifier are required")
        grant = self._grants.get(form["code"])
        if grant is None or grant.request.client_id != client_id:
            return _oauth_error("invalid_grant", "unknown code")
        if grant.used:
            return _oauth_error("invalid_grant", "code already used")
        # Burnt on first presentation, whatever follows: a wrong verifier cannot be retried against it.
        grant.used = True
        now = self.clock.now()
        if now - grant.issued_at > CODE_TTL:
            return _oauth_error("invalid_grant", "code expired")
        if form["redirect_uri"] != grant.request.redirect_uri:
            return _oauth_error("invalid_grant", "redirect_uri does not match the authorization request")
        verifier = form["code_verifier"]
        if not _VERIFIER.match(verifier) or pkce_challenge(verifier) != grant.request.code_challenge:
            return _oauth_error("invalid_grant", "PKCE verification failed")
        id_token = await asyncio.to_thread(self.keys.sign, self._claims(grant, now), forged=call.action.bad_signature)
        return JSONResponse(
            {
                "access_token": secrets.token_urlsafe(32),
                "token_type": "Bearer",
                "expires_in": ACCESS_TOKEN_TTL_SECONDS,
                "id_token": id_token,
            },
            headers=_NO_STORE,
        )

    # -- rules --

    def _authorization_request(self, params: Mapping[str, str]) -> _AuthRequest:
        client = self._clients.get(params.get("client_id", ""))
        if client is None:
            raise _AuthError("invalid_client", "unknown client_id", redirectable=False)
        redirect_uri = params.get("redirect_uri", "")
        if redirect_uri not in client[1]:
            raise _AuthError("invalid_request", "redirect_uri is not registered for this client", redirectable=False)
        if params.get("response_type") != "code":
            raise _AuthError("unsupported_response_type", "only response_type=code", redirectable=True)
        if "openid" not in params.get("scope", "").split():
            raise _AuthError("invalid_scope", "scope must include openid", redirectable=True)
        if not params.get("code_challenge") or params.get("code_challenge_method") != "S256":
            raise _AuthError("invalid_request", "PKCE with code_challenge_method=S256 is required", redirectable=True)
        return _AuthRequest(
            params["client_id"],
            redirect_uri,
            params.get("state", ""),
            params.get("nonce") or None,
            params["code_challenge"],
        )

    def _grant(self, request: _AuthRequest, account: IdpAccount) -> str:
        now = self.clock.now()
        self._grants = {c: g for c, g in self._grants.items() if now - g.issued_at <= CODE_TTL and not g.used}
        code = secrets.token_urlsafe(32)
        self._grants[code] = _Grant(request, account, now)
        return code

    def _authenticate_client(self, authorization: str) -> str | None:
        scheme, _, encoded = authorization.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            client_id, _, secret = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        client_id, secret = unquote_plus(client_id), unquote_plus(secret)
        client = self._clients.get(client_id)
        if client is None or not hmac.compare_digest(client[0].encode(), secret.encode()):
            return None
        return client_id

    def _claims(self, grant: _Grant, now: datetime) -> dict[str, Any]:
        account, issued = grant.account, int(now.timestamp())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": account.subject,
            "aud": grant.request.client_id,
            "iat": issued,
            "exp": issued + int(ID_TOKEN_TTL.total_seconds()),
            "auth_time": int(grant.issued_at.timestamp()),
            "name": account.name,
            "id_type": account.id_type,
            "id_number": account.id_number,
            "authlevel": account.authlevel,
        }
        if grant.request.nonce is not None:
            claims["nonce"] = grant.request.nonce
        if account.phone:
            claims["phone"] = account.phone
        return claims


def _oauth_error(error: str, description: str, status: int = 400, headers: dict[str, str] | None = None) -> Response:
    body = {"error": error, "error_description": description}
    return JSONResponse(body, status_code=status, headers=headers or _NO_STORE)


def _with_query(uri: str, params: Mapping[str, str]) -> str:
    return f"{uri}{'&' if '?' in uri else '?'}{urlencode(params)}"
