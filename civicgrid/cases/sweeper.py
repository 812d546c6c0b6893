"""The deadline sweeper: moves cases to near due / overdue as their clocks run out.

Each case stores the next moment its deadline status can change (`next_check_at`, indexed).
A sweep reads the cases whose moment has come, in batches, computes the new status and the
next check with `sla.evaluate` on plain column values, and writes them back with one
compare-and-swap UPDATE per batch:

    UPDATE case SET deadline_status = v.status, next_check_at = v.next
      FROM (VALUES ...) v
     WHERE case.id = v.id AND case.version = v.version AND case.next_check_at = v.old_next
    RETURNING case.id

A case changed by a transition since it was read (version bumped) or already swept by
another process (next_check_at moved) is skipped and picked up by the next round; only the
rows the UPDATE returns get a DEADLINE timeline event and a notification, in the same
transaction. So several sweepers may run at once and each change is recorded exactly once.
The sweep does not bump `version`: a clerk's open form must not go stale because a clock
ticked, and the transition that saves it recomputes the status anyway.

The same sweep marks summoned units that did not report in by the limit as absent.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import NamedTuple

from django.db import connection, transaction
from django.utils.translation import gettext as _

from civicgrid.accounts.models import User
from civicgrid.cases import notifications, sla, workflow
from civicgrid.cases.choices import Action, DeadlineStatus, SummonsStatus
from civicgrid.cases.models import Case, CaseEvent, SlaPolicy, Summons

# The columns a sweep reads: the clock's inputs, the guard, and what a notification needs.
_COLUMNS = (
    "id",
    "version",
    "state",
    "policy_id",
    "respond_due_at",
    "resolve_due_at",
    "clock_started_at",
    "received_at",
    "paused_at",
    "deadline_status",
    "next_check_at",
    "number",
    "title",
    "lead_unit_id",
    "area_path",
    "reporter_id",
)
# Skipped rows are left out of later batches of the same sweep; past this many the sweep ends
# early and the next round takes them (another process is clearly working on them).
_MAX_SKIPPED = 10_000


class _Event(NamedTuple):
    case_id: int
    at: dt.datetime
    action: str
    from_state: str
    to_state: str
    reason: str
    actor_id: int | None
    unit_id: int | None
    data: dict


class _CaseRef(NamedTuple):
    pk: int
    number: str
    title: str
    lead_unit_id: int | None
    area_path: str
    reporter_id: int | None


@dataclass
class SweepResult:
    checked: int = 0
    near_due: int = 0
    overdue: int = 0
    whistles_absent: int = 0
    skipped: int = 0


def _select_batch(now: dt.datetime, batch_size: int, skipped: set[int]) -> list[dict]:
    rows = Case.objects.filter(next_check_at__lte=now).exclude(pk__in=skipped)
    return list(rows.order_by("next_check_at", "pk").values(*_COLUMNS)[:batch_size])


def _compare_and_swap(updates: list[tuple]) -> set[int]:
    """Apply (id, version, old_next, status, next) rows; the ids whose guard held."""
    table = connection.ops.quote_name(Case._meta.db_table)
    adapt = connection.ops.adapt_datetimefield_value
    if connection.vendor == "postgresql":
        row = "(%s::bigint, %s::bigint, %s::timestamptz, %s::varchar, %s::timestamptz)"
    else:
        row = "(%s, %s, %s, %s, %s)"
    sql = (
        f"WITH v(id, version, old_next, status, next) AS (VALUES {', '.join([row] * len(updates))}) "
        f"UPDATE {table} SET deadline_status = v.status, next_check_at = v.next "
        f"FROM v WHERE {table}.id = v.id AND {table}.version = v.version "
        f"AND {table}.next_check_at = v.old_next RETURNING {table}.id"
    )
    params: list = []
    for pk, version, old_next, status, next_check in updates:
        params += [pk, version, adapt(old_next), status, adapt(next_check)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {pk for (pk,) in cursor.fetchall()}


def _sweep_batch(rows: list[dict], now: dt.datetime, fractions: dict, result: SweepResult):
    updates = []
    new_status: dict[int, str] = {}
    for row in rows:
        if workflow.clock_running(row["state"]) and row["paused_at"] is None:
            status, next_check = sla.evaluate(
                state=row["state"],
                respond_due=row["respond_due_at"],
                resolve_due=row["resolve_due_at"],
                started=row["clock_started_at"] or row["received_at"],
                fraction=fractions.get(row["policy_id"], 0.0),
                at=now,
            )
        else:
            # Stopped clocks (suspended, resolved, closed) keep their status and need no check.
            status, next_check = row["deadline_status"], None
        new_status[row["id"]] = status
        updates.append((row["id"], row["version"], row["next_check_at"], status, next_check))
    with transaction.atomic():
        won = _compare_and_swap(updates)
        changed = [
            r for r in rows if r["id"] in won and new_status[r["id"]] != r["deadline_status"]
        ]
        # Light records, not model instances: a sweep may write hundreds of thousands.
        events = [
            _Event(
                r["id"],
                now,
                Action.DEADLINE,
                r["state"],
                r["state"],
                "",
                None,
                None,
                {"from": r["deadline_status"], "to": new_status[r["id"]]},
            )
            for r in changed
        ]
        notifications.insert_rows(CaseEvent, _Event._fields, events)
        cases = [
            _CaseRef(
                r["id"],
                r["number"],
                r["title"],
                r["lead_unit_id"],
                r["area_path"],
                r["reporter_id"],
            )
            for r in changed
        ]
        notifications.notify_case_events(list(zip(cases, events, strict=True)), deliver=False)
    result.checked += len(won)
    result.skipped += len(rows) - len(won)
    for r in changed:
        if new_status[r["id"]] == DeadlineStatus.NEAR_DUE:
            result.near_due += 1
        elif new_status[r["id"]] == DeadlineStatus.OVERDUE:
            result.overdue += 1
    return {r["id"] for r in rows} - won


def mark_absent(*, now: dt.datetime) -> int:
    """Summoned units that did not report in by the limit become absent; returns how many."""
    late = list(
        Summons.objects.filter(status=SummonsStatus.PENDING, due_at__lte=now)
        .select_related("whistle", "unit")
        .order_by("pk")
    )
    marked = 0
    for summons in late:
        with transaction.atomic():
            # Compare-and-swap: a report-in (or another sweeper) may have come first.
            if not Summons.objects.filter(
                pk=summons.pk, status=SummonsStatus.PENDING, reported_at__isnull=True
            ).update(status=SummonsStatus.ABSENT):
                continue
            marked += 1
            whistle = summons.whistle
            subject = _("%(unit)s did not report in within %(minutes)d minutes") % {
                "unit": summons.unit.name,
                "minutes": whistle.limit_minutes,
            }
            if whistle.case_id is not None:
                CaseEvent.objects.create(
                    case_id=whistle.case_id,
                    at=now,
                    action=Action.DEADLINE,
                    unit_id=summons.unit_id,
                    reason=subject,
                    data={"whistle": whistle.pk, "summons": summons.pk, "to": "absent"},
                )
            blower = User.objects.filter(pk=whistle.blown_by_id, is_active=True)
            notifications.notify(
                blower,
                subject,
                whistle.site or whistle.reason,
                case=whistle.case,
                channel=notifications.configured_channels(),
            )
    return marked


def sweep_deadlines(*, now: dt.datetime, batch_size: int = 1000) -> SweepResult:
    """Update every case whose next check is due at `now`; mark absent summonses."""
    fractions = dict(SlaPolicy.objects.values_list("pk", "near_due_fraction"))
    result = SweepResult()
    skipped: set[int] = set()
    while len(skipped) <= _MAX_SKIPPED:
        rows = _select_batch(now, batch_size, skipped)
        if not rows:
            break
        skipped |= _sweep_batch(rows, now, fractions, result)
    result.whistles_absent = mark_absent(now=now)
    return result
