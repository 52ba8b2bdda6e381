"""一事一评: one immutable rating per (application, service moment) by the applicant or their agent (domain.md §9.2).

A 差评 (code 4 or 5) opens its rectification in the same transaction, and both the `ratings.bad_rating` and the
first `ratings.rectification_due` outbox rows are written with it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from api.identity.tokens import AccessClaims
from api.kit.errors import Conflict, InvalidInput, NotFound
from api.kit.ids import new_id
from api.models import (
    AgentAuthorization,
    Application,
    ApplicationStatus,
    Enterprise,
    Evaluation,
    Organization,
    OutboxEvent,
    Person,
    Rectification,
    RectificationStatus,
    ServiceMoment,
)
from api.ratings import common, forms
from api.settings import RatingSettings

ONLINE_CHANNELS = frozenset({"APP", "WECHAT_MP", "ALIPAY_MP", "H5", "PC"})


class AlreadyRated(Conflict):
    code = "ALREADY_RATED"


class MomentNotReached(Conflict):
    code = "MOMENT_NOT_REACHED"


class RatingWindowClosed(Conflict):
    code = "RATING_WINDOW_CLOSED"


@dataclass(frozen=True)
class RatingInput:
    application_id: uuid.UUID
    moment: ServiceMoment
    satisfaction_code: int
    indicator_scores: Sequence[tuple[str, int]] = ()
    reasons: Sequence[str] = ()
    text: str = ""
    anonymous: bool = False
    channel: str = "APP"


@dataclass(frozen=True)
class Rated:
    evaluation: Evaluation
    rectification: Rectification | None = None


def validate(data: RatingInput) -> tuple[dict[str, int], list[str], str]:
    """The indicator scores, reasons and text as stored; every refusal points at its input field."""
    if data.satisfaction_code not in forms.LEVELS:
        raise InvalidInput("satisfactionCode is 1 (非常满意) to 5 (非常不满意)", path=["satisfactionCode"])
    if data.channel not in ONLINE_CHANNELS:
        raise InvalidInput("not an online rating channel", path=["channel"])
    known = {o.code for o in forms.INDICATORS[forms.FormKind.ONLINE]}
    scores: dict[str, int] = {}
    for i, (indicator, score) in enumerate(data.indicator_scores):
        if indicator not in known:
            raise InvalidInput("not an indicator of the online form", path=["indicatorScores", str(i), "indicator"])
        if indicator in scores:
            raise InvalidInput("each indicator is scored once", path=["indicatorScores", str(i), "indicator"])
        if score not in forms.LEVELS:
            raise InvalidInput(
                "an indicator score is 1 to 5, like satisfactionCode", path=["indicatorScores", str(i), "code"]
            )
        scores[indicator] = score
    reason_codes = {o.code for o in forms.BAD_REASONS}
    reasons: list[str] = []
    for i, reason in enumerate(data.reasons):
        if reason not in reason_codes:
            raise InvalidInput("not a reason of the current 差评 reason list", path=["reasons", str(i)])
        if reason not in reasons:
            reasons.append(reason)
    if forms.is_bad(data.satisfaction_code) and not reasons:
        raise InvalidInput("a 差评 needs at least one reason", path=["reasons"], code="REASON_REQUIRED")
    if reasons and not forms.is_bad(data.satisfaction_code):
        raise InvalidInput("reasons are given with a 差评 (codes 4 and 5) only", path=["reasons"])
    text = data.text.strip()
    if len(text) > forms.TEXT_MAX_CHARS:
        raise InvalidInput(f"text holds at most {forms.TEXT_MAX_CHARS} characters", path=["text"], code="TEXT_TOO_LONG")
    return scores, reasons, text


async def acts_for_enterprise(claims: AccessClaims, enterprise_id: uuid.UUID, now: datetime) -> bool:
    """The session acts for the enterprise (legal representative, or a live 经办人 authorization), or the caller is
    its legal representative. Read from the rows each time, so a revoked authorization counts at once."""
    if claims.acting_as_enterprise_id == enterprise_id:
        if claims.agent_authorization_id is None:
            return True
        grant = await AgentAuthorization.get_or_none(id=claims.agent_authorization_id)
        if grant is not None and grant.revoked_at is None and grant.valid_from <= now < grant.valid_to:
            return True
    enterprise = await Enterprise.get_or_none(id=enterprise_id)
    person = await Person.get_or_none(id=claims.subject)
    return bool(
        enterprise and person and person.id_number_hash and person.id_number_hash == enterprise.legal_rep_id_hash
    )


def raters_q(claims: AccessClaims) -> Q:
    """Cases the caller may rate without an enterprise check: applied for, or submitted as agent."""
    me = claims.subject
    return Q(applicant_person_id=me) | Q(submitted_by_person_id=me) | Q(agent_person_id=me)


async def may_rate(claims: AccessClaims, app: Application, now: datetime) -> bool:
    me = claims.subject
    if me in (app.applicant_person_id, app.submitted_by_person_id, app.agent_person_id):
        return True
    return app.applicant_enterprise_id is not None and await acts_for_enterprise(
        claims, app.applicant_enterprise_id, now
    )


async def _open_rectification(
    evaluation: Evaluation, app: Application, policy: RatingSettings, now: datetime, db: BaseDBAsyncClient
) -> Rectification:
    real_name = evaluation.real_name
    status = RectificationStatus.PENDING_CALLBACK if real_name else RectificationStatus.VERIFYING
    due_at = await common.working_deadline(now, policy.rectification_working_days, app.region_code, db)
    callback_due_at = (
        await common.working_deadline(now, policy.callback_working_days, app.region_code, db) if real_name else None
    )
    system = common.Actor("SYSTEM", None, "系统")
    row = await Rectification.create(
        using_db=db,
        id=new_id(),
        evaluation_id=evaluation.id,
        assigned_org_id=evaluation.target_org_id,
        status=status,
        due_at=due_at,
        callback_due_at=callback_due_at,
        history=[
            common.history_entry(system, "OPENED", now, None, status, note=None if real_name else "匿名差评，无需回访")
        ],
    )
    await common.rectification_due(row, evaluation, "ORG", now, db)
    return row


async def rate(claims: AccessClaims, data: RatingInput, policy: RatingSettings, now: datetime) -> Rated:
    scores, reasons, text = validate(data)
    window = timedelta(days=policy.window_days)
    try:
        async with in_transaction() as db:
            app = await Application.filter(id=data.application_id).using_db(db).first()
            if app is None or not await may_rate(claims, app, now):
                raise NotFound("no such application of yours", path=["applicationId"], code="APPLICATION_NOT_FOUND")
            happened = await common.moment_time(app.id, data.moment, db)
            if happened is None or (
                data.moment is ServiceMoment.COMPLETE and app.status is not ApplicationStatus.COMPLETED
            ):
                raise MomentNotReached(f"{data.moment.value} cannot be rated before it has happened", path=["moment"])
            if now > happened + window:
                raise RatingWindowClosed(
                    f"a service moment can be rated for {policy.window_days} days after it happened", path=["moment"]
                )
            if await Evaluation.filter(application_id=app.id, service_moment=data.moment).using_db(db).exists():
                raise AlreadyRated("this service moment has been rated already", path=["moment"])
            org = await Organization.filter(id=app.accepting_org_id).using_db(db).get()
            evaluation = await Evaluation.create(
                using_db=db,
                id=new_id(),
                application_id=app.id,
                service_moment=data.moment,
                channel=data.channel,
                # Kept for anonymous ratings too, so that the rater can follow the loop; operators never see it.
                rater_person_id=claims.subject,
                real_name=not data.anonymous,
                satisfaction_code=data.satisfaction_code,
                indicator_scores=scores,
                selected_reasons=reasons,
                text=text,
                form_version=forms.FORM_VERSION,
                evaluated_at=now,
                target_org_id=org.id,
                target_org_uscc=org.uscc,
                service_item_id=app.service_item_id,
            )
            rectification = None
            if forms.is_bad(data.satisfaction_code):
                rectification = await _open_rectification(evaluation, app, policy, now, db)
                await OutboxEvent.create(
                    using_db=db,
                    topic=common.BAD_RATING_TOPIC,
                    key=str(evaluation.id),
                    state_version=1,
                    created_at=now,
                    payload={
                        "evaluationId": str(evaluation.id),
                        "applicationId": str(app.id),
                        "projectNo": app.project_no,
                        "itemName": app.item_name,
                        "moment": data.moment.value,
                        "satisfactionCode": data.satisfaction_code,
                        "reasons": reasons,
                        "realName": evaluation.real_name,
                        "targetOrgId": str(org.id),
                        "targetOrgUscc": org.uscc,
                        "rectificationId": str(rectification.id),
                        "dueAt": rectification.due_at.isoformat(),
                    },
                )
            await common.refresh_evaluation_status(app, now, window, db)
    except IntegrityError:
        # Two ratings of one moment at once: the unique (application, moment) index keeps the first.
        raise AlreadyRated("this service moment has been rated already", path=["moment"]) from None
    return Rated(evaluation, rectification)
