"""Seed parts of the licenses (domain.md §13)."""

from __future__ import annotations

from api.seed.context import SeedPart

PARTS: tuple[SeedPart, ...] = ()
