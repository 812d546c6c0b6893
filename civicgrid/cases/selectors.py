"""Scoped reads of cases, the masked reporter, the public board and tracking without login.

Every staff read starts from `Case.objects.visible_to(user)`: a department sees its own cases
(lead or co-handler), area roles their subtree, a resident the cases they reported. The public
board and tracking read no scope but show no personal data.
"""

from __future__ import annotations

import datetime as dt
import hmac

from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from civicgrid.areas.models import Area
from civicgrid.cases import workflow
from civicgrid.cases.choices import (
    Action,
    DeadlineStatus,
    NotificationChannel,
    NotificationStatus,
    State,
)
from civicgrid.cases.models import Case, CaseEvent, Category, Notification
from civicgrid.core.errors import PermissionDeniedError
from civicgrid.core.masking import mask_name, mask_phone
from civicgrid.core.scoping import Scope, get_visible_or_404, scope_of
from civicgrid.registry.idnumbers import InvalidIdentifier, normalise_phone

# What the public board discloses (三务公开): cases the units have finished.
BOARD_STATES = workflow.AWAITING_CLOSE | {State.CLOSED}
DUE_FILTERS = {"near_due": DeadlineStatus.NEAR_DUE, "overdue": DeadlineStatus.OVERDUE}
# State filters that are not one state: the open cases (workflow.OPEN_STATES) and every state.
OPEN_CASES = "open"
ALL_STATES = "all"
# Compared against when no case has the number, so a wrong number costs the same as a wrong
# phone and the answer time tells nothing.
_DUMMY_PHONE = "00000000000"


def _category_q(category: Category | int) -> Q:
    """The category and everything under it (the tree has three levels)."""
    pk = getattr(category, "pk", category)
    return Q(category_id=pk) | Q(category__parent_id=pk) | Q(category__parent__parent_id=pk)


def case_queue(
    user,
    *,
    state: str | None = None,
    area: Area | None = None,
    unit=None,
    category: Category | int | None = None,
    channel: str | None = None,
    due: str | None = None,
    q: str | None = None,
    kind: str | None = None,
    received_from: dt.date | None = None,
    received_to: dt.date | None = None,
) -> QuerySet[Case]:
    """The cases `user` sees, narrowed by the filters, newest first.

    `state` is one state, `OPEN_CASES` (the states of workflow.OPEN_STATES) or `ALL_STATES`
    (the same as None: no state filter). `received_from` / `received_to` are local dates, both
    included (the days the rollups count a case on)."""
    # Lists never need the duplicate signature (about 1.2 KB a case).
    cases = (
        Case.objects.visible_to(user)
        .select_related("category", "lead_unit", "grid")
        .defer("text_signature")
    )
    if state == OPEN_CASES:
        cases = cases.open()
    elif state and state != ALL_STATES:
        cases = cases.filter(state=state)
    if area is not None:
        cases = cases.filter(area_path__startswith=area.path)
    if unit is not None:
        cases = cases.filter(Case.scope_unit_q([getattr(unit, "pk", unit)]))
    if category is not None:
        cases = cases.filter(_category_q(category))
    if channel:
        cases = cases.filter(channel=channel)
    if due:
        cases = cases.filter(deadline_status=DUE_FILTERS[due]).open()
    if kind:
        cases = cases.filter(kind=kind)
    if received_from:
        cases = cases.filter(received_at__gte=_local_midnight(received_from))
    if received_to:
        cases = cases.filter(received_at__lt=_local_midnight(received_to + dt.timedelta(days=1)))
    if q:
        text = q.strip()
        cases = cases.filter(
            Q(number=text)
            | Q(title__icontains=text)
            | Q(description__icontains=text)
            | Q(address__icontains=text)
        )
    return cases.order_by("-received_at", "-id")


def _local_midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time()))


def home_case_counts(user) -> dict:
    """The home page's case panel, from one aggregate query over the cases `user` sees:
    `open` (workflow.OPEN_STATES), `near_due` and `overdue` (open ones), `returned` (waiting
    for a dispatcher's ruling; None without cases.dispatch) and `awaiting_acceptance` (cases
    dispatched to the user's own units as lead; None without cases.handle or a unit)."""
    scope = scope_of(user)
    is_open = Q(state__in=workflow.OPEN_STATES)
    counts = {
        "open": Count("id", filter=is_open),
        "near_due": Count("id", filter=is_open & Q(deadline_status=DeadlineStatus.NEAR_DUE)),
        "overdue": Count("id", filter=is_open & Q(deadline_status=DeadlineStatus.OVERDUE)),
    }
    dispatches = scope.can("cases.dispatch")
    handles_units = scope.can("cases.handle") and bool(scope.unit_ids)
    if dispatches:
        counts["returned"] = Count("id", filter=Q(state=State.RETURNED))
    if handles_units:
        counts["awaiting_acceptance"] = Count("id", filter=_awaiting_acceptance(scope.unit_ids))
    result = Case.objects.visible_to(user).aggregate(**counts)
    result.setdefault("returned", None)
    result.setdefault("awaiting_acceptance", None)
    return result


def unit_inbox(user, *, awaiting_acceptance: bool = False) -> QuerySet[Case]:
    """Open cases of the user's own units (lead or co-handler), the nearest deadline first;
    with `awaiting_acceptance`, only those dispatched to one of them as lead and not yet
    accepted (what the home page counts under that name)."""
    caller = scope_of(user)
    if not caller.unit_ids:
        return Case.objects.none()
    cases = Case.objects.visible_to(user).open().filter(Case.scope_unit_q(caller.unit_ids))
    if awaiting_acceptance:
        cases = cases.filter(_awaiting_acceptance(caller.unit_ids))
    return (
        cases.select_related("category", "lead_unit", "grid")
        .defer("text_signature")
        .order_by("resolve_due_at", "received_at", "id")
    )


def _awaiting_acceptance(unit_ids) -> Q:
    return Q(state=State.DISPATCHED, lead_unit_id__in=unit_ids)


def case_detail(user, pk: int) -> Case:
    """One case the user sees; a hidden case is a 404 like a missing one."""
    return get_visible_or_404(
        Case.objects.select_related(
            "category", "category__parent", "lead_unit", "grid", "parent", "policy"
        ),
        user,
        pk=pk,
    )


def timeline(case: Case) -> QuerySet[CaseEvent]:
    """The case's events, oldest first."""
    return case.events.select_related("actor", "unit").order_by("at", "id")


# Who reads a case's outbox: the roles that dispatch or supervise it (and administrators).
OUTBOX_CAPABILITIES = ("cases.dispatch", "cases.supervise")


def may_see_notifications(user) -> bool:
    """True when the user's roles may read what was sent about a case."""
    scope = scope_of(user)
    return scope.everything or any(scope.can(c) for c in OUTBOX_CAPABILITIES)


def case_notifications(case: Case, user) -> list[dict]:
    """What was sent (or is waiting to be sent) about `case`, newest first, as rows a page or
    the API can show: the recipient's display name, the address with phones masked, the
    delivery status with attempts, the last error and the time of the next attempt.

    `case` must come from `case_detail(user, ...)` (a hidden case is already a 404); a role
    that neither dispatches nor supervises is refused with PermissionDeniedError.
    """
    if not may_see_notifications(user):
        raise PermissionDeniedError(_("Your roles do not allow reading the case's notifications."))
    rows = []
    for note in (
        Notification.objects.filter(case=case)
        .select_related("recipient")
        .order_by("-created_at", "-id")
    ):
        address = note.address
        if note.channel == NotificationChannel.SMS:
            address = mask_phone(address)
        rows.append(
            {
                "id": note.pk,
                "created_at": note.created_at,
                "channel": note.channel,
                "channel_label": str(NotificationChannel(note.channel).label),
                "recipient": str(note.recipient) if note.recipient_id else "",
                "address": address,
                "subject": note.subject,
                "status": note.status,
                "status_label": str(NotificationStatus(note.status).label),
                "sent_at": note.sent_at,
                "attempts": note.attempts,
                "error": note.error,
                "next_attempt_at": note.next_attempt_at,
                # Failed with no attempt left: nobody will send it any more.
                "given_up": note.status == NotificationStatus.FAILED
                and note.next_attempt_at is None,
            }
        )
    return rows


def handles(scope: Scope, case: Case) -> bool:
    """True when the viewer belongs to a unit working on the case (lead or co-handler)."""
    if not scope.unit_ids:
        return False
    if case.lead_unit_id in scope.unit_ids:
        return True
    return case.handlers.filter(unit_id__in=scope.unit_ids, active=True).exists()


def _sees_by_area(scope: Scope, case: Case) -> bool:
    return scope.everything or any(case.area_path.startswith(p) for p in scope.role_area_paths)


def masked_reporter(case: Case, scope: Scope, *, user=None) -> dict:
    """The reporter as this viewer may see them.

    - An anonymous case never shows its reporter to a unit: units see nothing at all. Area
      staff (who took the call, who dispatch) see the reporter masked.
    - The unit handling a case sees the phone unmasked: it must call the reporter back
      (first contact counts in the response rate). Everyone else sees `张**`, `138****5678`.
    - The reporter themselves sees their own details.
    """
    base = {"anonymous": case.anonymous, "has_account": case.reporter_id is not None}
    own = user is not None and case.reporter_id is not None and case.reporter_id == user.pk
    if own:
        return {**base, "name": case.reporter_name, "phone": case.reporter_phone, "masked": False}
    by_area = _sees_by_area(scope, case)
    if case.anonymous and not by_area:
        return {**base, "name": "", "phone": "", "masked": True}
    if not case.anonymous and handles(scope, case) and scope.can("cases.handle"):
        return {**base, "name": case.reporter_name, "phone": case.reporter_phone, "masked": False}
    return {
        **base,
        "name": mask_name(case.reporter_name),
        "phone": mask_phone(case.reporter_phone),
        "masked": True,
    }


def _area_names(paths: list[str]) -> dict[int, Area]:
    ids = {int(p) for path in paths for p in path.strip("/").split("/") if p}
    return {a.pk: a for a in Area.objects.filter(pk__in=ids).only("id", "name", "level")}


def public_board(
    *, area: Area | None = None, category: Category | int | None = None
) -> QuerySet[Case]:
    """Finished cases for the public board, most recently resolved first. Render each row
    with `board_rows`, which keeps only what may be disclosed."""
    cases = Case.objects.filter(state__in=BOARD_STATES, resolved_at__isnull=False)
    if area is not None:
        cases = cases.filter(area_path__startswith=area.path)
    if category is not None:
        cases = cases.filter(_category_q(category))
    return (
        cases.select_related("category", "category__parent")
        .defer("text_signature")
        .order_by("-resolved_at", "-id")
    )


def board_rows(cases) -> list[dict]:
    """De-personalised rows: category, area names, state, times, duration and the reply.
    Never the title, description, address, reporter, number or coordinates."""
    cases = list(cases)
    areas = _area_names([c.area_path for c in cases])
    rows = []
    for case in cases:
        chain = [areas.get(int(p)) for p in case.area_path.strip("/").split("/") if p]
        names = {a.level: a.name for a in chain if a is not None}
        hours = None
        if case.resolved_at is not None:
            hours = round((case.resolved_at - case.received_at).total_seconds() / 3600, 1)
        rows.append(
            {
                "category": case.category.name if case.category else "",
                "category_path": _category_path(case.category),
                "kind": case.kind,
                "street": names.get("street", ""),
                "community": names.get("community", ""),
                "state": case.state,
                "state_label": str(State(case.state).label),
                "received_at": case.received_at,
                "resolved_at": case.resolved_at,
                "duration_hours": hours,
                "reply": case.reply,
            }
        )
    return rows


def _category_path(category: Category | None) -> str:
    names = []
    node = category
    while node is not None and len(names) < 5:
        names.append(node.name)
        node = node.parent if node.parent_id else None
    return " > ".join(reversed(names))


def track_case(number: str, phone: str) -> Case:
    """The case with `number` when `phone` is the reporter's phone; Http404 otherwise.

    A wrong number and a wrong phone give the same answer after the same work (a constant-time
    compare against a dummy when the number is unknown), so the form cannot probe numbers.
    """
    try:
        given = normalise_phone(phone or "")
    except InvalidIdentifier:
        given = ""
    case = (
        Case.objects.filter(number=(number or "").strip())
        .select_related("category", "category__parent")
        .first()
    )
    stored = case.reporter_phone if case is not None and case.reporter_phone else _DUMMY_PHONE
    matches = hmac.compare_digest(stored.encode(), given.encode())
    if case is None or not given or not case.reporter_phone or not matches:
        raise Http404
    return case


def public_timeline(case: Case) -> list[dict]:
    """What the reporter may follow: each step's action and time, no names of staff."""
    return [
        {"at": e.at, "action": e.action, "state": e.to_state}
        for e in case.events.order_by("at", "id").only("at", "action", "to_state")
        if e.action != Action.COMMENT
    ]
