"""Whistles (吹哨报到): a street or community summons departments to a case; each reports in
within the limit; the whistle stays open until the case is done."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import transaction
from django.http import Http404
from django.utils.translation import gettext as _

from civicgrid.accounts.choices import Role
from civicgrid.accounts.models import Unit, User
from civicgrid.areas.models import Area
from civicgrid.cases import workflow
from civicgrid.cases.choices import (
    Action,
    SummonsStatus,
)
from civicgrid.cases.models import (
    Case,
    CaseEvent,
    Summons,
    Whistle,
)
from civicgrid.cases.services.steps import (
    _begin,
    _check_capability,
    _check_unit,
    _check_visible,
    _finish,
    _in_unit,
    _require,
    _sync,
)
from civicgrid.core import audit, clock
from civicgrid.core.errors import PermissionDeniedError, ServiceError
from civicgrid.core.models import AuditEntry
from civicgrid.core.scoping import scope_of

# --- whistles (吹哨报到) -----------------------------------------------------------------


def _unit_users(units: Iterable[Unit]):
    return User.objects.filter(
        is_active=True,
        role_assignments__role=Role.DEPARTMENT_HANDLER,
        role_assignments__unit__in=list(units),
    ).distinct()


@transaction.atomic
def blow_whistle(
    *,
    actor,
    area: Area,
    units: Iterable[Unit],
    reason: str,
    case: Case | None = None,
    site: str = "",
    limit_minutes: int = 30,
) -> Whistle:
    """吹哨: summon departments to a site (and a case); each must report in within the limit."""
    from civicgrid.cases import notifications

    units = list({u.pk: u for u in units}.values())
    reason = _require(reason, "reason", _("Say why the departments are summoned."))
    if not units:
        raise ServiceError(_("Summon at least one unit."), "units")
    for unit in units:
        _check_unit(unit, "units")
    if limit_minutes is None or int(limit_minutes) < 1:
        raise ServiceError(_("The report-in limit must be at least one minute."), "limit_minutes")
    if actor is not None:
        _check_capability(actor, "cases.whistle")
        if not scope_of(actor).covers_path(area.path, "cases.whistle"):
            raise PermissionDeniedError(_("%s is outside your area.") % area.name, "area")
    now = clock.now()
    step = None
    if case is not None:
        step = _begin(case, Action.WHISTLE, actor=actor)
    whistle = Whistle.objects.create(
        case=step.case if step else None,
        area=area,
        site=site.strip()[:255],
        reason=reason,
        blown_by=actor,
        blown_at=now,
        limit_minutes=int(limit_minutes),
    )
    due = now + dt.timedelta(minutes=int(limit_minutes))
    Summons.objects.bulk_create([Summons(whistle=whistle, unit=unit, due_at=due) for unit in units])
    audit.record(
        actor,
        AuditEntry.Action.CREATE,
        whistle,
        fields={"units": [u.pk for u in units], "case": case.pk if case else None},
        reason=reason,
    )
    if step is not None:
        _finish(
            step,
            reason=reason,
            data={"whistle": whistle.pk, "units": [u.pk for u in units], "site": whistle.site},
            deadlines=False,
        )
        _sync(case, step.case)
    notifications.notify(
        list(_unit_users(units)),
        _("Summoned to %(area)s: report in within %(minutes)d minutes")
        % {"area": area.name, "minutes": int(limit_minutes)},
        "\n".join(filter(None, [whistle.site, reason])),
        case=whistle.case,
    )
    return whistle


@transaction.atomic
def report_in(summons: Summons, *, actor) -> Summons:
    """报到: a member of the summoned unit reports in; after the limit it counts as late."""
    if actor is not None and not _in_unit(actor, summons.unit_id):
        if Whistle.objects.visible_to(actor).filter(pk=summons.whistle_id).exists():
            raise PermissionDeniedError(_("Only the summoned unit may report in."))
        raise Http404
    locked = (
        Summons.objects.select_for_update(of=("self",))
        .select_related("whistle__case", "whistle__area")
        .get(pk=summons.pk)
    )
    whistle = locked.whistle
    if locked.reported_at is not None:
        raise ServiceError(_("Your unit has already reported in."))
    if whistle.closed_at is not None:
        raise ServiceError(_("This whistle is closed."))
    now = clock.now()
    status = SummonsStatus.REPORTED if now <= locked.due_at else SummonsStatus.LATE
    # Compare-and-swap against a concurrent report-in by a colleague of the same unit.
    rows = Summons.objects.filter(pk=locked.pk, reported_at__isnull=True).update(
        reported_at=now, reported_by=actor, status=status
    )
    if rows != 1:
        raise ServiceError(_("Your unit has already reported in."))
    audit.record(
        actor,
        AuditEntry.Action.UPDATE,
        locked,
        area_path=whistle.area.path,
        fields={"status": [locked.status, status]},
    )
    if whistle.case_id is not None:
        from civicgrid.cases import notifications

        # Reporting in is not a transition: the case's version stays, so several units can
        # report in at once without conflicting with each other or with the lead unit.
        event = CaseEvent.objects.create(
            case=whistle.case,
            at=now,
            actor=actor,
            action=Action.REPORT_IN,
            from_state=whistle.case.state,
            to_state=whistle.case.state,
            unit_id=locked.unit_id,
            data={"whistle": whistle.pk, "status": status},
        )
        notifications.notify_case(whistle.case, event)
    summons.reported_at, summons.reported_by, summons.status = now, actor, status
    return summons


@transaction.atomic
def close_whistle(whistle: Whistle, *, actor) -> Whistle:
    """End a whistle once its case is resolved or closed (or it had no case)."""
    _check_visible(Whistle.objects, whistle, actor)
    _check_capability(actor, "cases.whistle")
    locked = Whistle.objects.select_for_update().get(pk=whistle.pk)
    if locked.closed_at is not None:
        raise ServiceError(_("This whistle is already closed."))
    if locked.case_id is not None and workflow.is_open(
        Case.objects.values_list("state", flat=True).get(pk=locked.case_id)
    ):
        raise ServiceError(_("The whistle's case must be resolved before the whistle closes."))
    now = clock.now()
    Whistle.objects.filter(pk=locked.pk).update(closed_at=now)
    audit.record(actor, AuditEntry.Action.UPDATE, locked, fields={"closed_at": now.isoformat()})
    whistle.closed_at = now
    return whistle
