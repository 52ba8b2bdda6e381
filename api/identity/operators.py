"""Operator sign-in: password + TOTP, separate accounts, separate tokens.

Every failure answers the same INVALID_CREDENTIALS and costs one argon2 verification, so that the answer does
not reveal which usernames exist; a TOTP code is accepted once (the step is remembered).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pyotp

from api.identity import sessions
from api.identity.deps import IdentityDeps
from api.identity.sessions import SessionStart, TokenPair
from api.kit.errors import RateLimited, Unauthenticated
from api.kit.passwords import DUMMY_HASH, verify_password
from api.models import AssuranceLevel, AuthMethod, Operator, SessionChannel

_TOTP_STEP_SECONDS = 30


def _totp_step(secret: str, code: str, at: float) -> int | None:
    """The time step `code` belongs to, allowing one step of clock drift either way."""
    totp = pyotp.TOTP(secret)
    current = int(at // _TOTP_STEP_SECONDS)
    for step in (current, current - 1, current + 1):
        if totp.at(step * _TOTP_STEP_SECONDS) == code:
            return step
    return None


async def limit_sign_in(deps: IdentityDeps, keys: Sequence[str]) -> None:
    """Password sign-ins (operators, service principals): per IP and per account, so that neither one address
    nor a spread of addresses can guess at one account."""
    limit = deps.auth.operator_sign_in_per_ip_per_minute
    now_ms = int(deps.clock.now().timestamp() * 1000)
    for key in keys:
        decision = await deps.buckets.take(key, rate_per_second=limit / 60.0, burst=limit, now_ms=now_ms)
        if not decision.allowed:
            raise RateLimited("too many sign-in attempts; try later", retry_after_ms=decision.retry_after_ms)


async def sign_in(
    deps: IdentityDeps, username: str, password: str, totp_code: str, *, device: str, ip: str
) -> TokenPair:
    now = deps.clock.now()
    # One spelling for the bucket and the lookup: " Name" must not buy a fresh bucket for "name".
    username = username.strip().lower()
    await limit_sign_in(deps, (f"op:ip:{ip}", f"op:user:{username}"))
    operator = await Operator.get_or_none(username=username)
    password_ok = await verify_password(operator.password_hash if operator else DUMMY_HASH, password)
    if operator is None or not password_ok or operator.disabled_at is not None:
        raise Unauthenticated("wrong username, password or code", code="INVALID_CREDENTIALS")
    secret = await asyncio.to_thread(deps.pii.decrypt, operator.totp_secret_encrypted)
    step = _totp_step(secret, totp_code.strip(), now.timestamp())
    # Conditional update: a code already used (or an older one) cannot sign in a second time.
    if step is None or not await Operator.filter(id=operator.id, last_totp_step__lt=step).update(last_totp_step=step):
        raise Unauthenticated("wrong username, password or code", code="INVALID_CREDENTIALS")
    return await sessions.start_for_operator(
        deps,
        operator,
        SessionStart(AuthMethod.PASSWORD_TOTP, AssuranceLevel.L0, SessionChannel.OPERATOR_CONSOLE, device, ip),
    )


def current_code(secret: str, at: float) -> str:
    """The demo helper `zsb demo-totp` prints this for seeded operators."""
    return pyotp.TOTP(secret).at(int(at))
