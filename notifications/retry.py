"""Retry policy (§C5): exponential backoff with upward jitter, capped, never past the delivery's deadline."""

from __future__ import annotations

from datetime import datetime, timedelta

from api.settings import NotificationsSettings
from notifications.ids import stable_fraction

MAX_JITTER = 0.2  # jitter only ever adds, so a delay is never shorter than its nominal value


def retry_delay_s(attempt: int, *, base_s: float, cap_s: float, jitter: float) -> float:
    """Delay after the `attempt`-th failed attempt (1-based); `jitter` in [0, 1) scales the 0–20 % extra."""
    nominal = base_s * 2.0 ** max(0, attempt - 1)
    return min(cap_s, nominal * (1 + MAX_JITTER * jitter))


def max_attempts(settings: NotificationsSettings, *, campaign: bool) -> int:
    return settings.campaign_max_attempts if campaign else settings.transactional_max_attempts


def next_retry_at(
    settings: NotificationsSettings,
    *,
    attempt: int,
    now: datetime,
    seed: str,
    deadline: datetime | None,
    campaign: bool,
    retry_after_s: float | None = None,
) -> datetime | None:
    """When to try again, or None when the policy is exhausted (attempts used up, or the deadline comes first)."""
    if attempt >= max_attempts(settings, campaign=campaign):
        return None
    delay = retry_delay_s(
        attempt, base_s=settings.retry_base_s, cap_s=settings.retry_cap_s, jitter=stable_fraction(f"{seed}:{attempt}")
    )
    if retry_after_s is not None:
        delay = max(delay, retry_after_s)
    at = now + timedelta(seconds=delay)
    if deadline is not None and at >= deadline:
        return None
    return at
