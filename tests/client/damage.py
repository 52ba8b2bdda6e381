"""Damaging a copy of a mini-program on purpose, and what a check then reports that it did not before."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def new_problems(check: Callable[[Path], list[str]], broken: Path, pristine: Path) -> list[str]:
    """Problems of the damaged copy that the pristine project does not have (those fail the positive test)."""
    known = set(check(pristine))
    return sorted(problem for problem in check(broken) if problem not in known)
