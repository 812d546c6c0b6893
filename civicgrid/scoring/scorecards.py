"""Scorecards (三率) computed from the rollups: periods, rates, component scores, totals, ranks.

Everything here is a pure function of the rollup counts and a preset definition; nothing is
written (publishing is `services.publish_scorecard`).

Rates (each None when its denominator is 0; p = partly_solved_weight, k = basic_satisfied_weight):
- response_rate = on_time_acceptance = accepted on time / response due
- first_contact = callbacks saying the unit contacted the citizen / callbacks
- resolution_rate = (solved + p × partly) / rated callbacks
- satisfaction_rate = (satisfied + k × basically satisfied) / rated callbacks
- resolved_on_time = resolved by the resolve-by time / resolution due
- return_rate (回退率) = cases returned at least once / scored cases
- redo_rate (重办率) = cases reopened at least once / resolved cases

A unit's counts are its lead cases plus `co_handler_weight` × its co-handled cases, whose
"response" is the co-handling unit's reply (its part). Areas count each case once.

Component score: linear (points × rate, or points × (1 − rate) when lower is better) or by
thresholds (the score of the best threshold the rate reaches; 0 below all). Components whose
rate is None are left out and the rest scaled up to the full points, so a unit with no
callbacks yet is judged on what it has. Total = components + bonus − deductions, where the
bonus is `per_proactive_resolved` × proactive cases resolved and the deduction
`per_unjustified_return` × unjustified returns, each capped at its `max`.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

from django.utils.translation import gettext as _

from civicgrid.accounts.models import Unit
from civicgrid.areas.choices import Level
from civicgrid.areas.models import Area
from civicgrid.core.errors import ServiceError
from civicgrid.core.scoping import Scope
from civicgrid.scoring import rollups
from civicgrid.scoring.models import MEASURES, PeriodKind, Role, Subject
from civicgrid.scoring.presets import LOWER_IS_BETTER

# metric -> (numerator measures, denominator measure): what "show me the cases" lists.
METRIC_PARTS: dict[str, tuple[tuple[str, ...], str]] = {
    "response_rate": (("responded_on_time",), "response_due"),
    "on_time_acceptance": (("responded_on_time",), "response_due"),
    "first_contact": (("contacted",), "called_back"),
    "resolution_rate": (("solved", "partly"), "rated"),
    "satisfaction_rate": (("satisfied", "basic"), "rated"),
    "resolved_on_time": (("resolved_on_time",), "resolve_due"),
    "return_rate": (("returned",), "scored"),
    "redo_rate": (("reopened",), "resolved"),
}
MAX_RANGE_DAYS = 3 * 366


# --- periods ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    kind: str
    start: dt.date
    end: dt.date

    @property
    def label(self) -> str:
        if self.kind == PeriodKind.DAY:
            return self.start.isoformat()
        if self.kind == PeriodKind.MONTH:
            return f"{self.start:%Y-%m}"
        if self.kind == PeriodKind.QUARTER:
            return f"{self.start.year} Q{(self.start.month - 1) // 3 + 1}"
        if self.kind == PeriodKind.YEAR:
            return str(self.start.year)
        return f"{self.start.isoformat()} – {self.end.isoformat()}"

    def previous(self) -> Period:
        """The period before this one (the same kind; a range: the same length before)."""
        if self.kind == PeriodKind.RANGE or self.kind in {PeriodKind.DAY, PeriodKind.WEEK}:
            length = (self.end - self.start).days + 1
            start = self.start - dt.timedelta(days=length)
            return Period(self.kind, start, start + dt.timedelta(days=length - 1))
        return period(self.kind, self.start - dt.timedelta(days=1))

    def as_dict(self) -> dict:
        return {
            "kind": self.kind,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "label": self.label,
        }


def period(kind: str, anchor: dt.date, end: dt.date | None = None) -> Period:
    """The period of `kind` containing `anchor` (a range runs from `anchor` to `end`)."""
    if kind == PeriodKind.DAY:
        return Period(kind, anchor, anchor)
    if kind == PeriodKind.WEEK:
        start = anchor - dt.timedelta(days=anchor.weekday())
        return Period(kind, start, start + dt.timedelta(days=6))
    if kind == PeriodKind.MONTH:
        last = calendar.monthrange(anchor.year, anchor.month)[1]
        return Period(kind, anchor.replace(day=1), anchor.replace(day=last))
    if kind == PeriodKind.QUARTER:
        first = (anchor.month - 1) // 3 * 3 + 1
        last_month = first + 2
        return Period(
            kind,
            dt.date(anchor.year, first, 1),
            dt.date(anchor.year, last_month, calendar.monthrange(anchor.year, last_month)[1]),
        )
    if kind == PeriodKind.YEAR:
        return Period(kind, dt.date(anchor.year, 1, 1), dt.date(anchor.year, 12, 31))
    if kind == PeriodKind.RANGE:
        if end is None:
            raise ServiceError(_("Give the last day of the range."), "end")
        if end < anchor:
            raise ServiceError(_("The range ends before it starts."), "end")
        if (end - anchor).days > MAX_RANGE_DAYS:
            raise ServiceError(_("A range covers at most three years."), "end")
        return Period(kind, anchor, end)
    raise ServiceError(_("Choose a period."), "period")


# --- rates and scores ---------------------------------------------------------------------


def rates(m: dict[str, float], definition: dict) -> dict[str, float | None]:
    """Every metric's rate from summed measures (None when its denominator is 0)."""
    p = definition.get("partly_solved_weight", 0)
    k = definition.get("basic_satisfied_weight", 0)

    def ratio(num: float, den: float) -> float | None:
        return round(num / den, 6) if den else None

    on_time = ratio(m["responded_on_time"], m["response_due"])
    return {
        "response_rate": on_time,
        "on_time_acceptance": on_time,
        "first_contact": ratio(m["contacted"], m["called_back"]),
        "resolution_rate": ratio(m["solved"] + p * m["partly"], m["rated"]),
        "satisfaction_rate": ratio(m["satisfied"] + k * m["basic"], m["rated"]),
        "resolved_on_time": ratio(m["resolved_on_time"], m["resolve_due"]),
        "return_rate": ratio(m["returned"], m["scored"]),
        "redo_rate": ratio(m["reopened"], m["resolved"]),
    }


def component_score(component: dict, rate: float | None) -> float | None:
    """The points one component earns at `rate` (None when the rate is None)."""
    if rate is None:
        return None
    points = float(component["points"])
    lower = component.get("better", "lower" if component["metric"] in LOWER_IS_BETTER else "higher")
    lower = lower == "lower"
    thresholds = component.get("thresholds")
    if not thresholds:
        return round(points * ((1 - rate) if lower else rate), 4)
    if lower:
        for limit, score in sorted(thresholds, key=lambda t: t[0]):
            if rate <= limit:
                return float(score)
    else:
        for limit, score in sorted(thresholds, key=lambda t: -t[0]):
            if rate >= limit:
                return float(score)
    return 0.0


def score(m: dict[str, float], definition: dict) -> dict:
    """Rates, component scores, bonus, deduction and total for one subject's measures."""
    r = rates(m, definition)
    scores: dict[str, float | None] = {}
    earned = possible = full = 0.0
    for c in definition["components"]:
        s = component_score(c, r[c["metric"]])
        scores[c["metric"]] = s
        full += float(c["points"])
        if s is not None:
            earned += s
            possible += float(c["points"])
    base = earned * full / possible if possible else None
    bonus_rule = definition.get("bonus", {})
    deduction_rule = definition.get("deductions", {})
    bonus = min(
        float(bonus_rule.get("max", 0)),
        float(bonus_rule.get("per_proactive_resolved", 0)) * m["proactive_resolved"],
    )
    deduction = min(
        float(deduction_rule.get("max", 0)),
        float(deduction_rule.get("per_unjustified_return", 0)) * m["returns_unjustified"],
    )
    total = None if base is None else round(base + bonus - deduction, 2)
    return {
        "rates": r,
        "scores": scores,
        "base": None if base is None else round(base, 2),
        "bonus": round(bonus, 2),
        "deduction": round(deduction, 2),
        "total": total,
    }


# --- whole scorecards ---------------------------------------------------------------------


def _unit_measures(
    per: Period, definition: dict, scope: Scope | None, area_path: str | None, unit_ids
) -> dict[int, dict[str, float]]:
    w = float(definition.get("co_handler_weight", 0))
    out: dict[int, dict[str, float]] = {}
    for row in rollups.counts(
        start=per.start,
        end=per.end,
        group_by=("unit", "role"),
        role=None,
        scope=scope,
        area_path=area_path,
        unit_ids=unit_ids,
    ):
        if not row["unit"]:
            continue
        target = out.setdefault(row["unit"], dict.fromkeys(MEASURES, 0.0))
        factor = 1.0 if row["role"] == Role.LEAD else w
        for m in MEASURES:
            target[m] += factor * row[m]
    return out


_AREA_GROUP = {Subject.STREET: "street", Subject.COMMUNITY: "community", Subject.GRID: "area"}
_AREA_LEVEL = {
    Subject.STREET: Level.STREET,
    Subject.COMMUNITY: Level.COMMUNITY,
    Subject.GRID: Level.GRID,
}


def _area_measures(
    per: Period, subject: str, scope: Scope | None, area_path: str | None
) -> dict[int, dict[str, float]]:
    group = _AREA_GROUP[subject]
    out: dict[int, dict[str, float]] = {}
    for row in rollups.counts(
        start=per.start,
        end=per.end,
        group_by=(group,),
        role=Role.LEAD,
        scope=scope,
        area_path=area_path,
    ):
        if row[group]:
            out[row[group]] = {m: float(row[m]) for m in MEASURES}
    return out


def measures_by_subject(
    per: Period,
    subject: str,
    definition: dict,
    *,
    scope: Scope | None = None,
    area_path: str | None = None,
    unit_ids=None,
) -> dict[int, dict[str, float]]:
    if subject == Subject.UNIT:
        return _unit_measures(per, definition, scope, area_path, unit_ids)
    if subject in _AREA_GROUP:
        return _area_measures(per, subject, scope, area_path)
    raise ServiceError(_("Choose what the scorecard ranks."), "subject")


def _names(subject: str, ids) -> dict[int, dict]:
    if subject == Subject.UNIT:
        return {
            u["id"]: {"name": u["name"], "code": u["code"], "path": ""}
            for u in Unit.objects.filter(pk__in=list(ids)).values("id", "name", "code")
        }
    return {
        a["id"]: {"name": a["name"], "code": a["code"], "path": a["path"], "level": a["level"]}
        for a in Area.objects.filter(pk__in=list(ids)).values("id", "name", "code", "path", "level")
    }


def _rank(rows: list[dict]) -> None:
    """Competition ranking (1, 2, 2, 4) by total, highest first; unranked rows get None."""
    ranked = [r for r in rows if r["total"] is not None]
    ranked.sort(key=lambda r: (-r["total"], r["name"]))
    previous_total, previous_rank = None, 0
    for i, r in enumerate(ranked, start=1):
        if r["total"] != previous_total:
            previous_rank = i
            previous_total = r["total"]
        r["rank"] = previous_rank
    for r in rows:
        r.setdefault("rank", None)


def compute(
    definition: dict,
    per: Period,
    subject: str,
    *,
    scope: Scope | None = None,
    area_path: str | None = None,
    unit_ids=None,
) -> dict:
    """The scorecard: one row per subject with counts, rates, scores, total, rank and the
    change since the previous period; the red list (top) and black list (bottom).

    `scope` limits the counts to what the caller may see; `area_path` to one subtree.
    """
    min_cases = float(definition.get("min_cases", 1))
    current = measures_by_subject(
        per, subject, definition, scope=scope, area_path=area_path, unit_ids=unit_ids
    )
    before = measures_by_subject(
        per.previous(), subject, definition, scope=scope, area_path=area_path, unit_ids=unit_ids
    )
    names = _names(subject, set(current) | set(before))
    if subject in _AREA_LEVEL:
        level = _AREA_LEVEL[subject]
        current = {k: v for k, v in current.items() if names.get(k, {}).get("level") == level}
    previous_rows = []
    for pk, m in before.items():
        if pk in names and m["scored"] >= min_cases:
            previous_rows.append({"id": pk, "name": names[pk]["name"], **score(m, definition)})
    _rank(previous_rows)
    previous = {r["id"]: r for r in previous_rows}
    rows = []
    for pk, m in current.items():
        info = names.get(pk)
        if info is None:
            continue
        result = score(m, definition)
        if m["scored"] < min_cases:
            result["total"] = None
        prev = previous.get(pk)
        rows.append(
            {
                "id": pk,
                "name": info["name"],
                "code": info.get("code", ""),
                "path": info.get("path", ""),
                "counts": {k: round(v, 2) for k, v in m.items()},
                **result,
                "previous_total": prev["total"] if prev else None,
                "previous_rank": prev["rank"] if prev else None,
            }
        )
    _rank(rows)
    for r in rows:
        r["change"] = (
            round(r["total"] - r["previous_total"], 2)
            if r["total"] is not None and r["previous_total"] is not None
            else None
        )
    rows.sort(key=lambda r: (r["rank"] is None, r["rank"] or 0, r["name"]))
    ranked = [r for r in rows if r["rank"] is not None]
    size = int(definition.get("list_size", 5))
    # Each case once (its lead row), whatever the subject.
    overall = {
        k: float(v)
        for k, v in rollups.totals(
            start=per.start,
            end=per.end,
            scope=scope,
            area_path=area_path,
            unit_ids=unit_ids,
            role=Role.LEAD,
        ).items()
    }
    return {
        "subject": subject,
        "components": [c["metric"] for c in definition["components"]],
        "period": per.as_dict(),
        "previous_period": per.previous().as_dict(),
        "rows": rows,
        "red": [r["id"] for r in ranked[:size]],
        # The bottom of the list, never overlapping the top.
        "black": [r["id"] for r in reversed(ranked[max(size, len(ranked) - size) :])],
        "overall": {"counts": overall, "rates": rates(overall, definition)},
    }
