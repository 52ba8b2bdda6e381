"""The reference model of the randomized sync test: what sync-protocol.md §8–§10 say the server does with each
mutation, for the mutation kinds the machine sends (CREATE_DRAFT, EDIT with SET ops, DELETE_DRAFT, RESTORE_DRAFT,
RESOLVE_CONFLICT, SUBMIT), free of I/O.

The model is fed the mutations in the order the server processed them and predicts each outcome (status and error
code) and the resulting state (field values, status, open conflicts, history rows, quarantine entries). Two
things it cannot know by itself come from the server's records, never from its own guesses: the space versions of
history rows (DELETE_CONFLICT compares them with `baseDraftVersion`) and which conflict a `conflictId` names. What
the applications service decides at SUBMIT step 5 (the form, the assurance level, the service being open) is the
one outcome the model does not predict: an APPLIED or one of those business codes is accepted, and the state
follows what the server answered.

Two devices pushing at once interleave their mutations one by one under the space serialization; the test
enumerates the interleavings that keep each client's order (`interleavings`) and accepts the push only if one of
them reproduces every outcome and the server's state.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from sync.merge import map_hash, value_hash

BUSINESS_CODES = frozenset({"VALIDATION_FAILED", "ASSURANCE_TOO_LOW", "AGENT_OUT_OF_SCOPE", "SERVICE_CLOSED"})
OP_TYPES = frozenset({"CREATE_DRAFT", "EDIT", "RESOLVE_CONFLICT"})


@dataclass(frozen=True)
class Outcome:
    status: str  # APPLIED | APPLIED_WITH_CONFLICTS | NOOP | REJECTED
    code: str | None = None

    def __str__(self) -> str:
        return self.status if self.code is None else f"{self.status} {self.code}"


SUBMIT_DECIDED_BY_SERVICE = Outcome("APPLIED or a business rejection")


def matches(predicted: Outcome, actual: Outcome) -> bool:
    if predicted == SUBMIT_DECIDED_BY_SERVICE:
        return actual == Outcome("APPLIED") or (actual.status == "REJECTED" and actual.code in BUSINESS_CODES)
    return predicted == actual


@dataclass
class DraftState:
    status: str = "EDITING"
    status_before_delete: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    # Per path, each conflict ever opened there in order, True while OPEN (at most the last one is).
    conflicts: dict[str, list[bool]] = field(default_factory=dict)
    history: list[tuple[str, int, str]] = field(default_factory=list)  # (clientId, mutationId, path)
    quarantined: list[tuple[str, int]] = field(default_factory=list)
    submitted_hash: str | None = None

    @property
    def open_paths(self) -> list[str]:
        return sorted(path for path, states in self.conflicts.items() if states and states[-1])

    @property
    def content_hash(self) -> str:
        return map_hash(self.fields)


@dataclass(frozen=True)
class Processed:
    """One mutation as the server processed it: who sent it, what, and what the server answered."""

    client_id: str
    mutation: Mapping[str, Any]
    actual: Outcome


@dataclass
class Facts:
    """What the model takes from the server's records (see the module docstring)."""

    history_versions: dict[tuple[str, int, str], int] = field(default_factory=dict)  # (client, mutation, path)
    conflict_slots: dict[str, tuple[str, int]] = field(default_factory=dict)  # conflictId → (path, nth on path)


@dataclass
class Reference:
    policies: Mapping[str, str]  # path → MANUAL | LWW_SERVER_ORDER
    drafts: dict[str, DraftState] = field(default_factory=dict)

    def copy(self) -> Reference:
        return Reference(self.policies, copy.deepcopy(self.drafts))

    # ---- one mutation ----------------------------------------------------------------------------------------

    def apply(self, step: Processed, facts: Facts) -> Outcome:
        """Predict the outcome of `step.mutation` on the current state and move the state as the server must."""
        m, client = step.mutation, step.client_id
        draft_id, kind = str(m["draftId"]), m["type"]
        draft = self.drafts.get(draft_id)
        if kind == "CREATE_DRAFT" and draft is None:
            draft = self.drafts[draft_id] = DraftState()
            self._ops(draft, client, m, facts)
            return Outcome("APPLIED")  # the creation itself is a change, whatever its ops did
        if draft is None:
            return Outcome("REJECTED", "NOT_OWNER")
        if kind in OP_TYPES:
            return self._with_ops(draft, client, m, facts)
        if kind == "DELETE_DRAFT":
            return self._delete(draft, client, m, facts)
        if kind == "RESTORE_DRAFT":
            if draft.status != "DELETED":
                return Outcome("NOOP")
            draft.status, draft.status_before_delete = draft.status_before_delete or "EDITING", None
            return Outcome("APPLIED")
        if kind == "SUBMIT":
            return self._submit(draft, m, step.actual)
        raise AssertionError(f"the model does not know {kind}")

    def _with_ops(self, draft: DraftState, client: str, m: Mapping[str, Any], facts: Facts) -> Outcome:
        blocked = {"DELETED": "DRAFT_DELETED", "SUBMITTED": "DRAFT_SUBMITTED"}.get(draft.status)
        if blocked is not None:
            draft.quarantined.append((client, int(m["id"])))
            return Outcome("REJECTED", blocked)
        if m["type"] != "RESOLVE_CONFLICT":
            return self._ops(draft, client, m, facts)
        path, nth = facts.conflict_slots[str(m["conflictId"])]
        was_open = draft.conflicts.get(path, [])[nth]
        outcome = self._ops(draft, client, m, facts)
        if not was_open or outcome.status == "APPLIED_WITH_CONFLICTS":
            return outcome
        draft.conflicts[path][nth] = False  # ops that do not conflict again close it, even if all were NOOPs
        return Outcome("APPLIED")

    def _ops(self, draft: DraftState, client: str, m: Mapping[str, Any], facts: Facts) -> Outcome:
        """The field rule of §8.4 for each SET/UNSET op in order."""
        changed = conflicted = False
        for op in m.get("ops") or []:
            path = op["path"]
            new = op.get("value") if op["kind"] == "SET" else None
            current = draft.fields.get(path)
            if value_hash(new) == value_hash(current):
                continue
            if value_hash(current) == op["baseHash"] or self.policies.get(path) == "LWW_SERVER_ORDER":
                if new is None:
                    draft.fields.pop(path, None)
                else:
                    draft.fields[path] = new
                draft.history.append((client, int(m["id"]), path))
                changed = True
                continue
            states = draft.conflicts.setdefault(path, [])
            if not states or not states[-1]:
                states.append(True)  # a new OPEN conflict; otherwise the open one gets another candidate
            conflicted = True
        if conflicted:
            return Outcome("APPLIED_WITH_CONFLICTS")
        # A CREATE_DRAFT of a draft that exists is a NOOP creation whose ops run as an EDIT's (§8.3).
        return Outcome("APPLIED" if changed else "NOOP")

    def _delete(self, draft: DraftState, client: str, m: Mapping[str, Any], facts: Facts) -> Outcome:
        if draft.status == "DELETED":
            return Outcome("NOOP")
        if draft.status == "SUBMITTED":
            return Outcome("REJECTED", "DRAFT_SUBMITTED")
        base = int(m["baseDraftVersion"])
        unseen = [key for key in draft.history if key[0] != client and facts.history_versions.get(key, base + 1) > base]
        if unseen:
            return Outcome("REJECTED", "DELETE_CONFLICT")
        draft.status_before_delete, draft.status = draft.status, "DELETED"
        return Outcome("APPLIED")

    def _submit(self, draft: DraftState, m: Mapping[str, Any], actual: Outcome) -> Outcome:
        if draft.status == "DELETED":
            return Outcome("REJECTED", "DRAFT_DELETED")
        if draft.status == "SUBMITTED":
            return Outcome("REJECTED", "ALREADY_SUBMITTED")
        if draft.content_hash != m["expectedContentHash"]:
            return Outcome("REJECTED", "CONTENT_CHANGED")
        if draft.open_paths:
            return Outcome("REJECTED", "UNRESOLVED_CONFLICTS")
        if actual == Outcome("APPLIED"):
            draft.status, draft.submitted_hash = "SUBMITTED", m["expectedContentHash"]
        return SUBMIT_DECIDED_BY_SERVICE


def interleavings(*queues: list[Processed]) -> Iterator[list[Processed]]:
    """Every merge of the clients' processed mutations that keeps each client's own order."""
    queues = tuple(q for q in queues if q)
    if len(queues) <= 1:
        yield list(queues[0]) if queues else []
        return
    first, rest = queues[0], [p for q in queues[1:] for p in q]
    assert len(queues) == 2, "two concurrent pushers at most"
    total = len(first) + len(rest)
    for slots in itertools.combinations(range(total), len(first)):
        chosen, a, b = set(slots), iter(first), iter(rest)
        yield [next(a) if i in chosen else next(b) for i in range(total)]


def replay(reference: Reference, order: list[Processed], facts: Facts) -> tuple[Reference, list[str]]:
    """`order` applied to a copy of `reference`; the mismatches between predicted and actual outcomes."""
    trial = reference.copy()
    mismatches = []
    for step in order:
        predicted = trial.apply(step, facts)
        if not matches(predicted, step.actual):
            mismatches.append(
                f"{step.client_id[:8]}/{step.mutation['id']} {step.mutation['type']}: "
                f"expected {predicted}, server answered {step.actual}"
            )
    return trial, mismatches
