"""Benchmark: one deadline sweep over 1,000,000 open cases, half of them due for a check.

    .venv/bin/python bench/sweep.py                    # throwaway SQLite, 1,000,000 cases
    .venv/bin/python bench/sweep.py --cases 100000     # quicker
    .venv/bin/python bench/sweep.py --postgres         # the database in CIVICGRID_DATABASE_URL

Builds the cases with raw bulk inserts (executemany on SQLite, COPY on PostgreSQL): all
dispatched, under the Jinniu limits (respond 2 h, resolve 24 h, near due at 20% left).
Half were received 3 hours ago, so their response is overdue and their next check has come;
the other half 10 minutes ago, with the next check still ahead. One street dispatcher covers
the district, so each change also writes one in-app notification, as in production.

Then it times one `sweep_deadlines` call (batches of --batch-size): every due case gets its
new status and next check (compare-and-swap UPDATE per batch), a DEADLINE event and the
notification. Prints seconds and cases per second; writes bench/results/sweep.json.
On PostgreSQL the rows it made (numbers starting BENCH) are removed first and afterwards.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    environment,
    peak_rss_mb,
    print_table,
    setup_django,
    timer,
    write_results,
)

PREFIX = "BENCH"


def setup_postgres() -> None:
    url = os.environ.get("CIVICGRID_DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("--postgres needs CIVICGRID_DATABASE_URL=postgres://user@host:port/dbname")
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def cleanup() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        like = f"{PREFIX}%"
        for table in ("cases_notification", "cases_caseevent"):
            cursor.execute(
                f"DELETE FROM {table} WHERE case_id IN "
                "(SELECT id FROM cases_case WHERE number LIKE %s)",
                [like],
            )
        cursor.execute("DELETE FROM cases_case WHERE number LIKE %s", [like])


def build(count: int, now: dt.datetime) -> dict:
    """Insert `count` open cases; returns what was built."""
    from django.db import connection, transaction

    from civicgrid.accounts.choices import Role
    from civicgrid.accounts.models import RoleAssignment, User
    from civicgrid.areas.choices import Level
    from civicgrid.areas.models import Area
    from civicgrid.areas.services import create_area
    from civicgrid.cases.choices import Channel, DeadlineStatus, Kind, State, Urgency
    from civicgrid.cases.models import Case, SlaPolicy, SlaRule

    district = Area.objects.filter(code="510106BENCH").first() or create_area(
        actor=None, name="基准区", level=Level.DISTRICT, code="510106BENCH"
    )
    dispatcher, _ = User.objects.get_or_create(username="bench-dispatcher")
    RoleAssignment.objects.get_or_create(
        user=dispatcher, role=Role.STREET_DISPATCHER, area=district, unit=None
    )
    policy, _ = SlaPolicy.objects.get_or_create(
        code="bench", defaults={"name": "bench 2/24", "near_due_fraction": 0.2}
    )
    if not policy.rules.exists():
        SlaRule.objects.create(
            policy=policy, respond_value=2, respond_unit="hours", resolve_value=24
        )

    fields = [f for f in Case._meta.concrete_fields if f.attname != "id"]
    columns = [f.column for f in fields]
    fixed = {f.attname: f.get_default() for f in fields}
    fixed.update(
        channel=Channel.HOTLINE,
        kind=Kind.REPORT,
        title="路灯不亮",
        description="小区门口的路灯坏了三天。",
        area_path=district.path,
        urgency=Urgency.NORMAL,
        state=State.DISPATCHED,
        policy_id=policy.pk,
        deadline_status=DeadlineStatus.ON_TIME,
        idempotency_key=None,
    )
    adapt = connection.ops.adapt_datetimefield_value
    postgres = connection.vendor == "postgresql"

    def value(v):
        if isinstance(v, dt.datetime):
            return v if postgres else adapt(v)
        return v

    def rows():
        for i in range(count):
            due = i % 2 == 0
            received = now - (dt.timedelta(hours=3) if due else dt.timedelta(minutes=10))
            row = dict(fixed)
            row.update(
                number=f"{PREFIX}{i:09d}",
                received_at=received,
                dispatched_at=received,
                clock_started_at=received,
                respond_due_at=received + dt.timedelta(hours=2),
                resolve_due_at=received + dt.timedelta(hours=24),
                # Due: the respond deadline has passed. Not due: its near-due threshold ahead.
                next_check_at=received + dt.timedelta(hours=2 if due else 1.6),
            )
            yield [value(row[f.attname]) for f in fields]

    with transaction.atomic(), connection.cursor() as cursor:
        if postgres:
            sql = f"COPY cases_case ({', '.join(columns)}) FROM STDIN"
            with cursor.cursor.copy(sql) as copy:
                for row in rows():
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(columns))
            sql = f"INSERT INTO cases_case ({', '.join(columns)}) VALUES ({marks})"
            batch = []
            for row in rows():
                batch.append(row)
                if len(batch) == 50_000:
                    cursor.executemany(sql, batch)
                    batch.clear()
            if batch:
                cursor.executemany(sql, batch)
    if postgres:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE cases_case")
    return {"cases": count, "due": (count + 1) // 2}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()

    if args.postgres:
        setup_postgres()
    else:
        setup_django("sweep")

    from civicgrid.cases.models import Case, CaseEvent, Notification
    from civicgrid.cases.sweeper import sweep_deadlines
    from civicgrid.core import clock

    now = clock.now()
    if args.postgres:
        cleanup()
    with timer() as build_time:
        built = build(args.cases, now)
    with timer() as sweep_time:
        result = sweep_deadlines(now=now, batch_size=args.batch_size)
    # A second sweep at the same instant finds nothing left to do: the cost of an idle poll.
    with timer() as idle_time:
        idle = sweep_deadlines(now=now, batch_size=args.batch_size)
    bench_cases = Case.objects.filter(number__startswith=PREFIX)
    events = CaseEvent.objects.filter(case__number__startswith=PREFIX).count()
    notices = Notification.objects.filter(case__number__startswith=PREFIX).count()
    assert result.checked == built["due"] == result.overdue == events, (result, built, events)
    assert idle.checked == 0
    assert bench_cases.filter(next_check_at__lte=now).count() == 0

    rate = result.checked / sweep_time.seconds
    print_table(
        ["step", "seconds", "cases", "cases/s"],
        [
            [
                "build (raw insert)",
                build_time.seconds,
                built["cases"],
                built["cases"] / build_time.seconds,
            ],
            ["sweep", sweep_time.seconds, result.checked, rate],
            ["idle sweep", idle_time.seconds, 0, 0],
        ],
        title=f"Deadline sweep over {built['cases']:,} open cases ({built['due']:,} due), "
        f"batch {args.batch_size}",
    )
    print(f"events {events:,}, notifications {notices:,}, peak memory {peak_rss_mb():.0f} MB")
    data = {
        "cases": built["cases"],
        "due": built["due"],
        "batch_size": args.batch_size,
        "build_seconds": round(build_time.seconds, 3),
        "sweep_seconds": round(sweep_time.seconds, 3),
        "cases_per_second": round(rate),
        "idle_sweep_seconds": round(idle_time.seconds, 4),
        "events": events,
        "notifications": notices,
        "peak_rss_mb": round(peak_rss_mb()),
        "environment": environment(),
    }
    name = "sweep_postgres" if args.postgres else "sweep"
    path = write_results(name, data)
    print(f"wrote {path.relative_to(Path(__file__).resolve().parent.parent)}")
    if args.postgres:
        cleanup()


if __name__ == "__main__":
    main()
