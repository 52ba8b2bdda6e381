"""SUBMIT (sync-protocol.md §10)."""

from __future__ import annotations

from sync.apply_context import Applied, MutationContext


async def submit(ctx: MutationContext) -> Applied:
    raise NotImplementedError
