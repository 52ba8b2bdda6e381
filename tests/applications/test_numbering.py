"""办件编号: 实施编码 + yyyyMMdd + a daily sequence that stays unique and gap-free under concurrency."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from tortoise.transactions import in_transaction

from api.applications import materials, numbering, submission
from api.identity.tokens import AccessClaims
from api.kit.clock import shanghai_date
from api.lifespan import Services
from api.models import Application, ApplicationChannel, DailySequence, ProvidedVia
from api.seed.context import seed_id
from tests.applications.support import PROMISED_ITEM, item_row, submit_input
from tests.support.client import Api


def _claims(n: int) -> AccessClaims:
    return AccessClaims(
        subject=seed_id("person", n),
        kind="citizen",
        family_id=uuid.uuid4(),
        level=2,
        expires_at=datetime.max.replace(tzinfo=UTC),
    )


class TestFormatNumber:
    def test_joins_code_date_and_four_digits(self) -> None:
        code = "1" * 31
        assert numbering.format_number(code, date(2026, 6, 23), 68) == (code + "20260623" + "0068")


class TestAllocate:
    async def test_two_hundred_concurrent_submissions_get_distinct_consecutive_numbers(self, api: Api) -> None:
        # given one item and one day, and 200 submissions of valid applications at once
        services: Services = api.live.app.state.services
        code = (await item_row(PROMISED_ITEM)).task_code
        now = api.live.clock.now()
        inputs = [await submit_input(PROMISED_ITEM) for _ in range(200)]
        subs = [
            submission.Submission(
                idempotency_key=i["idempotencyKey"],
                service_code=i["serviceCode"],
                channel=ApplicationChannel.APP,
                form_data=i["formData"],
                materials=[
                    materials.MaterialClaim(
                        index=k,
                        requirement_id=uuid.UUID(m["requirementId"]),
                        via=ProvidedVia.UPLOAD,
                        file_id=m["fileId"],
                    )
                    for k, m in enumerate(i["materials"])
                ],
            )
            for i in inputs
        ]

        # when they run concurrently
        done = await asyncio.gather(
            *(submission.submit(_claims(1 + n % 15), sub, now, services.identity.pii) for n, sub in enumerate(subs))
        )

        # then every number is today's, distinct, and the 200 are consecutive
        numbers = sorted(d.app.project_no or "" for d in done)
        prefix = code + f"{shanghai_date(now):%Y%m%d}"
        assert all(n.startswith(prefix) and len(n) == len(prefix) + 4 for n in numbers)
        values = [int(n[-4:]) for n in numbers]
        assert len(set(values)) == 200
        assert values[-1] - values[0] == 199
        assert await Application.filter(project_no__in=numbers).count() == 200


class TestExhaustion:
    async def test_the_ten_thousandth_number_of_a_day_fails_and_keeps_the_counter(self, api: Api) -> None:
        task_code = "X" + uuid.uuid4().hex[:30]
        now = api.live.clock.now() + timedelta(seconds=1)
        await DailySequence.create(task_code=task_code, date=shanghai_date(now), last_value=9999)

        with pytest.raises(numbering.SequenceExhausted):
            async with in_transaction() as db:
                await numbering.allocate(task_code, now, db)

        row = await DailySequence.get(task_code=task_code, date=shanghai_date(now))
        assert row.last_value == 9999

    async def test_the_first_number_of_a_day_is_0001(self, api: Api) -> None:
        task_code = "Y" + uuid.uuid4().hex[:30]
        now = api.live.clock.now()
        async with in_transaction() as db:
            first = await numbering.allocate(task_code, now, db)
            second = await numbering.allocate(task_code, now, db)
        assert (first[-4:], second[-4:]) == ("0001", "0002")
