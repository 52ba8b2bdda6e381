"""Inputs of the rating mutations."""

from __future__ import annotations

import strawberry

from schema.ratings.types import RatingChannel, RatingMoment, RectificationCategory, RectificationVerdict


@strawberry.input(description="One indicator of the online form, scored on the satisfactionCode scale (1 best).")
class IndicatorScoreInput:
    indicator: str = strawberry.field(description="An indicator code of `ratingForm(kind: ONLINE)`")
    code: int


@strawberry.input
class RateServiceInput:
    application_id: strawberry.ID
    moment: RatingMoment
    satisfaction_code: int = strawberry.field(description="GB/T 39046 A.8: 1 非常满意 … 5 非常不满意")
    indicator_scores: list[IndicatorScoreInput] = strawberry.field(default_factory=list, description="at most 4")
    reasons: list[str] = strawberry.field(
        default_factory=list, description="差评 reason codes of the current form; required for codes 4 and 5"
    )
    text: str = strawberry.field(default="", description="Optional, at most 500 characters")
    anonymous: bool = strawberry.field(default=False, description="匿名评价: no callback, the org never sees who")
    channel: RatingChannel = RatingChannel.APP


@strawberry.input
class RecordRectificationCallbackInput:
    rectification_id: strawberry.ID
    result: str = strawberry.field(description="回访核实 result, at most 2000 characters")


@strawberry.input
class ClassifyRectificationInput:
    rectification_id: strawberry.ID
    category: RectificationCategory
    text: str = strawberry.field(
        default="",
        description="The explanation to the rater (NO_LEGAL_BASIS) or the appeal's reason (MISJUDGED), both required; "
        "a note otherwise",
    )


@strawberry.input
class CompleteRectificationInput:
    rectification_id: strawberry.ID
    rectification_text: str = strawberry.field(description="What was rectified")
    feedback: str = strawberry.field(description="The feedback the rater reads")


@strawberry.input
class DecideRectificationAppealInput:
    rectification_id: strawberry.ID
    upheld: bool = strawberry.field(description="True: the 差评 leaves the statistics; false: the loop resumes")
    comment: str = strawberry.field(default="", description="Required when the appeal is rejected")


@strawberry.input
class RateRectificationInput:
    rectification_id: strawberry.ID
    verdict: RectificationVerdict
    comment: str = ""
