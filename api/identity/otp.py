"""SMS one-time codes: 6 digits, 5 minutes, 5 attempts per code, resend throttled per phone and per IP.

Codes live in Redis (they are worth nothing after five minutes), hashed with the deployment's keyed hash so
that a Redis dump does not reveal them; the check-and-count runs as one Lua script, so that concurrent
guesses against several API instances still count once each.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from enum import StrEnum

from api.identity.deps import IdentityDeps
from api.kit.errors import InvalidInput, ProviderError, RateLimited
from api.kit.redis import Bucket, per_hour

_CHECK = """
local state = redis.call('HMGET', KEYS[1], 'h', 'exp', 'n')
if not state[1] then return {1, 0} end
if tonumber(state[2]) <= tonumber(ARGV[2]) then redis.call('DEL', KEYS[1]); return {2, 0} end
local attempts = tonumber(state[3]) + 1
if attempts > tonumber(ARGV[3]) then redis.call('DEL', KEYS[1]); return {4, 0} end
if state[1] == ARGV[1] then redis.call('DEL', KEYS[1]); return {0, 0} end
redis.call('HSET', KEYS[1], 'n', attempts)
return {3, tonumber(ARGV[3]) - attempts}
"""


class OtpFailure(StrEnum):
    INVALID_CODE = "INVALID_CODE"
    CODE_EXPIRED = "CODE_EXPIRED"
    TOO_MANY_ATTEMPTS = "TOO_MANY_ATTEMPTS"


class OtpRejected(InvalidInput):
    def __init__(self, reason: OtpFailure, message: str, attempts_left: int = 0) -> None:
        super().__init__(message, path=["code"], code=reason.value)
        self.attempts_left = attempts_left


@dataclass(frozen=True)
class CodeSent:
    expires_in_seconds: int
    resend_after_seconds: int


def _key(phone: str) -> str:
    return f"otp:{phone}"


def _digest(deps: IdentityDeps, phone: str, code: str) -> str:
    return deps.pii.lookup_hash(f"otp:{phone}:{code}")


async def send_code(deps: IdentityDeps, phone: str, ip: str) -> CodeSent:
    auth = deps.auth
    now = deps.clock.now()
    now_ms = int(now.timestamp() * 1000)
    resend_key = f"otp:resend:{phone}"
    last = await deps.redis.get(resend_key)
    if last is not None:
        wait_ms = int(last) + auth.otp_resend_seconds * 1000 - now_ms
        if wait_ms > 0:
            raise RateLimited("a code was sent moments ago", retry_after_ms=wait_ms, path=["phone"])
    decision = await deps.buckets.take_all(
        [
            Bucket(f"otp:phone:{phone}", per_hour(auth.otp_per_phone_per_hour), auth.otp_per_phone_per_hour),
            Bucket(f"otp:ip:{ip}", per_hour(auth.otp_per_ip_per_hour), auth.otp_per_ip_per_hour),
        ],
        now_ms=now_ms,
    )
    if not decision.allowed:
        raise RateLimited("too many codes requested; try later", retry_after_ms=decision.retry_after_ms)
    code = f"{secrets.randbelow(10**6):06d}"
    expires_ms = now_ms + auth.otp_ttl_seconds * 1000
    async with deps.redis.pipeline(transaction=True) as pipe:
        pipe.hset(_key(phone), mapping={"h": _digest(deps, phone, code), "exp": expires_ms, "n": 0})
        pipe.pexpire(_key(phone), auth.otp_ttl_seconds * 1000 + 60_000)
        if auth.otp_resend_seconds > 0:
            pipe.set(resend_key, now_ms, px=auth.otp_resend_seconds * 1000)
        await pipe.execute()
    try:
        await deps.sms.send(phone, deps.sms_template, {"code": code})
    except ProviderError:
        await deps.redis.delete(_key(phone), resend_key)
        raise
    return CodeSent(auth.otp_ttl_seconds, auth.otp_resend_seconds)


async def consume_code(deps: IdentityDeps, phone: str, code: str) -> None:
    """Raises OtpRejected unless `code` is the live code of `phone`; a right code works once."""
    now_ms = int(deps.clock.now().timestamp() * 1000)
    status, left = await deps.redis.eval(
        _CHECK, 1, _key(phone), _digest(deps, phone, code.strip()), str(now_ms), str(deps.auth.otp_max_attempts)
    )  # type: ignore[misc]
    match int(status):
        case 0:
            return
        case 2:
            raise OtpRejected(OtpFailure.CODE_EXPIRED, "the code has expired; request a new one")
        case 4:
            raise OtpRejected(OtpFailure.TOO_MANY_ATTEMPTS, "too many wrong codes; request a new one")
        case 3:
            raise OtpRejected(OtpFailure.INVALID_CODE, "wrong code", attempts_left=int(left))
        case _:
            raise OtpRejected(OtpFailure.INVALID_CODE, "no code was sent to this phone; request one first")
