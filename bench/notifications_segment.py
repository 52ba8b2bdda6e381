"""Part 1 of the notifications benchmark: a segment of generated residents resolved and materialised.

Ours goes through the product's services: create_segment, preview_segment, create_campaign with a campaign
template, submit, approve by another operator, the notifications clock moved past schedule_at, advance_campaigns,
then `materialize_campaign` timed to its end (a CampaignRecipient and a NotificationRequest for every match).
The baseline is bare SQL over the same rows: `SELECT count(*)` for the preview, and `INSERT … SELECT` of the
recipients (then of the requests too) under a scratch campaign id, run before ours so that ours works on the
larger tables.
"""

from __future__ import annotations

import importlib
import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from types import ModuleType
from typing import Any

from api.kit.clock import ShiftableClock, shanghai_date
from api.models.notifications import CampaignRecipient, CampaignStatus, NotificationRequest, TemplateChannel
from bench.notifications_data import Residents, generate_residents, sql
from notifications import default_templates, segments, templates
from notifications.deps import NotificationsDeps
from notifications.segment_fields import years_before

CAMPAIGN_TEMPLATE = "POLICY_ELDERLY_SUBSIDY"
MIN_AGE = 18

_BARE_RECIPIENTS = """
INSERT INTO campaign_recipient (campaign_id, run_no, user_id, root_id, page_key)
SELECT $1::uuid, 1, id, id::text, id::text FROM person WHERE region_code LIKE $2 AND birth_date <= $3
"""
_BARE_REQUESTS = """
INSERT INTO notification_request (id, created_at, kind, category, topic, key, state_version, recipient_user_id,
    template_code, template_version, locale, params, dedup_key, priority, campaign_id, status)
SELECT gen_random_uuid(), now(), 'campaign', 'campaign', 'campaign', $1::text, 1, id, $4, $5, 'zh-CN', '{}',
       'campaign:' || $1::text || ':1:' || id::text, 5, $1::uuid, 'pending'
FROM person WHERE region_code LIKE $2 AND birth_date <= $3
"""


@dataclass
class SegmentFigures:
    residents: Residents
    matches: int = 0
    preview_s: float = float("nan")
    preview_count: int = 0
    bare_count_s: float = float("nan")
    bare_recipients_s: float = float("nan")
    bare_requests_s: float = float("nan")
    setup_s: float = float("nan")  # segment, campaign, submit, approve, advance
    materialize_s: float = float("nan")
    materialized: int = 0
    recipients: int = 0
    requests: int = 0
    blocked: str = ""  # what stopped our side, if anything
    notes: list[str] = field(default_factory=list)


def _campaign_modules() -> tuple[ModuleType, ModuleType] | str:
    try:
        return importlib.import_module("notifications.campaign_service"), importlib.import_module(
            "notifications.campaign_runs"
        )
    except ImportError as exc:
        return f"{type(exc).__name__}: {exc}"


async def run_segment(deps: NotificationsDeps, clock: ShiftableClock, count: int, rng: random.Random) -> SegmentFigures:
    await default_templates.ensure_default_templates()
    figures = SegmentFigures(await generate_residents(count, rng))
    district = figures.residents.district
    dsl = {
        "all": [
            {"field": "resident.region_code", "op": "prefix", "value": district},
            {"field": "resident.age", "op": "gte", "value": MIN_AGE},
        ]
    }
    cutoff = years_before(shanghai_date(clock.now()), MIN_AGE)
    like = district + "%"

    started = time.perf_counter()
    rows = await sql("SELECT count(*) AS n FROM person WHERE region_code LIKE $1 AND birth_date <= $2", like, cutoff)
    figures.bare_count_s = time.perf_counter() - started
    figures.matches = int(rows[0]["n"])
    started = time.perf_counter()
    preview = await segments.preview_segment(deps, dsl)
    figures.preview_s = time.perf_counter() - started
    figures.preview_count = preview.count

    template = await templates.current_template(CAMPAIGN_TEMPLATE)
    assert template is not None, "ensure_default_templates wrote the campaign templates"
    scratch = uuid.uuid4()
    started = time.perf_counter()
    await sql(_BARE_RECIPIENTS, scratch, like, cutoff)
    figures.bare_recipients_s = time.perf_counter() - started
    started = time.perf_counter()
    await sql(_BARE_REQUESTS, str(scratch), like, cutoff, template.code, template.version)
    figures.bare_requests_s = time.perf_counter() - started

    modules = _campaign_modules()
    if isinstance(modules, str):
        figures.blocked = f"notifications.campaign_service / campaign_runs not importable ({modules})"
        return figures
    try:
        await _ours(deps, clock, dsl, figures, *modules)
    except Exception as exc:  # a benchmark reports what stopped it, it does not hide the other figures
        figures.blocked = f"{type(exc).__name__}: {exc}"[:400]
    return figures


async def _ours(
    deps: NotificationsDeps,
    clock: ShiftableClock,
    dsl: dict[str, Any],
    figures: SegmentFigures,
    service: ModuleType,
    runs: ModuleType,
) -> None:
    author, approver = uuid.uuid4(), uuid.uuid4()
    started = time.perf_counter()
    segment = await segments.create_segment(deps, author, "合成居民（基准测试）", dsl)
    schedule_at = clock.now() + timedelta(minutes=5)
    campaign = await service.create_campaign(
        deps,
        author,
        service.CampaignInput(
            name="基准测试推送",
            segment_id=segment.id,
            template_code=CAMPAIGN_TEMPLATE,
            channels=[TemplateChannel.PUSH],
            schedule_at=schedule_at,
            window_end=schedule_at + timedelta(hours=6),
            recurrence=None,
            throttle_per_min=deps.settings.default_throttle_per_min,
        ),
    )
    await service.submit_campaign(deps, author, campaign.id)
    await service.approve_campaign(deps, approver, campaign.id)
    clock.advance(timedelta(minutes=6))
    await runs.advance_campaigns(deps)
    figures.setup_s = time.perf_counter() - started

    started = time.perf_counter()
    # Resumable: should a call stop after part of the segment (and re-enqueue itself), the next call goes on.
    for _ in range(10_000):
        figures.materialized += int(await runs.materialize_campaign(deps, campaign.id))
        state = await service.get_campaign(campaign.id)
        if state is None or state.status != CampaignStatus.MATERIALIZING:
            break
    figures.materialize_s = time.perf_counter() - started
    figures.recipients = await CampaignRecipient.filter(campaign_id=campaign.id).count()
    figures.requests = await NotificationRequest.filter(campaign_id=campaign.id).count()
    state = await service.get_campaign(campaign.id)
    figures.notes.append(
        f"campaign ended materialisation in status {getattr(state, 'status', '?')}; "
        f"materialize_campaign returned {figures.materialized:,}"
    )
