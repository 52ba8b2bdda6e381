"""Fixtures of the mini-program checks: the schema, a vendored copy of mini_program_stub/, one project per
platform, and a throw-away copy of it for a negative test to damage."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from graphql import GraphQLSchema, build_schema

from tests.client.mini_program_checks import (
    PLATFORMS,
    SCHEMA_FILE,
    STUB,
    Platform,
    vendor,
)


@pytest.fixture(scope="module")
def schema() -> GraphQLSchema:
    return build_schema(SCHEMA_FILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def vendored_stub(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of mini_program_stub/ with client/ and shared/ vendored the way a developer does before DevTools."""
    root = tmp_path_factory.mktemp("mp") / "mini_program_stub"
    shutil.copytree(STUB, root, ignore=shutil.ignore_patterns("zsb-client", "zsb-shared", "node_modules", "h5"))
    vendor(root)
    return root


@pytest.fixture(params=PLATFORMS, ids=lambda platform: platform.name)
def platform(request: pytest.FixtureRequest) -> Platform:
    value: Platform = request.param
    return value


@pytest.fixture
def broken(vendored_stub: Path, platform: Platform, tmp_path: Path) -> Path:
    """A throw-away copy of one vendored project for a negative test to damage."""
    return Path(shutil.copytree(vendored_stub / platform.name, tmp_path / platform.name))
