"""What a case counts for: its facts, recomputed from the case, its timeline and its callbacks.

`compute_facts(case_ids)` is the one definition of every measure in `models.MEASURES`. It is a
pure read: a handful of queries per batch of cases, whatever the batch size.

Definitions (docs/scoring.md explains them for readers):
- scored: not closed as invalid (核减), not merged into another case, not proactive work
  (未诉先办, channel `proactive`), which earns bonus points instead;
- response due: the case was accepted (签收), or it still awaits acceptance and is overdue;
  responded on time: its first acceptance came by the respond-by time;
- resolution due: the case was resolved, or it is accepted (or suspended) and overdue;
  resolved on time: resolved by the resolve-by time (an approved extension moves it);
- the callback (回访) counted is the latest one: contacted, solved / partly / not solved,
  satisfied / basically satisfied / dissatisfied; "rated" when the citizen gave an answer;
- returns (退单) are those made by the case's lead unit (the unit that carries the case); a
  return that moved the case to another unit counts nowhere. An unjustified return is a
  ruling (审定) that sent the case back to the unit that had returned it (`rule_on_return`
  with the same unit), counted against that unit while it leads the case;
- reopened (重办): `Case.reopen_count` > 0.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Min, Q
from django.utils import timezone

from civicgrid.areas.choices import Level
from civicgrid.areas.models import Area
from civicgrid.cases import workflow
from civicgrid.cases.choices import (
    Action,
    Channel,
    DeadlineStatus,
    HandlerRole,
    Satisfaction,
    Solved,
    State,
)
from civicgrid.cases.models import Callback, Case, CaseEvent, CaseHandler
from civicgrid.scoring.models import MEASURES

RESOLVED_STATES = frozenset({State.RESOLVED, State.CALLBACK_DONE, State.CLOSED})
# Accepted and suspended cases run only the resolution clock: overdue there means resolution.
HANDLING_STATES = frozenset({State.ACCEPTED, State.SUSPENDED})

_CASE_FIELDS = (
    "id",
    "received_at",
    "lead_unit_id",
    "area_path",
    "grid_id",
    "category_id",
    "channel",
    "kind",
    "state",
    "deadline_status",
    "respond_due_at",
    "resolve_due_at",
    "resolved_at",
    "reopen_count",
)


@dataclass
class Facts:
    """One case's place in the count tables and its lead-row measures."""

    case_id: int
    day: dt.date
    unit_id: int
    area_id: int
    area_path: str
    street_id: int
    community_id: int
    category_id: int
    channel: str
    kind: str
    measures: dict[str, int]
    co: dict[int, bool] = field(default_factory=dict)  # co-handling unit -> replied

    def co_measures(self, replied: bool) -> dict[str, int]:
        """A co-handling unit's measures: the case's outcome, with the response replaced by
        its own part (did it reply to the lead unit)."""
        m = dict(self.measures)
        m["response_due"] = m["scored"]
        m["responded_on_time"] = m["scored"] if replied else 0
        m["co_replied"] = 1 if replied else 0
        m["returned"] = m["returns"] = m["returns_unjustified"] = 0
        return m


class AreaLevels:
    """Area id -> level, read once per refresh (areas are few next to cases)."""

    def __init__(self) -> None:
        self._levels: dict[int, str] | None = None

    def level(self, area_id: int) -> str | None:
        if self._levels is None:
            self._levels = dict(Area.objects.values_list("id", "level"))
        level = self._levels.get(area_id)
        if level is None and area_id:
            # An area created since the map was read.
            self._levels[area_id] = level = (
                Area.objects.filter(pk=area_id).values_list("level", flat=True).first() or ""
            )
        return level

    def place(self, area_path: str, grid_id: int | None) -> tuple[int, int, int]:
        """(area, street, community) of a case at `area_path`."""
        ids = [int(p) for p in area_path.strip("/").split("/") if p]
        street = community = 0
        for pk in ids:
            level = self.level(pk)
            if level == Level.STREET:
                street = pk
            elif level == Level.COMMUNITY:
                community = pk
        area = grid_id or (ids[-1] if ids else 0)
        return area, street, community


def _zero() -> dict[str, int]:
    return dict.fromkeys(MEASURES, 0)


def _measures(
    row: dict, accepted: bool, on_time: bool, callback: dict | None, returns: int, unjust: int
) -> dict[str, int]:
    m = _zero()
    m["total"] = 1
    state = row["state"]
    if state == State.INVALID:
        m["invalid"] = 1
        return m
    if state == State.MERGED:
        m["merged"] = 1
        return m
    resolved = state in RESOLVED_STATES
    if row["channel"] == Channel.PROACTIVE:
        m["proactive"] = 1
        m["proactive_resolved"] = int(resolved)
        return m
    m["scored"] = 1
    overdue = row["deadline_status"] == DeadlineStatus.OVERDUE
    if accepted or (workflow.awaiting_response(state) and overdue):
        m["response_due"] = 1
        m["responded_on_time"] = int(accepted and on_time)
    if resolved or (state in HANDLING_STATES and overdue):
        m["resolve_due"] = 1
    if resolved:
        m["resolved"] = 1
        due, at = row["resolve_due_at"], row["resolved_at"]
        m["resolved_on_time"] = int(due is None or (at is not None and at <= due))
    if callback is not None:
        m["called_back"] = 1
        m["contacted"] = int(bool(callback["contacted"]))
        if callback["satisfaction"] != Satisfaction.NO_ANSWER:
            m["rated"] = 1
            m[
                {
                    Solved.SOLVED: "solved",
                    Solved.PARTLY: "partly",
                    Solved.NOT_SOLVED: "not_solved",
                }[callback["solved"]]
            ] = 1
            m[
                {
                    Satisfaction.SATISFIED: "satisfied",
                    Satisfaction.BASIC: "basic",
                    Satisfaction.DISSATISFIED: "dissatisfied",
                }[callback["satisfaction"]]
            ] = 1
    m["returned"] = int(returns > 0)
    m["returns"] = returns
    m["returns_unjustified"] = unjust
    m["reopened"] = int(row["reopen_count"] > 0)
    return m


def compute_facts(case_ids: Iterable[int], levels: AreaLevels | None = None) -> dict[int, Facts]:
    """The facts of each existing case in `case_ids` (missing cases are left out)."""
    ids = list(case_ids)
    if not ids:
        return {}
    return _compute(Q(pk__in=ids), Q(case_id__in=ids), levels or AreaLevels())


def compute_facts_range(lo: int, hi: int, levels: AreaLevels | None = None) -> dict[int, Facts]:
    """The facts of every case with `lo <= id < hi` (a full rebuild walks the ids in ranges:
    a range is an index scan where a list of ids is a lookup per id)."""
    return _compute(
        Q(pk__gte=lo, pk__lt=hi), Q(case_id__gte=lo, case_id__lt=hi), levels or AreaLevels()
    )


def _compute(cases: Q, related: Q, levels: AreaLevels) -> dict[int, Facts]:
    """The facts of the cases matching `cases` (`related` picks their events, callbacks and
    handlers): five queries, whatever the number of cases."""
    rows = list(Case.objects.filter(cases).order_by().values_list(*_CASE_FIELDS))
    if not rows:
        return {}
    # The first acceptance of each case: accepted on time when it came by the respond-by time.
    first_accept = dict(
        CaseEvent.objects.filter(related, action=Action.ACCEPT)
        .order_by()
        .values("case_id")
        .annotate(first=Min("at"))
        .values_list("case_id", "first")
    )
    callbacks: dict[int, dict] = {}
    for cb in (
        Callback.objects.filter(related)
        .order_by("case_id", "at", "id")
        .values("case_id", "contacted", "solved", "satisfaction")
    ):
        callbacks[cb["case_id"]] = cb  # the latest wins
    # Returns and unjustified returns by unit; only the lead unit's count (it carries the case).
    returns: dict[int, list[int | None]] = {}
    unjust: dict[int, list[int | None]] = {}
    for case_id, action, unit_id, data in CaseEvent.objects.filter(
        related, action__in=[Action.RETURN, Action.RULE]
    ).values_list("case_id", "action", "unit_id", "data"):
        if action == Action.RETURN:
            returns.setdefault(case_id, []).append(unit_id)
        elif unit_id is not None and (data or {}).get("from_unit") == unit_id:
            unjust.setdefault(case_id, []).append(unit_id)
    co: dict[int, dict[int, bool]] = {}
    for case_id, unit_id, replied_at in CaseHandler.objects.filter(
        related, active=True, role=HandlerRole.CO
    ).values_list("case_id", "unit_id", "replied_at"):
        co.setdefault(case_id, {})[unit_id] = replied_at is not None
    result: dict[int, Facts] = {}
    tz = timezone.get_current_timezone()
    for values in rows:
        row = dict(zip(_CASE_FIELDS, values, strict=True))
        pk = row["id"]
        accepted_at = first_accept.get(pk)
        due = row["respond_due_at"]
        on_time = due is None or (accepted_at is not None and accepted_at <= due)
        area, street, community = levels.place(row["area_path"], row["grid_id"])
        lead = row["lead_unit_id"]
        result[pk] = Facts(
            case_id=pk,
            day=row["received_at"].astimezone(tz).date(),
            unit_id=lead or 0,
            area_id=area,
            area_path=row["area_path"],
            street_id=street,
            community_id=community,
            category_id=row["category_id"] or 0,
            channel=row["channel"],
            kind=row["kind"],
            measures=_measures(
                row,
                accepted_at is not None,
                on_time,
                callbacks.get(pk),
                returns.get(pk, []).count(lead),
                unjust.get(pk, []).count(lead),
            ),
            co={u: r for u, r in co.get(pk, {}).items() if u != lead},
        )
    return result
