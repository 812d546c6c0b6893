"""Notifications: an outbox written in the caller's transaction, delivered after the commit.

`notify_case(case, event)` tells the people concerned by a timeline event (the handling
units' staff, the dispatchers over the case's area, the reporter when they have an account
and the step concerns them); `notify(users, ...)` tells anyone anything. Rows are written
inside the caller's transaction, so a change that rolls back leaves no row and sends nothing;
external delivery is queued with `transaction.on_commit`.

Channels (`CIVICGRID_NOTIFY_CHANNELS`, default `in_app`):
- in_app: the row is the message; it is listed by `unread_for(user)` until `mark_read`.
- email: Django's mail settings, to the user's email address.
- sms: a JSON POST to `CIVICGRID_SMS_GATEWAY_URL`; without a gateway it is only logged.
- webhook: one JSON POST per message to `CIVICGRID_WEBHOOK_URL` (no recipient).
A failed delivery keeps the row with its attempts, error and the time of its next attempt;
`deliver_pending` (the `send_notifications` command) retries it once that time has come, with
an exponential back-off (`CIVICGRID_NOTIFY_RETRY_BASE_SECONDS`, doubling, at most
`CIVICGRID_NOTIFY_RETRY_MAX_SECONDS`), up to `CIVICGRID_NOTIFY_MAX_ATTEMPTS` attempts.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import urllib.request
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from django.conf import settings
from django.core.mail import send_mail
from django.db import connection, models, transaction
from django.db.models import F, Q
from django.utils.translation import gettext as _

from civicgrid.accounts.choices import Role
from civicgrid.accounts.models import RoleAssignment, User
from civicgrid.areas.models import Area
from civicgrid.cases import rawsql
from civicgrid.cases.choices import Action, NotificationChannel, NotificationStatus
from civicgrid.cases.models import Case, CaseEvent, CaseHandler, Notification
from civicgrid.core import clock

logger = logging.getLogger(__name__)

IN_APP = NotificationChannel.IN_APP
UNIT, DESK, REPORTER = "unit", "desk", "reporter"
# Who hears of each step: the handling units' staff, the dispatchers over the area (the desk),
# the reporter (only for the steps a resident follows: received, taken up, answered, closed).
AUDIENCE: dict[str, frozenset[str]] = {
    Action.RECEIVE: frozenset({DESK, REPORTER}),
    Action.DISPATCH: frozenset({UNIT}),
    Action.REASSIGN: frozenset({UNIT}),
    Action.ACCEPT: frozenset({REPORTER}),
    Action.RETURN: frozenset({DESK}),
    Action.RULE: frozenset({UNIT}),
    Action.REQUEST_EXTENSION: frozenset({DESK}),
    Action.APPROVE_EXTENSION: frozenset({UNIT}),
    Action.REFUSE_EXTENSION: frozenset({UNIT}),
    Action.SUSPEND: frozenset({UNIT}),
    Action.RESUME: frozenset({UNIT}),
    Action.SUPERVISE: frozenset({UNIT}),
    Action.ADD_CO_HANDLER: frozenset({UNIT}),
    Action.CO_HANDLER_REPLY: frozenset({UNIT}),
    Action.RESOLVE: frozenset({DESK, REPORTER}),
    Action.CALLBACK: frozenset({UNIT}),
    Action.REOPEN: frozenset({UNIT, REPORTER}),
    Action.CLOSE: frozenset({UNIT, REPORTER}),
    Action.MERGE: frozenset({REPORTER}),
    Action.INVALIDATE: frozenset({UNIT, REPORTER}),
    Action.COMMENT: frozenset({UNIT, DESK}),
    Action.WHISTLE: frozenset({UNIT}),
    Action.REPORT_IN: frozenset({DESK}),
    Action.DEADLINE: frozenset({UNIT, DESK}),
}
DESK_ROLES = (Role.STREET_DISPATCHER,)
# Above this many undelivered rows at once, write plain tuples instead of model instances.
_RAW_INSERT_THRESHOLD = 200


@dataclass(frozen=True)
class Contact:
    user_id: int
    email: str
    phone: str


def configured_channels() -> list[str]:
    """The channels messages go out on; in-app is always one of them."""
    channels = list(settings.NOTIFY_CHANNELS)
    return channels if IN_APP in channels else [IN_APP, *channels]


class Message(NamedTuple):
    """One outbox row before it is written (plain values: the sweeper writes thousands)."""

    recipient_id: int | None
    channel: str
    address: str
    subject: str
    body: str
    case_id: int | None
    status: str
    sent_at: dt.datetime | None
    created_at: dt.datetime
    attempts: int = 0
    error: str = ""


def _rows(
    contacts: Iterable[Contact],
    subject: str,
    body: str,
    case_id: int | None,
    channels: Sequence[str],
    now: dt.datetime,
) -> list[Message]:
    rows: list[Message] = []
    subject = subject[:200]
    pending = NotificationStatus.PENDING
    for contact in contacts:
        for channel in channels:
            if channel == IN_APP:
                # The row is the delivery: nothing leaves the system.
                rows.append(
                    Message(
                        contact.user_id,
                        IN_APP,
                        "",
                        subject,
                        body,
                        case_id,
                        NotificationStatus.SENT,
                        now,
                        now,
                    )
                )
            elif channel in (NotificationChannel.EMAIL, NotificationChannel.SMS):
                address = contact.email if channel == NotificationChannel.EMAIL else contact.phone
                if address:
                    rows.append(
                        Message(
                            contact.user_id,
                            channel,
                            address,
                            subject,
                            body,
                            case_id,
                            pending,
                            None,
                            now,
                        )
                    )
    if NotificationChannel.WEBHOOK in channels:
        rows.append(
            Message(
                None,
                NotificationChannel.WEBHOOK,
                settings.WEBHOOK_URL,
                subject,
                body,
                case_id,
                pending,
                None,
                now,
            )
        )
    return rows


def insert_rows(model, attnames: Sequence[str], rows: Sequence[Sequence]) -> None:
    """INSERT plain tuples with one executemany: no model instances, for rows by the thousand.

    Values must already be what the column holds, except aware datetimes (adapted here) and
    dicts for JSON columns (dumped here).
    """
    if not rows:
        return
    fields = [model._meta.get_field(name) for name in attnames]
    adapt = connection.ops.adapt_datetimefield_value

    def dump(value):
        return json.dumps(value, ensure_ascii=False)

    adapters = []
    for f in fields:
        if isinstance(f, models.DateTimeField):
            adapters.append(adapt)
        elif isinstance(f, models.JSONField):
            adapters.append(dump)
        else:
            adapters.append(None)
    # Most rows share their instants (the sweep's `now`): adapt each distinct one once.
    seen: dict = {}

    def prepared(row):
        out = []
        for value, fn in zip(row, adapters, strict=True):
            if fn is adapt and value is not None:
                if value not in seen:
                    seen[value] = adapt(value)
                value = seen[value]
            elif fn is dump:
                value = dump(value)
            out.append(value)
        return out

    quote = connection.ops.quote_name
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} "
        f"({', '.join(quote(f.column) for f in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))})"
    )
    with connection.cursor() as cursor:
        cursor.executemany(sql, [prepared(r) for r in rows])


def _write(messages: list[Message], *, deliver: bool) -> list[Notification]:
    """Write the messages; queue delivery after the commit when `deliver`.

    Returns the rows as model instances, except for a large undelivered batch (the
    sweeper's), which goes in as plain tuples and returns nothing.
    """
    if not deliver and len(messages) > _RAW_INSERT_THRESHOLD:
        insert_rows(Notification, Message._fields, messages)
        return []
    rows = [Notification(**m._asdict()) for m in messages]
    Notification.objects.bulk_create(rows, batch_size=1000)
    outgoing = [r.pk for r in rows if r.channel != IN_APP]
    if deliver and outgoing:
        # After the commit only: a change that rolls back must not have told anyone.
        transaction.on_commit(lambda: deliver_ids(outgoing))
    return rows


def notify(
    users: Iterable[User],
    subject: str,
    body: str = "",
    case: Case | None = None,
    channel: str | Sequence[str] = IN_APP,
    *,
    deliver: bool = True,
) -> list[Notification]:
    """Write one message per user (and channel) in the current transaction.

    `channel` is one channel or several (`configured_channels()` for all that are set up).
    External channels are delivered after the commit unless `deliver` is False (then
    `deliver_pending` sends them).
    """
    channels = [channel] if isinstance(channel, str) else list(channel)
    contacts = [Contact(u.pk, u.email, u.phone) for u in users]
    messages = _rows(contacts, subject, body, case.pk if case else None, channels, clock.now())
    return _write(messages, deliver=deliver)


def _label(event: CaseEvent) -> str:
    if event.action == Action.DEADLINE:
        label = {
            "near_due": _("near due"),
            "overdue": _("overdue"),
        }.get(event.data.get("to", ""), _("deadline status changed"))
    else:
        try:
            label = Action(event.action).label
        except ValueError:
            label = event.action
    return label


def _ancestor_paths(path: str) -> list[str]:
    """'/1/7/42/' -> ['/1/', '/1/7/', '/1/7/42/']."""
    parts = [p for p in path.split("/") if p]
    return ["/" + "/".join(parts[: i + 1]) + "/" for i in range(len(parts))]


# The two audience lookups run on every transition and every intake: written out (see
# cases/rawsql.py), they cost a fraction of the querysets they replace.


def _in(values: Sequence) -> str:
    return ", ".join(["%s"] * len(values))


def _unit_staff(unit_ids: Sequence[int]) -> list[tuple]:
    """(unit id, user id, email, phone) of the active users holding a role in the units."""
    r, u = RoleAssignment, User
    sql = (
        f"SELECT r.{rawsql.column(r, 'unit')}, u.{rawsql.column(u, 'id')}, "
        f"u.{rawsql.column(u, 'email')}, u.{rawsql.column(u, 'phone')} "
        f"FROM {rawsql.table(r)} r INNER JOIN {rawsql.table(u)} u "
        f"ON u.{rawsql.column(u, 'id')} = r.{rawsql.column(r, 'user')} "
        f"WHERE r.{rawsql.column(r, 'unit')} IN ({_in(unit_ids)}) "
        f"AND u.{rawsql.column(u, 'is_active')} = %s"
    )
    return rawsql.fetch(sql, [*unit_ids, True])


def _desk(paths: Sequence[str]) -> list[tuple]:
    """(area path, user id, email, phone) of the active users holding a desk role
    (DESK_ROLES) on one of the areas at `paths`."""
    r, u, a = RoleAssignment, User, Area
    roles = sorted(str(role) for role in DESK_ROLES)
    sql = (
        f"SELECT a.{rawsql.column(a, 'path')}, u.{rawsql.column(u, 'id')}, "
        f"u.{rawsql.column(u, 'email')}, u.{rawsql.column(u, 'phone')} "
        f"FROM {rawsql.table(r)} r "
        f"INNER JOIN {rawsql.table(a)} a "
        f"ON a.{rawsql.column(a, 'id')} = r.{rawsql.column(r, 'area')} "
        f"INNER JOIN {rawsql.table(u)} u "
        f"ON u.{rawsql.column(u, 'id')} = r.{rawsql.column(r, 'user')} "
        f"WHERE r.{rawsql.column(r, 'role')} IN ({_in(roles)}) "
        f"AND a.{rawsql.column(a, 'path')} IN ({_in(paths)}) "
        f"AND u.{rawsql.column(u, 'is_active')} = %s"
    )
    return rawsql.fetch(sql, [*roles, *paths, True])


def notify_case_events(
    pairs: Sequence[tuple[Case, CaseEvent]],
    *,
    deliver: bool = True,
    new_case_ids: Iterable[int] = (),
) -> list[Notification]:
    """`notify_case` for many (case, event) pairs with a fixed number of queries.

    Cases need only pk, number, title, lead_unit_id, area_path and reporter_id; events only
    action, data, reason and actor_id (the sweeper passes light records, not model
    instances). The sweeper calls it per batch with `deliver=False`, leaving external
    messages to `deliver_pending`, so a sweep never waits on a mail server.
    `new_case_ids` names cases written in the caller's transaction (intake): nothing can
    have been merged into them yet, and their one handler is the lead unit, so neither
    merged reporters nor co-handlers are looked up for them.
    """
    if not pairs:
        return []
    units: dict[int, set[int]] = defaultdict(set)
    for case, _event in pairs:
        if case.lead_unit_id:
            units[case.pk].add(case.lead_unit_id)
    needs_unit = {c.pk for c, e in pairs if UNIT in AUDIENCE.get(e.action, ())}
    needs_unit.difference_update(new_case_ids)
    if needs_unit:
        co = CaseHandler.objects.filter(case_id__in=needs_unit, active=True)
        for case_id, unit_id in co.values_list("case_id", "unit_id"):
            units[case_id].add(unit_id)
    unit_staff: dict[int, list[Contact]] = defaultdict(list)
    all_units = {u for us in units.values() for u in us}
    if all_units:
        for unit_id, user_id, email, phone in _unit_staff(sorted(all_units)):
            unit_staff[unit_id].append(Contact(user_id, email, phone))
    desk: dict[str, list[Contact]] = defaultdict(list)
    if any(DESK in AUDIENCE.get(e.action, ()) for _c, e in pairs):
        paths = {p for c, _e in pairs for p in _ancestor_paths(c.area_path)}
        for path, user_id, email, phone in _desk(sorted(paths)):
            desk[path].append(Contact(user_id, email, phone))
    reporters: dict[int, Contact] = {}
    reporter_ids = {c.reporter_id for c, e in pairs if c.reporter_id}
    if reporter_ids:
        for user_id, email, phone in User.objects.filter(
            pk__in=reporter_ids, is_active=True
        ).values_list("pk", "email", "phone"):
            reporters[user_id] = Contact(user_id, email, phone)
    # Reporters of duplicates merged into a case follow it as if they had reported it.
    merged_reporters: dict[int, list[Contact]] = defaultdict(list)
    followed = {c.pk for c, e in pairs if REPORTER in AUDIENCE.get(e.action, ())}
    followed.difference_update(new_case_ids)
    if followed:
        rows = Case.objects.filter(
            parent_id__in=followed, reporter__isnull=False, reporter__is_active=True
        ).values_list("parent_id", "reporter_id", "reporter__email", "reporter__phone")
        for parent_id, user_id, email, phone in rows:
            merged_reporters[parent_id].append(Contact(user_id, email, phone))

    channels = configured_channels()
    now = clock.now()
    out: list[Message] = []
    labels: dict[tuple, str] = {}
    for case, event in pairs:
        audience = AUDIENCE.get(event.action, frozenset({UNIT}))
        contacts: dict[int, Contact] = {}
        if UNIT in audience:
            for unit_id in units.get(case.pk, ()):
                contacts.update((c.user_id, c) for c in unit_staff.get(unit_id, ()))
        if DESK in audience:
            for path in _ancestor_paths(case.area_path):
                contacts.update((c.user_id, c) for c in desk.get(path, ()))
        if REPORTER in audience:
            if case.reporter_id in reporters:
                contacts[case.reporter_id] = reporters[case.reporter_id]
            contacts.update((c.user_id, c) for c in merged_reporters.get(case.pk, ()))
        contacts.pop(event.actor_id, None)  # nobody is told of their own step
        if contacts:
            key = (event.action, (event.data or {}).get("to"))
            if key not in labels:
                labels[key] = _label(event)
            subject = f"{case.number} {labels[key]}: {case.title}"
            out.extend(_rows(contacts.values(), subject, event.reason, case.pk, channels, now))
    return _write(out, deliver=deliver)


def notify_case(case: Case, event: CaseEvent) -> list[Notification]:
    """Tell the people concerned by `event` on `case` (see AUDIENCE), on every channel."""
    return notify_case_events([(case, event)])


# --- delivery -------------------------------------------------------------------------------


def _post_json(url: str, payload: dict) -> None:
    request = urllib.request.Request(
        url,
        data=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
        headers={"Content-Type": "application/json; charset=utf-8"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=settings.NOTIFY_TIMEOUT_SECONDS) as response:
        if not 200 <= response.status < 300:
            raise OSError(f"HTTP {response.status}")


def _send_email(n: Notification) -> None:
    send_mail(n.subject, n.body or n.subject, None, [n.address], fail_silently=False)


def _send_sms(n: Notification) -> None:
    text = f"{n.subject} {n.body}".strip()
    if not settings.SMS_GATEWAY_URL:
        logger.info("SMS to %s: %s", n.address, text)
        return
    _post_json(settings.SMS_GATEWAY_URL, {"phone": n.address, "text": text})


def _send_webhook(n: Notification) -> None:
    _post_json(
        n.address,
        {
            "id": n.pk,
            "subject": n.subject,
            "body": n.body,
            "case": n.case.number if n.case_id else None,
            "created_at": n.created_at.isoformat(),
        },
    )


ADAPTERS = {
    NotificationChannel.EMAIL: _send_email,
    NotificationChannel.SMS: _send_sms,
    NotificationChannel.WEBHOOK: _send_webhook,
}


@dataclass
class DeliveryResult:
    sent: int = 0
    failed: int = 0


def retry_delay(attempts: int) -> dt.timedelta:
    """How long a row waits after its `attempts`-th failed attempt: NOTIFY_RETRY_BASE_SECONDS
    after the first, doubling each time, capped at NOTIFY_RETRY_MAX_SECONDS."""
    base = settings.NOTIFY_RETRY_BASE_SECONDS
    seconds = base * 2 ** min(max(attempts - 1, 0), 32)  # the exponent bound keeps it a float
    return dt.timedelta(seconds=min(seconds, settings.NOTIFY_RETRY_MAX_SECONDS))


def _deliverable(now: dt.datetime) -> Q:
    """Rows to send now: external, not sent, attempts left, and no back-off still running."""
    return (
        Q(
            status__in=(NotificationStatus.PENDING, NotificationStatus.FAILED),
            attempts__lt=settings.NOTIFY_MAX_ATTEMPTS,
        )
        & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        & ~Q(channel=IN_APP)
    )


def deliver_ids(ids: Iterable[int]) -> DeliveryResult:
    """Send the given outbox rows that are due; record a failure, and when the row may be
    tried again (`retry_delay`), on the row."""
    result = DeliveryResult()
    now = clock.now()
    rows = Notification.objects.filter(_deliverable(now), pk__in=list(ids)).select_related("case")
    for n in rows:
        # Claim the attempt: two senders racing for one row, only one sends it.
        claimed = Notification.objects.filter(
            _deliverable(now), pk=n.pk, attempts=n.attempts
        ).update(attempts=F("attempts") + 1)
        if not claimed:
            continue
        attempts = n.attempts + 1
        try:
            ADAPTERS[n.channel](n)
        except Exception as exc:  # any adapter failure is recorded and retried later
            logger.warning("notification %s via %s failed: %s", n.pk, n.channel, exc)
            retry_at = None
            if attempts < settings.NOTIFY_MAX_ATTEMPTS:
                retry_at = clock.now() + retry_delay(attempts)
            Notification.objects.filter(pk=n.pk).update(
                status=NotificationStatus.FAILED, error=str(exc)[:500], next_attempt_at=retry_at
            )
            result.failed += 1
        else:
            Notification.objects.filter(pk=n.pk).update(
                status=NotificationStatus.SENT, sent_at=clock.now(), error="", next_attempt_at=None
            )
            result.sent += 1
    return result


def deliver_pending(limit: int = 100) -> DeliveryResult:
    """Send (or retry) up to `limit` outbox rows that are due, oldest first."""
    ids = Notification.objects.filter(_deliverable(clock.now())).order_by("created_at", "pk")
    return deliver_ids(list(ids.values_list("pk", flat=True)[:limit]))


# --- in-app messages ------------------------------------------------------------------------


def unread_for(user: User):
    """The user's unread in-app messages, newest first."""
    return Notification.objects.filter(recipient=user, channel=IN_APP, read_at=None).select_related(
        "case"
    )


def recent_for(user: User, *, limit: int = 50):
    """The user's in-app messages, read or not, newest first."""
    return Notification.objects.filter(recipient=user, channel=IN_APP).select_related("case")[
        :limit
    ]


def mark_read(notification: Notification, user: User) -> bool:
    """Mark one of the user's messages read; False (and no change) if it is not theirs."""
    return bool(
        Notification.objects.filter(
            pk=notification.pk, recipient=user, channel=IN_APP, read_at=None
        ).update(read_at=clock.now())
    )


def mark_all_read(user: User) -> int:
    return unread_for(user).update(read_at=clock.now())
