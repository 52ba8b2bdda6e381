"""The promised clock while a case waits on the applicant, a special procedure or a payment (D11, §10.1).

On pause the moment is kept; on resume the deadlines move by the working days in (pause date, resume date],
and the paused minutes are added up for statistics.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from api.kit.clock import shanghai_date
from api.kit.workdays import WorkCalendar
from api.models import Application


def pause(app: Application, now: datetime) -> dict[str, Any]:
    """Columns to set when the case enters a pausing status; a case already paused keeps its start."""
    if app.paused_since is not None or app.accept_time is None:
        # Before acceptance no promise runs yet (补正 before 受理 does not stop a clock).
        return {}
    return {"paused_since": now}


def resume(app: Application, now: datetime, calendar: WorkCalendar) -> dict[str, Any]:
    """Columns to set when the case leaves a pausing status for a running one."""
    if app.paused_since is None:
        return {"resume_status": None}
    shift = calendar.working_days_between(shanghai_date(app.paused_since), shanghai_date(now))
    minutes = int((now - app.paused_since) / timedelta(minutes=1))
    changes: dict[str, Any] = {
        "paused_since": None,
        "paused_minutes": app.paused_minutes + max(minutes, 0),
        "resume_status": None,
    }
    if app.promise_date is not None and shift:
        changes["promise_date"] = calendar.add_working_days(app.promise_date, shift)
    if app.legal_date is not None and shift:
        changes["legal_date"] = calendar.add_working_days(app.legal_date, shift)
    if app.step_due_date is not None and shift:
        changes["step_due_date"] = calendar.add_working_days(app.step_due_date, shift)
    return changes
