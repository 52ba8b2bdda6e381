"""The arq worker: jobs enqueued on Redis run once and do their work on the database."""

from __future__ import annotations

import uuid
from datetime import timedelta

from arq.connections import ArqRedis
from arq.worker import Worker

from api.kit.ids import sha256_hex
from api.lifespan import Services
from api.models import AssuranceLevel, AuthMethod, Session, SessionChannel
from api.worker import FUNCTIONS, SESSION_RETENTION
from tests.support.client import LiveServer


async def _session(live: LiveServer, expires_in: timedelta) -> Session:
    return await Session.create(
        id=uuid.uuid4(),
        family_id=uuid.uuid4(),
        person_id=uuid.uuid4(),
        refresh_token_hash=sha256_hex(str(uuid.uuid4())),
        auth_method=AuthMethod.SMS,
        assurance_level=AssuranceLevel.L0,
        channel=SessionChannel.APP,
        expires_at=live.clock.now() + expires_in,
    )


class TestPurgeExpiredSessions:
    async def test_removes_only_sessions_a_week_past_expiry(self, live: LiveServer) -> None:
        old = await _session(live, -(SESSION_RETENTION + timedelta(hours=1)))
        recent = await _session(live, -timedelta(days=1))
        alive = await _session(live, timedelta(days=1))
        services: Services = live.app.state.services
        pool = ArqRedis(connection_pool=services.redis.connection_pool)
        job = await pool.enqueue_job("purge_expired_sessions", _job_id=f"purge-{uuid.uuid4()}")
        assert job is not None
        if live.settings.worker_in_process:
            removed = await job.result(timeout=10, poll_delay=0.05)
        else:
            # A real deployment runs `zsb worker`; here one burst worker stands in for it.
            worker = Worker(
                functions=FUNCTIONS, redis_pool=pool, burst=True, handle_signals=False, ctx={"clock": live.clock}
            )
            await worker.async_run()
            removed = await job.result(timeout=10, poll_delay=0.05)
        assert removed >= 1
        assert not await Session.filter(id=old.id).exists()
        assert await Session.filter(id__in=[recent.id, alive.id]).count() == 2
