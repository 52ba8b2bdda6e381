"""The ratings policy (window, rectification, callback and appeal deadlines, score weights) from the settings.

Services take the `RatingSettings` as an argument so that tests and callers can pass another one; the default is
the process's active settings (`api.settings.active`), never read at import time (as applications' policy is).
"""

from __future__ import annotations

from api.settings import RatingSettings, active


def current() -> RatingSettings:
    return active().ratings
