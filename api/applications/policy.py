"""The handling policy read from the process settings (supplement deadline, step SLA, rating window).

Services take a `Policy` argument so that tests and callers can pass another one; the default is built from the
process's active settings (`api.settings.active`), never at import time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from api.settings import Settings, active


@dataclass(frozen=True)
class Policy:
    supplement_days: int = 30  # natural days the applicant has to supplement (D12)
    step_sla_working_days: int = 2  # each 承办 / 审核 / 批准 step
    rating_window_days: int = 30  # 好差评 window after 办结 (D2)

    @property
    def rating_window(self) -> timedelta:
        return timedelta(days=self.rating_window_days)

    @property
    def supplement_window(self) -> timedelta:
        return timedelta(days=self.supplement_days)


def from_settings(settings: Settings) -> Policy:
    return Policy(
        supplement_days=settings.applications.supplement_days,
        step_sla_working_days=settings.applications.step_sla_working_days,
        rating_window_days=settings.ratings.window_days,
    )


def current() -> Policy:
    return from_settings(active())
