"""How the APNs sandbox answers (§1.4): provider-token checks, device-token conventions and per-token scripts."""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

TOKEN_MAX_AGE_S = 3600  # Apple rejects provider tokens older than one hour
MAX_PAYLOAD_BYTES = 4096

DEFAULT_REASONS = {
    400: "BadRequest",
    403: "InvalidProviderToken",
    404: "BadPath",
    405: "MethodNotAllowed",
    410: "Unregistered",
    413: "PayloadTooLarge",
    429: "TooManyRequests",
    500: "InternalServerError",
    503: "ServiceUnavailable",
}
_STEP_KEYS = frozenset({"status", "reason", "delayMs", "noAnswer", "goaway", "retryAfter"})
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")


@dataclass(frozen=True)
class Step:
    """One answer: a status (and reason), possibly after a delay, or no answer at all, or a GOAWAY."""

    status: int = 200
    reason: str | None = None
    delay_ms: int = 0
    no_answer: bool = False
    goaway: bool = False
    retry_after: int | None = None  # seconds, sent as `retry-after` with an error

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": self.status, "reason": self.reason, "delayMs": self.delay_ms}
        out |= {"noAnswer": self.no_answer, "goaway": self.goaway, "retryAfter": self.retry_after}
        return out


OK = Step()


def parse_step(raw: object) -> Step:
    """A status (int) or an action object; ValueError for anything else, so bad scripts answer 400."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = {"status": raw}
    if not isinstance(raw, Mapping) or not raw or set(raw) - _STEP_KEYS:
        raise ValueError(f"a step is an HTTP status or an object with some of {sorted(_STEP_KEYS)}")
    status = raw.get("status", 200)
    if not isinstance(status, int) or isinstance(status, bool) or not 200 <= status <= 599:
        raise ValueError("step.status must be an HTTP status")
    reason = raw.get("reason")
    if reason is not None and (not isinstance(reason, str) or not reason):
        raise ValueError("step.reason must be a non-empty string")
    delay = raw.get("delayMs", 0)
    if not isinstance(delay, int) or isinstance(delay, bool) or not 0 <= delay <= 600_000:
        raise ValueError("step.delayMs must be an integer between 0 and 600000")
    retry_after = raw.get("retryAfter")
    if retry_after is not None and (
        not isinstance(retry_after, int) or isinstance(retry_after, bool) or retry_after < 0
    ):
        raise ValueError("step.retryAfter must be a non-negative integer")
    flags = {name: raw.get(name, False) for name in ("noAnswer", "goaway")}
    if any(not isinstance(value, bool) for value in flags.values()):
        raise ValueError("step.noAnswer and step.goaway must be booleans")
    if status != 200 and reason is None:
        reason = DEFAULT_REASONS.get(status, "InternalServerError")
    return Step(status, reason, delay, flags["noAnswer"], flags["goaway"], retry_after)


def parse_sequence(raw: object) -> list[Step]:
    if not isinstance(raw, list) or not raw:
        raise ValueError("sequence must be a non-empty list of steps")
    return [parse_step(item) for item in raw]


def convention(token: str) -> Step:
    """The answer a device token gets when no script is left for it."""
    if _HEX64.fullmatch(token):
        return OK
    for prefix, step in _CONVENTIONS:
        if token.startswith(prefix):
            return step
    return Step(400, "BadDeviceToken")  # Apple's answer to anything that is not a device token


_CONVENTIONS: tuple[tuple[str, Step], ...] = (
    ("bad", Step(400, "BadDeviceToken")),
    ("gone", Step(410, "Unregistered")),
    ("busy", Step(429, "TooManyRequests")),
    ("boom", Step(500, "InternalServerError")),
    ("slow", Step(no_answer=True)),
    ("goaway", Step(goaway=True)),
)


@dataclass(frozen=True)
class TokenCheck:
    reason: str | None  # None: accepted
    fingerprint: str | None  # first 16 hex of SHA-256 of the JWT, None without one
    issued_at: int = 0


class ProviderTokenVerifier:
    """Checks `authorization: bearer <ES256 JWT>`; verified tokens are cached, since a client reuses one for 30 min."""

    def __init__(self, public_key: ec.EllipticCurvePublicKey, key_id: str, team_id: str) -> None:
        self._public_key = public_key
        self._key_id = key_id
        self._team_id = team_id
        self._verified: dict[bytes, TokenCheck] = {}

    def check(self, authorization: bytes | None) -> TokenCheck:
        if not authorization:
            return TokenCheck("MissingProviderToken", None)
        known = self._verified.get(authorization)
        if known is None:
            known = self._verify(authorization)
            if len(self._verified) > 1000:
                self._verified.clear()
            self._verified[authorization] = known
        if known.reason is None and known.issued_at < time.time() - TOKEN_MAX_AGE_S:
            return TokenCheck("ExpiredProviderToken", known.fingerprint, known.issued_at)
        return known

    def _verify(self, authorization: bytes) -> TokenCheck:
        scheme, _, token = authorization.decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return TokenCheck("MissingProviderToken", None)
        fingerprint = hashlib.sha256(token.encode("latin-1")).hexdigest()[:16]
        try:
            header = jwt.get_unverified_header(token)
            claims = jwt.decode(
                token,
                self._public_key,
                algorithms=["ES256"],
                issuer=self._team_id,
                options={"require": ["iss", "iat"], "verify_iat": False},
            )
        except jwt.PyJWTError:
            return TokenCheck("InvalidProviderToken", fingerprint)
        issued_at = claims.get("iat")
        if header.get("kid") != self._key_id or not isinstance(issued_at, int):
            return TokenCheck("InvalidProviderToken", fingerprint)
        return TokenCheck(None, fingerprint, issued_at)
