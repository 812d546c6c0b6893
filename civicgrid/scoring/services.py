"""Publishing a scorecard (通报): the figures are computed once and stored with the preset
version and its rules, so a changed rule never rewrites a published scorecard."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from civicgrid.areas.models import Area
from civicgrid.core import audit
from civicgrid.core.errors import PermissionDeniedError, ServiceError
from civicgrid.core.models import AuditEntry
from civicgrid.core.scoping import scope_of
from civicgrid.scoring import scorecards
from civicgrid.scoring.models import Scorecard, ScorecardPreset, Subject
from civicgrid.scoring.scorecards import Period

PUBLISH = "cases.supervise"


def default_title(per: Period, subject: str, area: Area | None) -> str:
    where = area.name if area else _("all areas")
    return _("%(period)s scorecard of %(subject)s, %(area)s") % {
        "period": per.label,
        "subject": Subject(subject).label,
        "area": where,
    }


@transaction.atomic
def publish_scorecard(
    *,
    actor,
    preset: ScorecardPreset,
    per: Period,
    subject: str,
    area: Area | None = None,
    title: str = "",
) -> Scorecard:
    """Compute and store the scorecard of `subject` in `area` (every area when None: only for
    a caller who sees everything) for the period, under `preset`. Audited."""
    if subject not in Subject.values:
        raise ServiceError(_("Choose what the scorecard ranks."), "subject")
    scope = scope_of(actor) if actor is not None else None
    if scope is not None and not scope.everything:
        if not scope.can(PUBLISH):
            raise PermissionDeniedError(_("Your role may not publish scorecards."))
        if area is None:
            raise ServiceError(_("Choose the area the scorecard covers."), "area")
        if not scope.covers_path(area.path, PUBLISH):
            raise PermissionDeniedError(_("%s is outside your area.") % area.name, "area")
    title = (title or "").strip()[:200] or default_title(per, subject, area)
    # Published figures cover everything in the area, not only what the publisher's own roles
    # see: readers are limited by the area instead (Scorecard.objects.visible_to).
    result = scorecards.compute(
        preset.definition, per, subject, area_path=area.path if area else None
    )
    card = Scorecard.objects.create(
        title=title,
        preset=preset,
        preset_code=preset.code,
        preset_version=preset.version,
        definition=preset.definition,
        subject=subject,
        period_kind=per.kind,
        period_start=per.start,
        period_end=per.end,
        scope_path=area.path if area else "",
        scope_name=area.name if area else "",
        rows=result["rows"],
        summary={
            "red": result["red"],
            "black": result["black"],
            "overall": result["overall"],
            "previous_period": result["previous_period"],
        },
        published_by=actor,
    )
    audit.record(
        actor,
        AuditEntry.Action.CREATE,
        card,
        area_path=card.scope_path,
        fields={
            "preset": f"{preset.code} v{preset.version}",
            "subject": subject,
            "period": [per.start.isoformat(), per.end.isoformat()],
            "rows": len(result["rows"]),
        },
    )
    return card
