"""Sync GC (sync-protocol.md decisions 4 and 5, §9, §11.4, §13, S13), run at a shifted moment passed as `now`:
the shared live clock never moves."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from api.kit.clock import ShiftableClock
from api.models import Application, ApplicationChannel, ApplicationStatus
from api.models.sync import (
    Blob,
    BlobStatus,
    Draft,
    DraftBlobRef,
    DraftConflict,
    DraftConflictCandidate,
    DraftField,
    DraftFieldHistory,
    DraftStatus,
    SyncMutationResult,
    SyncMutationStatus,
    SyncQuarantine,
    Upload,
)
from api.worker import collect_sync_garbage
from sync import gc
from tests.support.client import LiveServer
from tests.sync.test_pull_cursor import pull_page, synced
from tests.sync.test_pull_seed import (
    Space,
    add_client,
    delete,
    deps_of,
    new_space,
    open_conflict,
    quarantine,
    reference_blob,
    space_row,
    write,
)


def real_now() -> datetime:
    return datetime.now(UTC)


async def remnants(draft_id: uuid.UUID) -> dict[str, int]:
    conflicts = await DraftConflict.filter(draft_id=draft_id).values_list("id", flat=True)
    return {
        "draft": await Draft.filter(id=draft_id).count(),
        "fields": await DraftField.filter(draft_id=draft_id).count(),
        "history": await DraftFieldHistory.filter(draft_id=draft_id).count(),
        "conflicts": len(conflicts),
        "candidates": await DraftConflictCandidate.filter(conflict_id__in=list(conflicts)).count(),
        "blob_refs": await DraftBlobRef.filter(draft_id=draft_id).count(),
        "quarantine": await SyncQuarantine.filter(draft_id=draft_id).count(),
    }


async def full_draft(space: Space) -> uuid.UUID:
    draft = await write(space, values={"a": "1", "b": "2"})
    await open_conflict(space, draft, "a", ["A"])
    await reference_blob(draft, "photo", "c" * 64)
    await quarantine(space, draft, 7)
    return draft


class TestTombstones:
    async def test_s13_purged_tombstone_resets_an_older_cursor(self, live: LiveServer) -> None:
        space = new_space()
        client_id = await add_client(space)
        gone, kept_deleted, alive = await full_draft(space), await full_draft(space), await full_draft(space)
        old_cursor = await synced(live, space, client_id)
        now = real_now()
        await delete(space, gone, now - timedelta(days=1))
        await delete(space, kept_deleted, now + timedelta(days=5))
        purged_version = (await Draft.get(id=gone)).version
        assert await gc.purge_tombstones(now + timedelta(days=30)) >= 1
        assert set((await remnants(gone)).values()) == {0}
        assert all((await remnants(kept_deleted)).values()) and all((await remnants(alive)).values())
        assert (await space_row(space)).min_valid_version == purged_version
        page = await pull_page(live, space, client_id, old_cursor)
        assert page.reset and {d.draft_id for d in page.drafts} == {kept_deleted, alive}
        # a cursor taken after the deletion was seen keeps working
        fresh = await synced(live, space, client_id)
        assert not (await pull_page(live, space, client_id, fresh)).reset

    async def test_a_draft_not_yet_due_or_not_deleted_is_kept(self, live: LiveServer) -> None:
        space = new_space()
        draft = await full_draft(space)
        deleted_at = real_now()
        await delete(space, draft, deleted_at)
        await gc.purge_tombstones(deleted_at + timedelta(days=29))
        assert (await remnants(draft))["draft"] == 1
        await write(space, draft, status=DraftStatus.EDITING, deleted_at=None, restorable_until=None)  # restored
        await gc.purge_tombstones(deleted_at + timedelta(days=31))
        assert all((await remnants(draft)).values())
        assert (await space_row(space)).min_valid_version == 0


class TestRetention:
    async def test_stored_results_older_than_90_days_go(self, live: LiveServer) -> None:
        client_id = uuid.uuid4()
        await SyncMutationResult.create(
            client_id=client_id, mutation_id=1, status=SyncMutationStatus.APPLIED, result={"id": 1}, space_version=1
        )
        await gc.purge_results(real_now() + timedelta(days=89))
        assert await SyncMutationResult.filter(client_id=client_id).count() == 1
        await gc.purge_results(real_now() + timedelta(days=91))
        assert await SyncMutationResult.filter(client_id=client_id).count() == 0

    async def test_quarantine_older_than_90_days_goes_and_the_count_syncs(self, live: LiveServer) -> None:
        space = new_space()
        client_id = await add_client(space)
        draft = await write(space, values={"a": "1"})
        await quarantine(space, draft, 3)
        token = await synced(live, space, client_id)
        await gc.purge_quarantine(real_now() + timedelta(days=89))
        assert await SyncQuarantine.filter(draft_id=draft).count() == 1
        await gc.purge_quarantine(real_now() + timedelta(days=91))
        assert await SyncQuarantine.filter(draft_id=draft).count() == 0
        [change] = (await pull_page(live, space, client_id, token)).drafts
        assert (change.draft_id, change.quarantined_ops) == (draft, 0)


def blob_file(live: LiveServer, sha256: str) -> Path:
    path = deps_of(live).upload_root / "blobs" / sha256
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"%PDF-")
    return path


async def blob(space: Space, sha256: str) -> None:
    await Blob.create(
        space_id=space.space_id,
        sha256=sha256,
        storage_key=f"blobs/{sha256}",
        size=5,
        mime="application/pdf",
        status=BlobStatus.COMPLETE,
    )


async def application_naming(
    space: Space, sha256: str, draft_id: uuid.UUID | None = None, applicant: uuid.UUID | None = None
) -> uuid.UUID:
    application = await Application.create(
        id=uuid.uuid4(),
        draft_id=draft_id or uuid.uuid4(),  # its draft may be long gone: the application still needs the file
        submitted_by_person_id=applicant or space.person_id,
        service_item_id=uuid.uuid4(),
        service_item_version=1,
        task_code="T",
        item_name="测试事项",
        applicant_type="1",
        applicant_person_id=applicant or space.person_id,
        applicant_name="测试申请人",
        applicant_id_type="10",
        channel=ApplicationChannel.APP,
        region_code="110101",
        accepting_org_id=uuid.uuid4(),
        status=ApplicationStatus.IN_PROGRESS,
        project_type="1",
        apply_time=real_now(),
        form_data={
            "materials/id/files/f1": {"blobSha256": sha256, "name": "a.pdf", "size": 5, "mime": "application/pdf"}
        },
        is_synthetic=True,
    )
    return application.id


class TestBlobs:
    async def test_only_blobs_nobody_uses_for_30_days_go(self, live: LiveServer) -> None:
        space, other = new_space(), new_space()
        unused, referenced, shared, by_application, by_proxy, reuploaded = (uuid.uuid4().hex * 2 for _ in range(6))
        every = (unused, referenced, shared, by_application, by_proxy, reuploaded)
        files = {sha: blob_file(live, sha) for sha in every}
        for sha in every:
            await blob(space, sha)
        await reference_blob(await write(space, values={"x": "1"}), "photo", referenced)
        await blob(other, shared)  # the other space still uses the file
        await reference_blob(await write(other, values={"x": "1"}), "photo", shared)
        await application_naming(space, by_application)
        # a proxy (亲友代办) submitted a draft of this space: the application names another applicant
        proxied = await write(space, values={"x": "2"})
        made = await application_naming(space, by_proxy, draft_id=proxied, applicant=uuid.uuid4())
        await Draft.filter(id=proxied).update(application_id=made, status=DraftStatus.SUBMITTED)
        await Upload.create(
            space_id=space.space_id,
            sha256=reuploaded,
            size=5,
            mime="application/pdf",
            file_name="a.pdf",
            chunk_size=1,
            expires_at=real_now() + timedelta(days=40),
        )
        await Upload.filter(sha256=reuploaded).update(created_at=real_now() + timedelta(days=25))
        root = deps_of(live).upload_root
        await gc.purge_blobs(root, real_now() + timedelta(days=29))
        assert await Blob.filter(space_id=space.space_id).count() == 6
        await gc.purge_blobs(root, real_now() + timedelta(days=31))
        kept = {str(s) for s in await Blob.filter(space_id=space.space_id).values_list("sha256", flat=True)}
        assert kept == {referenced, by_application, by_proxy, reuploaded}
        assert await Blob.filter(space_id=other.space_id, sha256=shared).exists()
        assert {sha: path.exists() for sha, path in files.items()} == {
            unused: False,
            referenced: True,
            shared: True,
            by_application: True,
            by_proxy: True,
            reuploaded: True,
        }


class TestWorkerJob:
    async def test_the_cron_job_runs_every_part_at_its_own_clock(self, live: LiveServer) -> None:
        space = new_space()
        draft = await full_draft(space)
        await delete(space, draft, real_now())
        clock = ShiftableClock()  # the job's own clock: the server's shared one never moves
        clock.advance(timedelta(days=31))
        report = await collect_sync_garbage({"clock": clock, "var_dir": deps_of(live).upload_root})
        assert set(report) == {"drafts", "results", "quarantine", "blobs"} and report["drafts"] >= 1
        assert (await remnants(draft))["draft"] == 0
