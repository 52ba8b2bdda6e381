"""Helpers of the push service tests (no tests here): a device that numbers its mutations, ops with their base
hashes, and a registered test form. The tests call `sync.push.push` inside the live server's process; the HTTP
surface is covered by the conformance suite."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from api.identity.tokens import AccessClaims
from api.models.sync import DraftField, Platform
from sync import template_registry
from sync.contract import FieldOpIn, MutationIn, PushPayload, PushRejected, PushRequest, SyncMutationType
from sync.deps import SyncDeps
from sync.merge import NULL_HASH, value_hash
from sync.push import push
from sync.templates import derive
from tests.support.client import Api

SERVICE = "PUSHKIT"
FORM = "1"
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "f1": {"type": "string"},
        "f2": {"type": "string"},
        "f5": {"type": "string"},
        "nick": {"type": "string", "x-sync-policy": "LWW_SERVER_ORDER"},
        "photo": {"type": "object", "x-field-type": "file"},
        "members": {
            "type": "object",
            "additionalProperties": {"type": "object", "properties": {"name": {"type": "string"}}},
        },
    },
}
TEMPLATE = derive(SERVICE, FORM, SCHEMA)


def deps_of(api: Api) -> SyncDeps:
    deps: SyncDeps = api.live.app.state.services.sync
    return deps


def person_claims(api: Api, person_id: uuid.UUID | None = None, level: int = 2) -> AccessClaims:
    return AccessClaims(
        subject=person_id or uuid.uuid4(),
        kind="citizen",
        family_id=uuid.uuid4(),
        level=level,
        expires_at=api.live.clock.now() + timedelta(hours=1),
    )


def op(path: str, value: Any, base: Any = None, *, kind: str | None = None, base_hash: str | None = None) -> FieldOpIn:
    """SET `value` (UNSET when None) over `base`, the value the device saw."""
    kind = kind or ("UNSET" if value is None else "SET")
    return FieldOpIn(
        path=path,
        kind=kind,
        base_hash=base_hash or (NULL_HASH if base is None else value_hash(base)),
        value=value,
        value_given=value is not None,
    )


@dataclass
class Device:
    api: Api
    claims: AccessClaims
    platform: Platform = Platform.APP_IOS
    client_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    next_id: int = 1

    def __post_init__(self) -> None:
        # Registered per device: other suites clear the registry between their tests.
        template_registry.register(TEMPLATE)

    def mutation(self, kind: SyncMutationType, draft_id: str, **extra: Any) -> MutationIn:
        m = MutationIn(id=self.next_id, draft_id=draft_id, type=kind, form_version=extra.pop("form", FORM), **extra)
        self.next_id += 1
        return m

    def create(self, draft_id: str, *ops: FieldOpIn) -> MutationIn:
        return self.mutation(SyncMutationType.CREATE_DRAFT, draft_id, service_code=SERVICE, ops=list(ops) or None)

    def edit(self, draft_id: str, *ops: FieldOpIn, **extra: Any) -> MutationIn:
        return self.mutation(SyncMutationType.EDIT, draft_id, ops=list(ops), **extra)

    async def send(self, *mutations: MutationIn, **extra: Any) -> PushPayload | PushRejected:
        request = PushRequest(
            client_id=self.client_id,
            platform=self.platform,
            protocol_version=extra.pop("protocol_version", 1),
            mutations=list(mutations),
            **extra,
        )
        return await push(deps_of(self.api), self.claims, request)

    async def push(self, *mutations: MutationIn, **extra: Any) -> PushPayload:
        result = await self.send(*mutations, **extra)
        assert isinstance(result, PushPayload), result
        return result


def new_draft() -> str:
    return str(uuid.uuid4())


async def fields_of(draft_id: str) -> dict[str, Any]:
    rows = await DraftField.filter(draft_id=uuid.UUID(draft_id))
    return {row.path: row.value for row in rows if row.value is not None}
