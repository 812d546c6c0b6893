"""Scoped reads for scorecards: what a caller may compute, read and drill into.

A caller counts only the cases they may see (`cases.view`: their area roles' subtrees plus
their handling units' cases), so a street sees its own figures and never a neighbour's: an
area outside their scope is a 404, as if it did not exist.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Q
from django.http import Http404

from civicgrid.areas.choices import Level
from civicgrid.areas.models import Area
from civicgrid.cases.models import Case
from civicgrid.core.scoping import Scope, scope_of
from civicgrid.scoring import rollups, scorecards
from civicgrid.scoring.models import MEASURES, Role, Scorecard, ScorecardPreset
from civicgrid.scoring.scorecards import METRIC_PARTS, Period

VIEW = "cases.view"


def can_view(user) -> bool:
    return scope_of(user).can(VIEW)


def _scope(user) -> Scope | None:
    scope = scope_of(user)
    return None if scope.everything else scope


def area_or_404(user, area_id: int | None) -> Area | None:
    """The area a caller asked for, if it lies in their scope (else Http404)."""
    if area_id in (None, "", 0):
        return None
    area = Area.objects.filter(pk=area_id).first()
    if area is None:
        raise Http404
    scope = scope_of(user)
    if not scope.everything and not any(
        area.path.startswith(p) for p in scope.capability_role_paths.get(VIEW, ())
    ):
        raise Http404
    return area


def home_area(user, capability: str = VIEW) -> Area | None:
    """The one area where the caller's roles grant `capability` (None for none, several, or
    everything): what "all my areas" means when one area must be named."""
    scope = scope_of(user)
    if scope.everything:
        return None
    paths = sorted(set(scope.capability_role_paths.get(capability, ())), key=len)
    tops = [p for p in paths if not any(p != q and p.startswith(q) for q in paths)]
    if len(tops) != 1:
        return None
    return Area.objects.filter(path=tops[0]).first()


def area_choices(user):
    """The streets and communities a caller may narrow a scorecard to."""
    qs = Area.objects.filter(level__in=[Level.DISTRICT, Level.STREET, Level.COMMUNITY])
    scope = scope_of(user)
    if not scope.everything:
        paths = scope.capability_role_paths.get(VIEW, ())
        if not paths:
            return qs.none()
        q = Q(pk__in=[])
        for p in paths:
            q |= Q(path__startswith=p)
        qs = qs.filter(q)
    return qs.order_by("path")


def compute_for(
    user, preset: ScorecardPreset, per: Period, subject: str, area: Area | None = None
) -> dict:
    """The live scorecard as `user` may see it."""
    if not can_view(user):
        raise Http404
    return scorecards.compute(
        preset.definition,
        per,
        subject,
        scope=_scope(user),
        area_path=area.path if area else None,
    )


def published_for(user):
    """Published scorecards the caller may read (computed for their area or inside it)."""
    return Scorecard.objects.visible_to(user).select_related("preset", "published_by")


def parts(metric_or_measure: str) -> tuple[tuple[str, ...], str]:
    """(numerator measures, denominator measure) of a metric, or ((measure,), measure)."""
    if metric_or_measure in METRIC_PARTS:
        return METRIC_PARTS[metric_or_measure]
    if metric_or_measure in MEASURES:
        return (metric_or_measure,), metric_or_measure
    raise Http404


def explain(
    user,
    metric: str,
    part: str,
    *,
    start: dt.date,
    end: dt.date,
    subject: str,
    subject_id: int | None = None,
    area: Area | None = None,
):
    """The cases behind one figure: the numerator (`part="numerator"`) or the denominator of
    `metric` for one unit or area in the period, as a queryset of cases the caller may see."""
    if not can_view(user):
        raise Http404
    numerator, denominator = parts(metric)
    measures = numerator if part == "numerator" else (denominator,)
    scope = _scope(user)
    area_path = area.path if area else None
    unit_id = None
    role = Role.LEAD
    if subject_id:
        if subject == "unit":
            unit_id = int(subject_id)
        elif subject == "unit_co":
            unit_id, role = int(subject_id), Role.CO
        else:
            target = Area.objects.filter(pk=subject_id).first()
            if target is None:
                raise Http404
            if area_path and not target.path.startswith(area_path):
                raise Http404
            area_path = target.path
    common = {"start": start, "end": end, "scope": scope, "area_path": area_path}
    visible = Case.objects.visible_to(user).select_related("lead_unit", "category", "grid")
    if subject == "unit" and unit_id is not None:
        # A unit's figure counts its lead cases and, at their weight, its co-handled ones.
        lead = rollups.case_ids(measures, unit_id=unit_id, role=Role.LEAD, **common)
        co = rollups.case_ids(measures, unit_id=unit_id, role=Role.CO, **common)
        return visible.filter(Q(pk__in=lead) | Q(pk__in=co))
    ids = rollups.case_ids(measures, unit_id=unit_id, role=role, **common)
    return visible.filter(pk__in=ids)


def card_of(scorecard: Scorecard) -> dict:
    """A published scorecard in the shape of `scorecards.compute`'s result."""
    summary = scorecard.summary or {}
    per = Period(scorecard.period_kind, scorecard.period_start, scorecard.period_end)
    return {
        "subject": scorecard.subject,
        "components": [c["metric"] for c in scorecard.definition["components"]],
        "period": per.as_dict(),
        "previous_period": summary.get("previous_period"),
        "rows": scorecard.rows,
        "red": summary.get("red", []),
        "black": summary.get("black", []),
        "overall": summary.get("overall", {}),
    }
