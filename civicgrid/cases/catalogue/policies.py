"""Time-limit policy activation and calendar overrides (local closures, make-up working days)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils.translation import gettext as _

from civicgrid.cases.catalogue.common import Action, _require
from civicgrid.cases.models import (
    CalendarDay,
    SlaPolicy,
)
from civicgrid.core import audit
from civicgrid.core.errors import ServiceError

# --- time-limit policies and the calendar ----------------------------------------------------


@transaction.atomic
def activate_policy(policy: SlaPolicy, *, actor) -> SlaPolicy:
    """Make `policy` the one new cases get. Cases keep the policy they were given."""
    _require(actor)
    policy = SlaPolicy.objects.select_for_update().get(pk=policy.pk)
    if policy.is_active:
        return policy
    if not policy.rules.exists():
        raise ServiceError(_("A policy without rules cannot be activated."), "policy")
    previous = SlaPolicy.objects.filter(is_active=True).first()
    SlaPolicy.objects.filter(is_active=True).update(is_active=False)
    policy.is_active = True
    policy.save(update_fields=["is_active"])
    audit.record(
        actor,
        Action.UPDATE,
        policy,
        fields={"is_active": True, "previous": previous.code if previous else None},
    )
    return policy


@transaction.atomic
def set_calendar_day(*, actor, day: dt.date, is_workday: bool, note: str = "") -> CalendarDay:
    """Override the official calendar for one day (a local closure, or an extra working day)."""
    _require(actor)
    note = (note or "").strip()
    if len(note) > 200:
        raise ServiceError(_("The note is at most 200 characters."), "note")
    entry, created = CalendarDay.objects.select_for_update().update_or_create(
        day=day, defaults={"is_workday": is_workday, "note": note}
    )
    audit.record(
        actor,
        Action.CREATE if created else Action.UPDATE,
        entry,
        fields={"day": day.isoformat(), "is_workday": is_workday, "note": note},
    )
    return entry


@transaction.atomic
def remove_calendar_day(entry: CalendarDay, *, actor) -> None:
    _require(actor)
    audit.record(
        actor,
        Action.DELETE,
        entry,
        fields={"day": entry.day.isoformat(), "is_workday": entry.is_workday},
    )
    entry.delete()
