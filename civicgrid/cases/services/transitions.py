"""The case's transitions (接诉即办): dispatch, accept, return and ruling, extensions, suspension,
supervision, co-handling, resolution, callbacks, reopening, closing, merging, invalid cases and
comments. Each is one transaction built on `steps`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from civicgrid.accounts.models import Unit
from civicgrid.cases import workflow
from civicgrid.cases.choices import (
    Action,
    CallbackMethod,
    ExtensionStatus,
    HandlerRole,
    ReturnReason,
    Satisfaction,
    Solved,
)
from civicgrid.cases.models import (
    Callback,
    Case,
    CaseEvent,
    CaseHandler,
    Extension,
    Supervision,
)
from civicgrid.cases.services.steps import (
    MIN_INVALID_REASON,
    _add_co,
    _begin,
    _check_unit,
    _check_visible,
    _finish,
    _json,
    _records,
    _require,
    _set_lead,
    _Step,
    _sync,
)
from civicgrid.core import clock
from civicgrid.core.errors import PermissionDeniedError, ServiceError
from civicgrid.core.models import AuditEntry
from civicgrid.core.scoping import scope_of

# --- dispatch, reassign, accept, return, ruling ------------------------------------------


@transaction.atomic
def dispatch_case(
    case: Case,
    unit: Unit,
    *,
    actor,
    co_units: Iterable[Unit] = (),
    note: str = "",
    expected_version: int | None = None,
) -> Case:
    """派单: give a received case to its lead unit (and co-handling units)."""
    _check_unit(unit)
    co_units = [_check_unit(u, "co_units") for u in co_units if u.pk != unit.pk]
    step = _begin(case, Action.DISPATCH, actor=actor, expected_version=expected_version)
    locked = step.case
    _set_lead(locked, unit, step.now)
    added = [u.pk for u in co_units if _add_co(locked, u, step.now)]
    locked.dispatched_at = step.now
    _finish(step, reason=note.strip(), unit_id=unit.pk, data={"co_units": added})
    return _sync(case, locked)


class NewDispatch:
    """The catalogue's dispatch of a case intake has not written yet (see `dispatch_new_case`)."""

    def __init__(self, step: _Step, unit: Unit, note: str):
        self.step = step
        self.unit = unit
        self.note = note

    def rows(self) -> tuple[CaseHandler, CaseEvent, AuditEntry]:
        """The lead handler, the DISPATCH event and its audit row, unsaved; call once the
        case is saved. The audit row lists what the dispatch changed, from the received case
        to the dispatched one, as `dispatch_case` records it."""
        case = self.step.case
        handler = CaseHandler(
            case=case, unit=self.unit, role=HandlerRole.LEAD, assigned_at=self.step.now
        )
        event, entry = _records(
            self.step, reason=self.note, unit_id=self.unit.pk, data={"co_units": []}
        )
        return handler, event, entry


def dispatch_new_case(case: Case, unit: Unit, *, note: str) -> NewDispatch:
    """The catalogue's automatic dispatch of a case intake is about to write (system actor).

    Intake only, on the unsaved, received instance: the dispatch goes into the case's INSERT
    (state, lead unit, dispatch time, deadlines) instead of an UPDATE right after it. Nobody
    else can see a row before it exists, so there is nothing to lock or compare-and-swap;
    the workflow check and the deadlines are `dispatch_case`'s, and the version is 1, as if
    the case had been saved received and then dispatched. Intake writes the rows of
    `NewDispatch.rows()` (handler, DISPATCH event, audit row) with the RECEIVE ones, in its
    transaction: a failure keeps nothing.
    """
    from civicgrid.cases import sla

    _check_unit(unit)
    target = workflow.check(Action.DISPATCH, case.state)
    step = _Step(case, Action.DISPATCH, None, clock.now(), target)
    case.lead_unit = unit
    case.dispatched_at = step.now
    case.state = target
    sla.apply_deadlines(case, now=step.now)
    case.version += 1
    return NewDispatch(step, unit, note.strip())


@transaction.atomic
def reassign_case(case: Case, unit: Unit, *, actor, note: str) -> Case:
    """转派: move a dispatched case to another lead unit (the old one stops handling it)."""
    _check_unit(unit)
    note = _require(note, "note", _("Say why the case goes to another unit."))
    step = _begin(case, Action.REASSIGN, actor=actor)
    locked = step.case
    if locked.lead_unit_id == unit.pk:
        raise ServiceError(_("The case is already with %s.") % unit.name, "unit")
    previous = locked.lead_unit_id
    _set_lead(locked, unit, step.now)
    locked.dispatched_at = step.now
    # The new unit has not returned the case: a ruling bound only the unit it was made for.
    locked.returns_locked = False
    _finish(step, reason=note, unit_id=unit.pk, data={"from_unit": previous})
    return _sync(case, locked)


@transaction.atomic
def accept_case(case: Case, *, actor, expected_version: int | None = None) -> Case:
    """签收: the lead unit acknowledges the case (the response clock stops)."""
    step = _begin(
        case, Action.ACCEPT, actor=actor, expected_version=expected_version, lead_unit_only=True
    )
    step.case.accepted_at = step.now
    _finish(step)
    return _sync(case, step.case)


@transaction.atomic
def return_case(case: Case, *, actor, reason_code: str, reason: str) -> Case:
    """退单: the lead unit says the case is not theirs; a dispatcher rules on it."""
    if reason_code not in ReturnReason.values:
        raise ServiceError(_("Choose a reason for the return."), "reason_code")
    reason = _require(reason, "reason", _("Explain why the case is not yours."))
    step = _begin(case, Action.RETURN, actor=actor, lead_unit_only=True)
    locked = step.case
    if locked.returns_locked:
        raise ServiceError(
            _("A dispatcher has ruled that your unit handles this case; it cannot be returned."),
            "reason_code",
        )
    locked.return_count += 1
    _finish(step, reason=reason, data={"reason_code": reason_code})
    return _sync(case, locked)


@transaction.atomic
def rule_on_return(case: Case, unit: Unit, *, actor, note: str) -> Case:
    """审定: the dispatcher decides who handles a returned case; that unit may not return it."""
    _check_unit(unit)
    note = _require(note, "note", _("Give the reason for the ruling."))
    step = _begin(case, Action.RULE, actor=actor)
    locked = step.case
    previous = locked.lead_unit_id
    _set_lead(locked, unit, step.now)
    locked.returns_locked = True
    locked.dispatched_at = step.now
    locked.accepted_at = None  # the unit must accept it again
    _finish(step, reason=note, unit_id=unit.pk, data={"from_unit": previous})
    return _sync(case, locked)


# --- extensions, suspension, supervision --------------------------------------------------


@transaction.atomic
def request_extension(
    case: Case, *, actor, reason: str, requested_due_at: dt.datetime
) -> Extension:
    """延期申请: the lead unit asks for a later resolve-by time, before the deadline."""
    reason = _require(reason, "reason", _("Give the reason for the extension."))
    if requested_due_at is None:
        raise ServiceError(_("Give the new resolve-by time."), "requested_due_at")
    step = _begin(case, Action.REQUEST_EXTENSION, actor=actor, lead_unit_only=True)
    locked = step.case
    if requested_due_at <= step.now or (
        locked.resolve_due_at is not None and requested_due_at <= locked.resolve_due_at
    ):
        raise ServiceError(
            _("The new resolve-by time must be later than the current one."), "requested_due_at"
        )
    if locked.resolve_due_at is not None and step.now >= locked.resolve_due_at:
        raise ServiceError(_("An extension must be requested before the deadline."))
    if locked.extensions.filter(status=ExtensionStatus.PENDING).exists():
        raise ServiceError(_("An extension request is already waiting for a decision."))
    extension = Extension.objects.create(
        case=locked,
        requested_by=actor,
        requested_at=step.now,
        reason=reason,
        requested_due_at=requested_due_at,
    )
    _finish(
        step,
        reason=reason,
        data={"extension": extension.pk, "requested_due_at": requested_due_at.isoformat()},
        deadlines=False,
    )
    _sync(case, locked)
    return extension


@transaction.atomic
def decide_extension(extension: Extension, *, actor, approve: bool, note: str = "") -> Extension:
    """Approve (the resolve-by time moves) or refuse a pending extension request."""
    case = extension.case
    action = Action.APPROVE_EXTENSION if approve else Action.REFUSE_EXTENSION
    step = _begin(case, action, actor=actor)
    locked_ext = Extension.objects.select_for_update().get(pk=extension.pk)
    if locked_ext.status != ExtensionStatus.PENDING:
        raise ServiceError(_("This extension request has already been decided."))
    locked_ext.status = ExtensionStatus.APPROVED if approve else ExtensionStatus.REFUSED
    locked_ext.decided_by = actor
    locked_ext.decided_at = step.now
    locked_ext.decision_note = note.strip()[:500]
    locked_ext.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    data = {"extension": locked_ext.pk}
    if approve:
        data["from"] = _json(step.case.resolve_due_at)
        step.case.resolve_due_at = locked_ext.requested_due_at
        data["to"] = _json(locked_ext.requested_due_at)
    _finish(step, reason=locked_ext.decision_note, data=data, deadlines=approve)
    _sync(case, step.case)
    for name in ("status", "decided_by_id", "decided_at", "decision_note"):
        setattr(extension, name, getattr(locked_ext, name))
    return extension


@transaction.atomic
def suspend_case(case: Case, *, actor, reason: str) -> Case:
    """挂起: stop the clocks (waiting for a third party, a court, the weather)."""
    from civicgrid.cases import sla

    reason = _require(reason, "reason", _("Give the reason for suspending the case."))
    step = _begin(case, Action.SUSPEND, actor=actor)
    sla.pause(step.case, now=step.now)
    _finish(step, reason=reason)
    return _sync(case, step.case)


@transaction.atomic
def resume_case(case: Case, *, actor) -> Case:
    """Restart the clocks of a suspended case; due times move by the time it was suspended,
    except a resolve-by time set during the suspension (see `sla.resume`)."""
    from civicgrid.cases import sla

    step = _begin(case, Action.RESUME, actor=actor)
    paused_at = step.case.paused_at
    # Approving an extension and supervising with a new deadline record the new resolve-by
    # time as `data["to"]` on their event.
    set_in_pause = (
        paused_at is not None
        and CaseEvent.objects.filter(
            case=step.case,
            at__gte=paused_at,
            action__in=[Action.APPROVE_EXTENSION, Action.SUPERVISE],
            data__has_key="to",
        ).exists()
    )
    sla.resume(step.case, now=step.now, resolve_due_set_in_pause=set_in_pause)
    _finish(step)
    return _sync(case, step.case)


@transaction.atomic
def supervise_case(
    case: Case, *, actor, reason: str, new_due_at: dt.datetime | None = None
) -> Supervision:
    """督办: a superior presses an open case, optionally with a new resolve-by time."""
    reason = _require(reason, "reason", _("Give the reason for supervising the case."))
    step = _begin(case, Action.SUPERVISE, actor=actor)
    locked = step.case
    if new_due_at is not None and new_due_at <= step.now:
        raise ServiceError(_("The new resolve-by time must be in the future."), "new_due_at")
    supervision = Supervision.objects.create(
        case=locked, by=actor, at=step.now, reason=reason, new_due_at=new_due_at
    )
    locked.supervised = True
    data = {"supervision": supervision.pk}
    if new_due_at is not None:
        data["from"] = _json(locked.resolve_due_at)
        data["to"] = _json(new_due_at)
        locked.resolve_due_at = new_due_at
    _finish(step, reason=reason, data=data, deadlines=new_due_at is not None)
    _sync(case, locked)
    return supervision


# --- co-handlers, resolving, callbacks, reopening, closing -------------------------------


@transaction.atomic
def add_co_handler(case: Case, unit: Unit, *, actor) -> Case:
    """协办: add a unit that helps the lead unit (it replies; the lead unit resolves)."""
    _check_unit(unit)
    step = _begin(case, Action.ADD_CO_HANDLER, actor=actor)
    if not _add_co(step.case, unit, step.now):
        raise ServiceError(_("%s already handles this case.") % unit.name, "unit")
    _finish(step, unit_id=unit.pk, deadlines=False)
    return _sync(case, step.case)


@transaction.atomic
def co_handler_reply(case: Case, *, actor, reply: str) -> CaseHandler:
    """A co-handling unit reports its part to the lead unit."""
    reply = _require(reply, "reply", _("Write the reply."))
    step = _begin(case, Action.CO_HANDLER_REPLY, actor=actor)
    handlers = step.case.handlers.filter(active=True, role=HandlerRole.CO)
    if actor is not None and not scope_of(actor).everything:
        handlers = handlers.filter(unit__in=scope_of(actor).unit_ids)
    handler = handlers.order_by("pk").first()
    if handler is None:
        raise PermissionDeniedError(_("Only a co-handling unit of the case may do this."))
    handler.reply = reply
    handler.replied_at = step.now
    handler.save(update_fields=["reply", "replied_at"])
    _finish(step, reason=reply, unit_id=handler.unit_id, deadlines=False)
    _sync(case, step.case)
    return handler


@transaction.atomic
def resolve_case(case: Case, *, actor, reply: str) -> Case:
    """办结: the lead unit finishes the case with its reply to the citizen."""
    reply = _require(reply, "reply", _("Write the reply to the citizen."))
    step = _begin(case, Action.RESOLVE, actor=actor, lead_unit_only=True)
    step.case.reply = reply
    step.case.resolved_at = step.now
    _finish(step, reason=reply)
    return _sync(case, step.case)


def max_reopens() -> int:
    return settings.CASE_MAX_REOPENS


def _reopen(step: _Step, *, reason: str, data: dict) -> CaseEvent:
    """重办 mechanics: back to the same lead unit, with fresh deadlines from now."""
    locked = step.case
    data = {**data, "previous_reply": locked.reply}
    locked.reopen_count += 1
    locked.dispatched_at = step.now
    locked.accepted_at = None
    locked.resolved_at = None
    locked.closed_at = None
    # sla.apply_deadlines sees reopen_count go up and restarts both clocks from now.
    return _finish(step, reason=reason, data=data)


@transaction.atomic
def record_callback(
    case: Case,
    *,
    actor,
    method: str,
    contacted: bool,
    solved: str,
    satisfaction: str,
    note: str = "",
) -> Callback:
    """回访: record the citizen's answers. An unsolved or dissatisfied answer reopens the case
    to the same unit (重办) until it has been reopened `CIVICGRID_CASE_MAX_REOPENS` times."""
    errors = {}
    if method not in CallbackMethod.values:
        errors["method"] = _("Choose how the citizen was asked.")
    if solved not in Solved.values:
        errors["solved"] = _("Say whether the problem is solved.")
    if satisfaction not in Satisfaction.values:
        errors["satisfaction"] = _("Choose the citizen's satisfaction.")
    if errors:
        first = next(iter(errors))
        raise ServiceError(errors[first], first, errors)
    step = _begin(case, Action.CALLBACK, actor=actor, reporter_may=True)
    locked = step.case
    if (
        actor is not None
        and locked.reporter_id == actor.pk
        and not scope_of(actor).can("cases.callback")
    ):
        method = CallbackMethod.WEB  # the resident answered on the web themselves
    callback = Callback.objects.create(
        case=locked,
        at=step.now,
        by=actor,
        method=method,
        contacted=bool(contacted),
        solved=solved,
        satisfaction=satisfaction,
        note=note.strip(),
    )
    answers = {
        "callback": callback.pk,
        "method": method,
        "contacted": bool(contacted),
        "solved": solved,
        "satisfaction": satisfaction,
    }
    _finish(step, reason=callback.note, data=answers)
    unhappy = solved == Solved.NOT_SOLVED or satisfaction == Satisfaction.DISSATISFIED
    if unhappy and locked.reopen_count < max_reopens():
        target = workflow.check(Action.REOPEN, locked.state)
        reopen = _Step(locked, Action.REOPEN, actor, step.now, target)
        _reopen(
            reopen,
            reason=_("The citizen's callback: %(solved)s, %(satisfaction)s.")
            % {
                "solved": Solved(solved).label,
                "satisfaction": Satisfaction(satisfaction).label,
            },
            data={"automatic": True, "callback": callback.pk},
        )
    _sync(case, locked)
    return callback


@transaction.atomic
def reopen_case(case: Case, *, actor, reason: str) -> Case:
    """重办 by a dispatcher's decision (not limited by CIVICGRID_CASE_MAX_REOPENS)."""
    reason = _require(reason, "reason", _("Give the reason for reopening the case."))
    step = _begin(case, Action.REOPEN, actor=actor)
    _reopen(step, reason=reason, data={"automatic": False})
    return _sync(case, step.case)


@transaction.atomic
def close_case(case: Case, *, actor) -> Case:
    """办结归档: close a resolved (and possibly called-back) case."""
    step = _begin(case, Action.CLOSE, actor=actor)
    step.case.closed_at = step.now
    _finish(step)
    return _sync(case, step.case)


# --- merge, invalid, comments ------------------------------------------------------------


@transaction.atomic
def merge_case(case: Case, into: Case, *, actor, reason: str = "") -> Case:
    """合并: fold a duplicate into `into`. The duplicate's reporter is told of the merge and
    stays on the record: `into.merged_cases` lists every case folded in (cases merged into the
    duplicate earlier follow it), so every reporter can be reached from the target."""
    if case.pk == into.pk:
        raise ServiceError(_("A case cannot be merged into itself."), "into")
    _check_visible(Case.objects, into, actor)
    # Lock both rows in primary-key order: two merges of the same pair in opposite directions
    # would otherwise each hold one row and wait for the other (a deadlock).
    list(Case.objects.select_for_update().filter(pk__in=[case.pk, into.pk]).order_by("pk"))
    step = _begin(case, Action.MERGE, actor=actor)
    target = Case.objects.select_for_update().get(pk=into.pk)
    if workflow.is_terminal(target.state):
        raise ServiceError(_("Cases can only be merged into a case that is still live."), "into")
    duplicate = step.case
    duplicate.parent = target
    duplicate.closed_at = step.now
    # Cases already merged into the duplicate follow it, so the target lists every reporter.
    followers = list(Case.objects.filter(parent=duplicate).values_list("pk", "number"))
    Case.objects.filter(parent=duplicate).update(parent=target)
    _finish(step, reason=reason.strip(), data={"into": target.pk, "into_number": target.number})
    merged = [duplicate.number, *(number for _pk, number in followers)]
    target_step = _Step(target, Action.MERGE, actor, step.now, target.state)
    _finish(
        target_step,
        reason=reason.strip(),
        data={"merged": merged, "merged_ids": [duplicate.pk, *(pk for pk, _n in followers)]},
        deadlines=False,
    )
    _sync(into, target)
    return _sync(case, duplicate)


@transaction.atomic
def invalidate_case(case: Case, *, actor, reason: str) -> Case:
    """不合理诉求: close with a reviewed reason; scorecards leave the case out (核减)."""
    reason = (reason or "").strip()
    if len(reason) < MIN_INVALID_REASON:
        raise ServiceError(
            _("Give the reviewed reason (at least %d characters).") % MIN_INVALID_REASON, "reason"
        )
    step = _begin(case, Action.INVALIDATE, actor=actor)
    step.case.invalid_reason = reason[:500]
    step.case.closed_at = step.now
    _finish(step, reason=reason)
    return _sync(case, step.case)


@transaction.atomic
def comment_case(case: Case, *, actor, text: str) -> CaseEvent:
    """A note on the timeline (staff who see the case, or the reporter on their own case)."""
    text = _require(text, "text", _("Write the comment."))
    step = _begin(case, Action.COMMENT, actor=actor, reporter_may=True)
    event = _finish(step, reason=text, deadlines=False)
    _sync(case, step.case)
    return event
