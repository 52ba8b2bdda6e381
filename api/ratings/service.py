"""What the GraphQL edge calls: one function per operation, each answering the view its payload shows."""

from __future__ import annotations

import uuid
from datetime import datetime

from api.identity.tokens import AccessClaims
from api.models import Evaluation, RectificationCategory
from api.ratings import rating as rating_service
from api.ratings import read, rectify
from api.ratings.loop import Verdict
from api.settings import RatingSettings


async def rate(
    claims: AccessClaims, data: rating_service.RatingInput, policy: RatingSettings, now: datetime
) -> read.RatingView:
    rated = await rating_service.rate(claims, data, policy, now)
    return await read.rating_view(rated.evaluation, rated.rectification)


async def record_callback(
    claims: AccessClaims, rectification_id: uuid.UUID, result: str, now: datetime
) -> read.RectificationView:
    return await read.rectification_view(await rectify.record_callback(claims, rectification_id, result, now))


async def classify(
    claims: AccessClaims,
    rectification_id: uuid.UUID,
    category: RectificationCategory,
    text: str,
    policy: RatingSettings,
    now: datetime,
) -> read.RectificationView:
    row = await rectify.classify(claims, rectification_id, category, text, policy, now)
    return await read.rectification_view(row)


async def complete(
    claims: AccessClaims,
    rectification_id: uuid.UUID,
    rectification_text: str,
    feedback: str,
    policy: RatingSettings,
    now: datetime,
) -> read.RectificationView:
    row = await rectify.complete(claims, rectification_id, rectification_text, feedback, policy, now)
    return await read.rectification_view(row)


async def decide_appeal(
    claims: AccessClaims, rectification_id: uuid.UUID, upheld: bool, comment: str, policy: RatingSettings, now: datetime
) -> read.RectificationView:
    row = await rectify.decide_appeal(claims, rectification_id, upheld, comment, policy, now)
    return await read.rectification_view(row)


async def rate_rectification(
    claims: AccessClaims,
    rectification_id: uuid.UUID,
    verdict: Verdict,
    comment: str,
    policy: RatingSettings,
    now: datetime,
) -> read.RatingView:
    row = await rectify.rate_rectification(claims, rectification_id, verdict, comment, policy, now)
    return await read.rating_view(await Evaluation.get(id=row.evaluation_id), row)
