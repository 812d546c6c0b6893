"""The scorecard measures computed straight from the cases by one aggregate query, without the
rollups: the yardstick the rollups are tested (randomised histories) and benchmarked against.

It is a second, independent statement of the definitions in `facts.py` (SQL conditions here,
Python there), so a mistake in either shows up as a difference between the two.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import (
    BigIntegerField,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models import Case as When_
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


def _count(q: Q) -> Sum:
    return Sum(When_(When(q, then=Value(1)), default=Value(0), output_field=IntegerField()))


def _value(q: Q, field: str) -> Sum:
    return Sum(When_(When(q, then=F(field)), default=Value(0), output_field=IntegerField()))


def _annotate(qs, p: str, case_ref: str):
    """The per-case inputs, as annotations: `p` prefixes the case's fields ("" on Case,
    "case__" on CaseHandler); `case_ref` names the case id for subqueries."""
    accept = CaseEvent.objects.filter(case_id=OuterRef(case_ref), action=Action.ACCEPT)
    callback = Callback.objects.filter(case_id=OuterRef(case_ref)).order_by("-at", "-id")
    lead_events = CaseEvent.objects.filter(
        case_id=OuterRef(case_ref), unit_id=OuterRef(f"{p}lead_unit_id")
    )
    returns = (
        lead_events.filter(action=Action.RETURN)
        .order_by()
        .values("case_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    unjust = (
        lead_events.filter(action=Action.RULE)
        .annotate(from_unit=Cast(KeyTextTransform("from_unit", "data"), BigIntegerField()))
        .filter(from_unit=F("unit_id"))
        .order_by()
        .values("case_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    return qs.annotate(
        x_accepted=Exists(accept),
        x_on_time=Exists(accept.filter(at__lte=OuterRef(f"{p}respond_due_at"))),
        x_solved=Subquery(callback.values("solved")[:1]),
        x_satisfaction=Subquery(callback.values("satisfaction")[:1]),
        x_contacted=Subquery(callback.values("contacted")[:1]),
        x_returns=Coalesce(Subquery(returns), Value(0)),
        x_unjust=Coalesce(Subquery(unjust), Value(0)),
    )


def _aggregates(p: str, *, co: bool) -> dict:
    """Sum expressions for every measure (a co-handler's when `co`)."""
    state, channel = f"{p}state", f"{p}channel"
    overdue = Q(**{f"{p}deadline_status": DeadlineStatus.OVERDUE})
    live = ~Q(**{f"{state}__in": [State.INVALID, State.MERGED]})
    proactive = live & Q(**{channel: Channel.PROACTIVE})
    scored = live & ~Q(**{channel: Channel.PROACTIVE})
    resolved = Q(**{f"{state}__in": list(RESOLVED_STATES)})
    rated = scored & Q(x_satisfaction__isnull=False) & ~Q(x_satisfaction=Satisfaction.NO_ANSWER)
    accepted_on_time = Q(x_accepted=True) & (
        Q(x_on_time=True) | Q(**{f"{p}respond_due_at__isnull": True})
    )
    a = {
        "total": Count("pk"),
        "invalid": _count(Q(**{state: State.INVALID})),
        "merged": _count(Q(**{state: State.MERGED})),
        "proactive": _count(proactive),
        "proactive_resolved": _count(proactive & resolved),
        "scored": _count(scored),
        "resolve_due": _count(
            scored & (resolved | (Q(**{f"{state}__in": list(HANDLING_STATES)}) & overdue))
        ),
        "resolved": _count(scored & resolved),
        "resolved_on_time": _count(
            scored
            & resolved
            & (
                Q(**{f"{p}resolve_due_at__isnull": True})
                | Q(**{f"{p}resolved_at__lte": F(f"{p}resolve_due_at")})
            )
        ),
        "called_back": _count(scored & Q(x_solved__isnull=False)),
        "contacted": _count(scored & Q(x_contacted=True)),
        "rated": _count(rated),
        "solved": _count(rated & Q(x_solved=Solved.SOLVED)),
        "partly": _count(rated & Q(x_solved=Solved.PARTLY)),
        "not_solved": _count(rated & Q(x_solved=Solved.NOT_SOLVED)),
        "satisfied": _count(rated & Q(x_satisfaction=Satisfaction.SATISFIED)),
        "basic": _count(rated & Q(x_satisfaction=Satisfaction.BASIC)),
        "dissatisfied": _count(rated & Q(x_satisfaction=Satisfaction.DISSATISFIED)),
        "reopened": _count(scored & Q(**{f"{p}reopen_count__gt": 0})),
    }
    if co:
        a["response_due"] = _count(scored)
        a["responded_on_time"] = _count(scored & Q(replied_at__isnull=False))
        a["co_replied"] = _count(Q(replied_at__isnull=False))
        a["returned"] = a["returns"] = a["returns_unjustified"] = Value(0)
    else:
        awaiting = Q(**{f"{state}__in": list(workflow.AWAITING_RESPONSE)})
        a["response_due"] = _count(scored & (Q(x_accepted=True) | (awaiting & overdue)))
        a["responded_on_time"] = _count(scored & accepted_on_time)
        a["co_replied"] = Value(0)
        a["returned"] = _count(scored & Q(x_returns__gt=0))
        a["returns"] = _value(scored, "x_returns")
        a["returns_unjustified"] = _value(scored, "x_unjust")
    return a


def unit_measures(start: dt.date, end: dt.date) -> dict[tuple[int, str], dict[str, int]]:
    """{(unit id, role): measures} of the cases received from `start` to `end`, computed from
    the cases and their timelines. Cases with no lead unit count under unit 0."""
    lo, hi = _bounds(start, end)
    out: dict[tuple[int, str], dict[str, int]] = {}
    lead = (
        _annotate(Case.objects.filter(received_at__gte=lo, received_at__lt=hi), "", "pk")
        .order_by()
        .values("lead_unit_id")
        .annotate(**_aggregates("", co=False))
    )
    for row in lead:
        out[(row["lead_unit_id"] or 0, "lead")] = {m: int(row[m] or 0) for m in MEASURES}
    co = (
        _annotate(
            CaseHandler.objects.filter(
                role=HandlerRole.CO,
                active=True,
                case__received_at__gte=lo,
                case__received_at__lt=hi,
            ).exclude(unit_id=F("case__lead_unit_id")),
            "case__",
            "case_id",
        )
        .order_by()
        .values("unit_id")
        .annotate(**_aggregates("case__", co=True))
    )
    for row in co:
        out[(row["unit_id"], "co")] = {m: int(row[m] or 0) for m in MEASURES}
    return out


def area_measures(start: dt.date, end: dt.date) -> dict[str, dict[str, int]]:
    """{area path: measures} (each case once) of the cases received from `start` to `end`."""
    lo, hi = _bounds(start, end)
    rows = (
        _annotate(Case.objects.filter(received_at__gte=lo, received_at__lt=hi), "", "pk")
        .order_by()
        .values("area_path")
        .annotate(**_aggregates("", co=False))
    )
    return {row["area_path"]: {m: int(row[m] or 0) for m in MEASURES} for row in rows}
