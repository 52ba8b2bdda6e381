"""The ratings policy (window, rectification, callback and appeal deadlines, score weights) read once per process.

Services take the `RatingSettings` as an argument so that tests and callers can pass another one; the default is
read from `Settings()` lazily, never at import time (as applications' policy is).
"""

from __future__ import annotations

from functools import lru_cache

from api.settings import RatingSettings, Settings


@lru_cache(maxsize=1)
def current() -> RatingSettings:
    return Settings().ratings
