"""The mechanics every transition shares (`_begin` / `_finish`): visibility, capability,
row lock, version and workflow checks, the compare-and-swap save, the event, the audit row and
the outbox. See the package docstring."""

from __future__ import annotations

import datetime as dt

from django.http import Http404
from django.utils.translation import gettext as _

from civicgrid.accounts.models import Unit
from civicgrid.cases import workflow
from civicgrid.cases.choices import (
    HandlerRole,
)
from civicgrid.cases.models import (
    Case,
    CaseEvent,
    CaseHandler,
)
from civicgrid.core import audit, clock
from civicgrid.core.errors import PermissionDeniedError, ServiceError
from civicgrid.core.models import AuditEntry
from civicgrid.core.scoping import scope_of

# An invalid-case ruling removes the case from the scorecards, so it must say why.
MIN_INVALID_REASON = 5

# Fields a transition may change; `version` is written by the compare-and-swap itself.
_TRACKED = tuple(
    f.attname for f in Case._meta.concrete_fields if f.attname not in {"id", "version"}
)


class ConflictError(ServiceError):
    """Someone else changed the case since the caller read it; reload and try again."""

    def __init__(self, message: str | None = None):
        super().__init__(message or _("The case was changed by someone else; reload it."))


# --- the mechanics shared by every transition ---------------------------------------------


class _Step:
    """A locked case on its way from one state to the next."""

    def __init__(self, case: Case, action: str, actor, now: dt.datetime, target: str):
        self.case = case
        self.action = action
        self.actor = actor
        self.now = now
        self.from_state = case.state
        self.to_state = target
        self.before = {name: getattr(case, name) for name in _TRACKED}


def _require(value: str, field: str, message: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ServiceError(message, field)
    return value


def _check_visible(model_qs, obj, actor) -> None:
    if actor is not None and not model_qs.visible_to(actor).filter(pk=obj.pk).exists():
        raise Http404


def _check_capability(actor, capability: str) -> None:
    if actor is not None and not scope_of(actor).can(capability):
        raise PermissionDeniedError(_("Your role may not do this (needs %s).") % capability)


def _in_unit(actor, unit_id: int | None) -> bool:
    scope = scope_of(actor)
    return scope.everything or (unit_id is not None and unit_id in scope.unit_ids)


def _check_lead_unit(actor, case: Case) -> None:
    if actor is not None and not _in_unit(actor, case.lead_unit_id):
        raise PermissionDeniedError(_("Only the lead unit of the case may do this."))


def _lock(case: Case, expected_version: int | None = None) -> Case:
    locked = Case.objects.select_for_update().get(pk=case.pk)
    if expected_version is not None and locked.version != expected_version:
        raise ConflictError()
    return locked


def _begin(
    case: Case,
    action: str,
    *,
    actor,
    expected_version: int | None = None,
    lead_unit_only: bool = False,
    reporter_may: bool = False,
) -> _Step:
    """Visibility, capability, lock, version and transition checks; nothing written yet."""
    _check_visible(Case.objects, case, actor)
    capability = workflow.transition(action).capability
    if actor is not None and not (reporter_may and case.reporter_id == actor.pk):
        _check_capability(actor, capability)
        # The capability must hold where the case is, not just somewhere in the user's roles.
        if not Case.objects.visible_to(actor, capability).filter(pk=case.pk).exists():
            raise PermissionDeniedError(
                _("Your role may not do this here (needs %s).") % capability
            )
    locked = _lock(case, expected_version)
    target = workflow.check(action, locked.state)
    if lead_unit_only:
        _check_lead_unit(actor, locked)
    return _Step(locked, action, actor, clock.now(), target)


def _json(value):
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def _save(step: _Step) -> None:
    """Compare-and-swap the changed fields, bumping the version."""
    case = step.case
    changed = {
        name: getattr(case, name) for name in _TRACKED if getattr(case, name) != step.before[name]
    }
    old = case.version
    rows = Case.objects.filter(pk=case.pk, version=old).update(version=old + 1, **changed)
    if rows != 1:
        raise ConflictError()
    case.version = old + 1


def _finish(
    step: _Step,
    *,
    reason: str = "",
    unit_id: int | None = None,
    data: dict | None = None,
    deadlines: bool = True,
) -> CaseEvent:
    """Save the step, write its event and audit row, update the deadlines, notify."""
    from civicgrid.cases import notifications

    event, entry = _close(step, reason=reason, unit_id=unit_id, data=data, deadlines=deadlines)
    event.save(force_insert=True)
    entry.save(force_insert=True)
    notifications.notify_case(step.case, event)
    return event


def _close(
    step: _Step,
    *,
    reason: str = "",
    unit_id: int | None = None,
    data: dict | None = None,
    deadlines: bool = True,
) -> tuple[CaseEvent, AuditEntry]:
    """`_finish` up to the event and the audit row, which are returned unsaved: the state,
    the deadlines and the compare-and-swap save of the case."""
    from civicgrid.cases import sla

    case = step.case
    case.state = step.to_state
    if deadlines:
        sla.apply_deadlines(case, now=step.now)
    _save(step)
    return _records(step, reason=reason, unit_id=unit_id, data=data)


def _records(
    step: _Step, *, reason: str = "", unit_id: int | None = None, data: dict | None = None
) -> tuple[CaseEvent, AuditEntry]:
    """The step's event and audit row (the fields it changed), unsaved."""
    case = step.case
    before = step.before
    changes = {
        name: [_json(before[name]), _json(getattr(case, name))]
        for name in _TRACKED
        if getattr(case, name) != before[name]
    }
    event = CaseEvent(
        case=case,
        at=step.now,
        actor=step.actor,
        action=step.action,
        from_state=step.from_state,
        to_state=step.to_state,
        unit_id=unit_id if unit_id is not None else case.lead_unit_id,
        reason=reason,
        data=data or {},
    )
    entry = audit.entry(
        step.actor,
        AuditEntry.Action.UPDATE,
        case,
        fields={"action": step.action, **changes},
        reason=reason,
    )
    return event, entry


def _sync(original: Case, locked: Case) -> Case:
    """Copy the saved values onto the caller's instance, so it is not left stale."""
    if original is not locked:
        for name in (*_TRACKED, "version"):
            setattr(original, name, getattr(locked, name))
    return original


def _set_lead(case: Case, unit: Unit, now: dt.datetime) -> None:
    """Make `unit` the case's lead handler; the previous lead row becomes inactive."""
    current = case.handlers.filter(active=True)
    current.filter(role=HandlerRole.LEAD).exclude(unit=unit).update(active=False)
    existing = current.filter(unit=unit).first()
    if existing is None:
        CaseHandler.objects.create(case=case, unit=unit, role=HandlerRole.LEAD, assigned_at=now)
    elif existing.role != HandlerRole.LEAD:
        existing.role = HandlerRole.LEAD
        existing.assigned_at = now
        existing.save(update_fields=["role", "assigned_at"])
    case.lead_unit = unit


def _add_co(case: Case, unit: Unit, now: dt.datetime) -> bool:
    """Add `unit` as a co-handler; False when it already handles the case."""
    if case.handlers.filter(active=True, unit=unit).exists():
        return False
    CaseHandler.objects.create(case=case, unit=unit, role=HandlerRole.CO, assigned_at=now)
    return True


def _check_unit(unit: Unit | None, field: str = "unit") -> Unit:
    if unit is None:
        raise ServiceError(_("Choose a handling unit."), field)
    if not unit.is_active:
        raise ServiceError(_("%s is no longer active.") % unit.name, field)
    return unit
