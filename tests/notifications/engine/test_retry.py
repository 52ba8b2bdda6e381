"""Retry policy (§C5): base × 2^(n−1) plus 0–20 % jitter, capped at 1 h, bounded by attempts and the deadline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from api.settings import NotificationsSettings
from notifications.retry import next_retry_at, retry_delay_s

NOW = datetime(2025, 6, 1, 6, 0, tzinfo=UTC)
SETTINGS = NotificationsSettings(
    retry_base_s=5, retry_cap_s=3600, transactional_max_attempts=10, campaign_max_attempts=3
)


class TestRetryDelay:
    def test_doubles_per_attempt_without_jitter(self) -> None:
        delays = [retry_delay_s(n, base_s=5, cap_s=3600, jitter=0) for n in (1, 2, 3, 4)]

        assert delays == [5, 10, 20, 40]

    def test_jitter_adds_at_most_a_fifth(self) -> None:
        assert retry_delay_s(3, base_s=5, cap_s=3600, jitter=0.999) == 20 * (1 + 0.2 * 0.999)

    def test_capped_at_the_cap(self) -> None:
        assert retry_delay_s(20, base_s=5, cap_s=3600, jitter=0.5) == 3600


class TestNextRetryAt:
    def test_never_earlier_than_nominal_and_fixed_per_seed(self) -> None:
        first = next_retry_at(SETTINGS, attempt=2, now=NOW, seed="d1", deadline=None, campaign=False)
        again = next_retry_at(SETTINGS, attempt=2, now=NOW, seed="d1", deadline=None, campaign=False)

        assert first is not None
        assert first == again
        assert NOW + timedelta(seconds=10) <= first <= NOW + timedelta(seconds=12)

    def test_transactional_stops_after_ten_attempts(self) -> None:
        assert next_retry_at(SETTINGS, attempt=9, now=NOW, seed="d", deadline=None, campaign=False) is not None
        assert next_retry_at(SETTINGS, attempt=10, now=NOW, seed="d", deadline=None, campaign=False) is None

    def test_campaign_stops_after_three_attempts(self) -> None:
        assert next_retry_at(SETTINGS, attempt=2, now=NOW, seed="d", deadline=None, campaign=True) is not None
        assert next_retry_at(SETTINGS, attempt=3, now=NOW, seed="d", deadline=None, campaign=True) is None

    def test_never_past_the_deadline(self) -> None:
        deadline = NOW + timedelta(seconds=8)

        assert next_retry_at(SETTINGS, attempt=1, now=NOW, seed="d", deadline=deadline, campaign=False) is not None
        assert next_retry_at(SETTINGS, attempt=2, now=NOW, seed="d", deadline=deadline, campaign=False) is None

    def test_retry_after_is_honoured_when_longer(self) -> None:
        at = next_retry_at(SETTINGS, attempt=1, now=NOW, seed="d", deadline=None, campaign=False, retry_after_s=120)

        assert at == NOW + timedelta(seconds=120)
