"""The 承办 → 审核 → 批准 chain of an accepted case (domain.md §7.5), pure.

Workflow definitions are configuration: the chain is a tuple of steps, each with an SLA in working days. The SLA
of a step comes from the item's workflow configuration when it names the step (审批 counts as 批准) and sets one,
else from `settings.applications.step_sla_working_days`. A STEP event with PASS moves the case to the next step,
RETURN sends it back one step; once the last step passes, `current_step` is empty and the case may be decided.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from api.kit.errors import Conflict, InvalidInput
from api.kit.workdays import WorkCalendar

DEFAULT_CHAIN = ("承办", "审核", "批准")
# Names an item's workflow configuration may use for a step of the chain.
_ALIASES: Mapping[str, tuple[str, ...]] = {"承办": ("承办",), "审核": ("审核",), "批准": ("批准", "审批", "决定")}


class Outcome(StrEnum):
    PASS = "PASS"  # noqa: S105 (an outcome, not a password) 通过: on to the next step
    RETURN = "RETURN"  # 退回: back to the previous step


@dataclass(frozen=True)
class Step:
    name: str
    sla_working_days: int


def chain_for(item_steps: Sequence[Mapping[str, Any]], default_sla: int) -> tuple[Step, ...]:
    configured: dict[str, int] = {}
    for step in item_steps:
        name = str(step.get("name") or "")
        sla = step.get("sla_working_days")
        if isinstance(sla, int) and not isinstance(sla, bool) and sla > 0:
            configured.setdefault(name, sla)
    chain = []
    for name in DEFAULT_CHAIN:
        sla = next((configured[a] for a in _ALIASES[name] if a in configured), default_sla)
        chain.append(Step(name, max(sla, 1)))
    return tuple(chain)


def _index(chain: Sequence[Step], name: str | None) -> int:
    for i, step in enumerate(chain):
        if step.name == name:
            return i
    raise Conflict(f"the case is not at a step of its workflow ({name!r})", code="STEP_UNKNOWN")


def due(step: Step, start: date, calendar: WorkCalendar) -> date:
    return calendar.add_working_days(start, step.sla_working_days)


def first(chain: Sequence[Step], accepted_on: date, calendar: WorkCalendar) -> tuple[str, date]:
    return chain[0].name, due(chain[0], accepted_on, calendar)


def advance(
    chain: Sequence[Step], current: str | None, expected: str, outcome: Outcome, today: date, calendar: WorkCalendar
) -> tuple[str | None, date | None]:
    """The step after `current` and its due date; (None, None) once the last step passed.

    `expected` is the step the handler acted on: a stale page (another handler moved the case on) is refused
    rather than silently passing the next step too."""
    if current is None:
        raise Conflict("every step of the workflow has passed; decide the case", code="WORKFLOW_COMPLETE")
    if expected != current:
        raise Conflict(f"the case is at step {current}, not {expected}", path=["step"], code="STEP_MISMATCH")
    i = _index(chain, current)
    if outcome is Outcome.RETURN:
        if i == 0:
            raise InvalidInput("the first step cannot be returned to an earlier one", path=["outcome"])
        back = chain[i - 1]
        return back.name, due(back, today, calendar)
    if i + 1 == len(chain):
        return None, None
    nxt = chain[i + 1]
    return nxt.name, due(nxt, today, calendar)


def is_complete(accepted: bool, current_step: str | None) -> bool:
    return accepted and current_step is None
