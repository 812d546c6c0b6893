"""The scorecard measures computed straight from the cases by one aggregate query, without the
rollups: the yardstick the rollups are tested (randomised histories) and benchmarked against.

It is a second, independent statement of the definitions in `facts.py` (SQL conditions here,
Python there), so a mistake in either shows up as a difference between the two.
"""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.db.models import (
    BigIntegerField,
    Count,
    Exists,
    F,
    OuterRef,
    Subquery,
    Value,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

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
from civicgrid.scoring.facts import HANDLING_STATES, RESOLVED_STATES
from civicgrid.scoring.models import MEASURES


def _bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    tz = timezone.get_current_timezone()
    return (
        dt.datetime.combine(start, dt.time.min, tzinfo=tz),
        dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=tz),
    )


def _annotate(qs, p: str, case_ref: str, *, returns: bool = True):
    """The per-case inputs, as annotations: `p` prefixes the case's fields ("" on Case,
    "case__" on CaseHandler); `case_ref` names the case id for subqueries."""
    accept = CaseEvent.objects.filter(case_id=OuterRef(case_ref), action=Action.ACCEPT)
    callback = Callback.objects.filter(case_id=OuterRef(case_ref)).order_by("-at", "-id")
    annotations = {
        "x_accepted": Exists(accept),
        "x_on_time": Exists(accept.filter(at__lte=OuterRef(f"{p}respond_due_at"))),
        "x_solved": Subquery(callback.values("solved")[:1]),
        "x_satisfaction": Subquery(callback.values("satisfaction")[:1]),
        "x_contacted": Subquery(callback.values("contacted")[:1]),
    }
    if returns:
        # The unit is compared through an expression, so the database finds the events by
        # case (a few rows) rather than by unit (every event of the unit).
        lead_events = CaseEvent.objects.annotate(u=Coalesce("unit_id", Value(0))).filter(
            case_id=OuterRef(case_ref), u=OuterRef(f"{p}lead_unit_id")
        )
        annotations["x_returns"] = Coalesce(
            Subquery(
                lead_events.filter(action=Action.RETURN)
                .order_by()
                .values("case_id")
                .annotate(n=Count("id"))
                .values("n")
            ),
            Value(0),
        )
        annotations["x_unjust"] = Coalesce(
            Subquery(
                lead_events.filter(action=Action.RULE)
                .annotate(from_unit=Cast(KeyTextTransform("from_unit", "data"), BigIntegerField()))
                .filter(from_unit=F("unit_id"))
                .order_by()
                .values("case_id")
                .annotate(n=Count("id"))
                .values("n")
            ),
            Value(0),
        )
    return qs.annotate(**annotations)


def _in(values) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


def _sums(*, co: bool) -> list[str]:
    """One SUM per measure (in MEASURES order) over the per-case columns of the inner query.
    The literals are the choices' constant values, never input."""
    live = f"state NOT IN {_in([State.INVALID, State.MERGED])}"
    scored = f"({live} AND channel <> '{Channel.PROACTIVE}')"
    proactive = f"({live} AND channel = '{Channel.PROACTIVE}')"
    resolved = f"state IN {_in(sorted(RESOLVED_STATES))}"
    overdue = f"deadline_status = '{DeadlineStatus.OVERDUE}'"
    handling = f"state IN {_in(sorted(HANDLING_STATES))}"
    awaiting = f"state IN {_in(sorted(workflow.AWAITING_RESPONSE))}"
    rated = (
        f"({scored} AND x_satisfaction IS NOT NULL "
        f"AND x_satisfaction <> '{Satisfaction.NO_ANSWER}')"
    )
    conditions = {
        "total": "1 = 1",
        "invalid": f"state = '{State.INVALID}'",
        "merged": f"state = '{State.MERGED}'",
        "proactive": proactive,
        "proactive_resolved": f"{proactive} AND {resolved}",
        "scored": scored,
        "resolve_due": f"{scored} AND ({resolved} OR ({handling} AND {overdue}))",
        "resolved": f"{scored} AND {resolved}",
        "resolved_on_time": f"{scored} AND {resolved} AND "
        "(resolve_due_at IS NULL OR resolved_at <= resolve_due_at)",
        "called_back": f"{scored} AND x_solved IS NOT NULL",
        "contacted": f"{scored} AND x_contacted",
        "rated": rated,
        "solved": f"{rated} AND x_solved = '{Solved.SOLVED}'",
        "partly": f"{rated} AND x_solved = '{Solved.PARTLY}'",
        "not_solved": f"{rated} AND x_solved = '{Solved.NOT_SOLVED}'",
        "satisfied": f"{rated} AND x_satisfaction = '{Satisfaction.SATISFIED}'",
        "basic": f"{rated} AND x_satisfaction = '{Satisfaction.BASIC}'",
        "dissatisfied": f"{rated} AND x_satisfaction = '{Satisfaction.DISSATISFIED}'",
        "reopened": f"{scored} AND reopen_count > 0",
    }
    values: dict[str, str] = {}
    if co:
        # A co-handling unit's response is its reply; returns are the lead unit's.
        conditions["response_due"] = scored
        conditions["responded_on_time"] = f"{scored} AND replied_at IS NOT NULL"
        conditions["co_replied"] = "replied_at IS NOT NULL"
        for m in ("returned", "returns", "returns_unjustified"):
            conditions[m] = "1 = 0"
    else:
        conditions["response_due"] = f"{scored} AND (x_accepted OR ({awaiting} AND {overdue}))"
        conditions["responded_on_time"] = (
            f"{scored} AND x_accepted AND (x_on_time OR respond_due_at IS NULL)"
        )
        conditions["co_replied"] = "1 = 0"
        conditions["returned"] = f"{scored} AND x_returns > 0"
        values["returns"] = f"CASE WHEN {scored} THEN x_returns ELSE 0 END"
        values["returns_unjustified"] = f"CASE WHEN {scored} THEN x_unjust ELSE 0 END"
    return [
        f"SUM({values[m]})" if m in values else f"SUM(CASE WHEN {conditions[m]} THEN 1 ELSE 0 END)"
        for m in MEASURES
    ]


_CASE_COLUMNS = (
    "state",
    "channel",
    "deadline_status",
    "respond_due_at",
    "resolve_due_at",
    "resolved_at",
    "reopen_count",
)
_INPUTS = ("x_accepted", "x_on_time", "x_solved", "x_satisfaction", "x_contacted")


def _grouped(inner, key: str, *, co: bool) -> dict:
    """{key: measures}: SELECT key, SUM(...), ... FROM (inner) GROUP BY key. The per-case
    inputs are computed once per case in the inner query, then summed per measure."""
    sql, params = inner.order_by().query.sql_with_params()
    # An optimisation fence: without it SQLite merges the inner query into the outer one and
    # evaluates each correlated subquery once per reference (dozens per case), not once.
    fence = "LIMIT -1 OFFSET 0" if connection.vendor == "sqlite" else "OFFSET 0"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT g.{key}, {', '.join(_sums(co=co))} FROM ({sql} {fence}) g GROUP BY g.{key}",
            params,
        )
        return {
            row[0]: {m: int(v or 0) for m, v in zip(MEASURES, row[1:], strict=True)}
            for row in cursor.fetchall()
        }


def _cases(start: dt.date, end: dt.date):
    lo, hi = _bounds(start, end)
    return _annotate(Case.objects.filter(received_at__gte=lo, received_at__lt=hi), "", "pk")


def unit_measures(start: dt.date, end: dt.date) -> dict[tuple[int, str], dict[str, int]]:
    """{(unit id, role): measures} of the cases received from `start` to `end`, computed from
    the cases and their timelines. Cases with no lead unit count under unit 0."""
    lo, hi = _bounds(start, end)
    lead = _cases(start, end).values(
        "lead_unit_id", *_CASE_COLUMNS, *_INPUTS, "x_returns", "x_unjust"
    )
    out = {(unit or 0, "lead"): m for unit, m in _grouped(lead, "lead_unit_id", co=False).items()}
    co = _annotate(
        CaseHandler.objects.filter(
            role=HandlerRole.CO,
            active=True,
            case__received_at__gte=lo,
            case__received_at__lt=hi,
        ).exclude(unit_id=F("case__lead_unit_id")),
        "case__",
        "case_id",
        returns=False,
    ).values("unit_id", "replied_at", *_INPUTS, **{c: F(f"case__{c}") for c in _CASE_COLUMNS})
    out.update({(unit, "co"): m for unit, m in _grouped(co, "unit_id", co=True).items()})
    return out


def area_measures(start: dt.date, end: dt.date) -> dict[str, dict[str, int]]:
    """{area path: measures} (each case once) of the cases received from `start` to `end`."""
    rows = _cases(start, end).values("area_path", *_CASE_COLUMNS, *_INPUTS, "x_returns", "x_unjust")
    return _grouped(rows, "area_path", co=False)
