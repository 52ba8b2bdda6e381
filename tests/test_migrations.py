"""The committed migrations describe the models exactly, and every model migrates on SQLite."""

from __future__ import annotations

import inspect

import pytest
from tortoise.context import TortoiseContext
from tortoise.migrations.autodetector import MigrationAutodetector
from tortoise.models import Model

from api import database, models

pytestmark = pytest.mark.embedded_only


class TestMigrations:
    async def test_match_the_models(self) -> None:
        config = database.tortoise_config("sqlite://:memory:")
        async with TortoiseContext() as ctx:
            await ctx.init(config=config)
            assert ctx.apps is not None
            writers = await MigrationAutodetector(ctx.apps, config["apps"]).changes()
        assert [w.name for w in writers] == [], "run `make migrations` and commit the new migration"

    def test_no_model_docstring_has_a_semicolon(self) -> None:
        # tortoise's SQLite schema editor splits statements on ";", and a docstring becomes the table comment.
        offenders = [
            name
            for name, cls in inspect.getmembers(models, inspect.isclass)
            if issubclass(cls, Model) and ";" in (cls.__doc__ or "")
        ]
        assert offenders == []
