"""ES256 access tokens: short-lived, `kid` in the header, several verification keys for rotation."""

from __future__ import annotations

import base64
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

import jwt
import orjson
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from api.kit.clock import Clock
from api.kit.errors import Unauthenticated

# A service principal is a machine producer (emitNotificationEvent): no session row, no refresh token.
PrincipalKind = Literal["citizen", "operator", "service"]


@dataclass(frozen=True)
class AccessClaims:
    subject: uuid.UUID
    kind: PrincipalKind
    family_id: uuid.UUID
    level: int
    expires_at: datetime
    acting_as_enterprise_id: uuid.UUID | None = None
    agent_authorization_id: uuid.UUID | None = None
    roles: tuple[str, ...] = field(default=())
    department_id: uuid.UUID | None = None


def generate_signing_key_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


class TokenService:
    def __init__(
        self, *, keys_pem: dict[str, str], signing_kid: str, issuer: str, audience: str, ttl: timedelta, clock: Clock
    ) -> None:
        if signing_kid not in keys_pem:
            raise ValueError(f"signing key {signing_kid!r} is not among the configured keys")
        private: dict[str, ec.EllipticCurvePrivateKey] = {}
        for kid, pem in keys_pem.items():
            key = serialization.load_pem_private_key(pem.encode(), None)
            if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
                raise ValueError(f"key {kid!r} is not a P-256 key (ES256)")
            private[kid] = key
        self._signing_key = private[signing_kid]
        self._signing_kid = signing_kid
        # Parsed once: loading a PEM per request would cost more than the verification itself.
        self._public = {kid: key.public_key() for kid, key in private.items()}
        self._issuer = issuer
        self._audience = audience
        self._ttl = ttl
        self._clock = clock
        self._jws = jwt.PyJWS()

    @property
    def ttl(self) -> timedelta:
        return self._ttl

    def issue(self, claims: AccessClaims) -> str:
        now = self._clock.now()
        payload: dict[str, Any] = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": str(claims.subject),
            "typ": claims.kind,
            "sid": str(claims.family_id),
            "lvl": claims.level,
            "iat": int(now.timestamp()),
            "exp": int(claims.expires_at.timestamp()),
        }
        if claims.acting_as_enterprise_id:
            payload["act"] = str(claims.acting_as_enterprise_id)
        if claims.agent_authorization_id:
            payload["agt"] = str(claims.agent_authorization_id)
        if claims.roles:
            payload["roles"] = list(claims.roles)
        if claims.department_id:
            payload["dep"] = str(claims.department_id)
        return jwt.encode(payload, self._signing_key, algorithm="ES256", headers={"kid": self._signing_kid})

    def expiry_from_now(self) -> datetime:
        return self._clock.now() + self._ttl

    def verify(self, token: str) -> AccessClaims:
        try:
            key = self._public.get(_kid(token))
            if key is None:
                raise Unauthenticated("unknown signing key")
            # Only ES256 is accepted: this refuses alg=none and HS256 signed with the public key.
            payload = jwt.decode(
                token,
                key,
                algorithms=["ES256"],
                audience=self._audience,
                issuer=self._issuer,
                options={
                    "require": ["exp", "iss", "aud", "sub", "typ", "sid"],
                    "verify_exp": False,
                    "verify_iat": False,
                },
            )
        except (jwt.PyJWTError, ValueError) as exc:  # ValueError covers bad base64 and JSON
            raise Unauthenticated("invalid access token") from exc
        # Expiry is checked against the injectable clock, so that tests can move time.
        if payload["exp"] <= self._clock.now().timestamp():
            raise Unauthenticated("access token expired")
        kind = payload["typ"]
        if kind not in ("citizen", "operator", "service"):
            raise Unauthenticated("invalid access token")
        try:
            return AccessClaims(
                subject=uuid.UUID(payload["sub"]),
                kind=kind,
                family_id=uuid.UUID(payload["sid"]),
                level=int(payload.get("lvl", 0)),
                expires_at=datetime.fromtimestamp(payload["exp"], tz=self._clock.now().tzinfo),
                acting_as_enterprise_id=_uuid_or_none(payload.get("act")),
                agent_authorization_id=_uuid_or_none(payload.get("agt")),
                roles=tuple(payload.get("roles", ())),
                department_id=_uuid_or_none(payload.get("dep")),
            )
        except (ValueError, TypeError) as exc:
            raise Unauthenticated("invalid access token") from exc


class VerifiedTokens:
    """`TokenService.verify` behind a bounded LRU of tokens already verified, keyed by the exact token string.

    An app sends the same access token with every request until it expires, and the ES256 signature check is the
    dearest step of a request's authentication (≈0.1 ms). A hit is the same bytes whose signature was checked
    before, so it is as good as a fresh check; expiry is still compared with the clock on every hit, and only
    successful verifications are kept. Revocation is not this cache's business: callers check it per request.
    """

    def __init__(self, tokens: TokenService, clock: Clock, maxsize: int = 4096) -> None:
        self._tokens = tokens
        self._clock = clock
        self._maxsize = maxsize
        self._verified: OrderedDict[str, AccessClaims] = OrderedDict()

    def verify(self, token: str) -> AccessClaims:
        claims = self._verified.get(token)
        if claims is None:
            claims = self._tokens.verify(token)
            self._verified[token] = claims
            if len(self._verified) > self._maxsize:
                self._verified.popitem(last=False)
            return claims
        if claims.expires_at <= self._clock.now():
            del self._verified[token]
            raise Unauthenticated("access token expired")
        self._verified.move_to_end(token)
        return claims


def _kid(token: str) -> str:
    """The `kid` of the header segment alone: PyJWT's get_unverified_header would decode the whole token, and
    decode() does it again, a third of the cost of a verification."""
    segment = token.split(".", 1)[0]
    header = orjson.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    if not isinstance(header, dict):
        raise ValueError("malformed header")
    return str(header.get("kid"))


def _uuid_or_none(value: object) -> uuid.UUID | None:
    return uuid.UUID(str(value)) if value else None
