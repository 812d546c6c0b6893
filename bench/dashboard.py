"""Benchmark: the dashboard over 1,000,000 cases, for the district and for one street.

    .venv/bin/python bench/dashboard.py                   # throwaway SQLite, 1,000,000 cases
    .venv/bin/python bench/dashboard.py --cases 100000    # quicker
    .venv/bin/python bench/dashboard.py --postgres        # the database in CIVICGRID_DATABASE_URL
    .venv/bin/python bench/dashboard.py --reuse           # time again on the last run's data

Builds a district of 10 streets, 50 communities and 200 grids, 20 units and 40 categories
under 8 top-level ones, then the cases with raw bulk inserts (as bench/sweep.py does): spread
over the last 730 days, every channel and kind, 97% finished (a third of them called back), the
last ten days' cases still open with some near due and overdue. The rollups are then counted
from scratch by `scoring.rollups.rebuild()` (timed: what `manage.py refresh_rollups --full`
does).

Then, for the district officer and for one street dispatcher, the month's dashboard: the JSON
the charts read (`/dashboards/data/`), the page (`/dashboards/`) and the API
(`/api/v1/dashboards/summary`), through Django's test client (the whole request: middleware,
scope, queries, JSON). Each figure is the best of --repeat runs after one warm-up, as wall
clock and as this process's CPU time (SQLite runs in the process; on a shared machine the CPU
time is the steadier figure). For
comparison, the same splits (volume per day, channel, kind, category and grid) computed by raw
GROUP BY queries over the cases, whose figures must equal the dashboard's. The hotspots and
topics panel is timed apart, once after a warm-up (it reads a window of raw cases for its
clusters).
Writes bench/results/dashboard.json (dashboard_postgres.json with --postgres).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    BENCH_DB_DIR,
    best_of,
    environment,
    peak_rss_mb,
    print_table,
    setup_django,
    timer,
    write_results,
)

PREFIX = "DASH"
CODE = "510197"
STREETS, COMMUNITIES, GRIDS = 10, 5, 4
DAYS = 730
OPEN_DAYS = 10


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
    """Remove what an earlier run left (PostgreSQL keeps its database between runs)."""
    from django.db import connection

    from civicgrid.scoring import rollups

    with connection.cursor() as cursor:
        like = f"{PREFIX}%"
        for table in ("cases_callback", "cases_caseevent", "cases_casehandler"):
            cursor.execute(
                f"DELETE FROM {table} WHERE case_id IN "
                "(SELECT id FROM cases_case WHERE number LIKE %s)",
                [like],
            )
        cursor.execute("DELETE FROM cases_case WHERE number LIKE %s", [like])
    rollups.rebuild()


def build_places():
    """The district's areas, units, categories and the two users; returns them."""
    from civicgrid.accounts.choices import Role, UnitKind
    from civicgrid.accounts.models import RoleAssignment, Unit, User
    from civicgrid.areas.choices import Level
    from civicgrid.areas.models import Area
    from civicgrid.areas.services import create_area
    from civicgrid.cases.models import Category, Taxonomy

    district = Area.objects.filter(code=CODE).first()
    if district is None:
        district = create_area(actor=None, name="仪表板区", level=Level.DISTRICT, code=CODE)
        for s in range(STREETS):
            street = create_area(
                actor=None,
                name=f"第{s + 1}街道",
                level=Level.STREET,
                code=f"{CODE}{s + 1:03d}",
                parent=district,
            )
            for c in range(COMMUNITIES):
                community = create_area(
                    actor=None,
                    name=f"{s + 1}-{c + 1}社区",
                    level=Level.COMMUNITY,
                    code=f"{street.code}{c + 1:03d}",
                    parent=street,
                )
                for g in range(GRIDS):
                    create_area(
                        actor=None,
                        name=f"第{g + 1}网格",
                        level=Level.GRID,
                        code=f"{community.code}{g + 1:03d}",
                        parent=community,
                    )
    grids = list(
        Area.objects.filter(path__startswith=district.path, level=Level.GRID)
        .order_by("code")
        .values_list("id", "path")
    )
    street = Area.objects.get(code=f"{CODE}001")
    units = []
    for u in range(20):
        unit, _ = Unit.objects.get_or_create(
            code=f"{PREFIX}U{u:02d}", defaults={"name": f"部门{u + 1}", "kind": UnitKind.DEPARTMENT}
        )
        units.append(unit.pk)
    taxonomy = Taxonomy.objects.filter(is_active=True).first() or Taxonomy.objects.create(
        version=f"{PREFIX}-t", name="bench", is_active=True
    )
    leaves = []
    for r in range(8):
        root, _ = Category.objects.get_or_create(
            taxonomy=taxonomy,
            code=f"{PREFIX}{r}",
            defaults={"name": f"大类{r + 1}", "level": 1},
        )
        for c in range(5):
            leaf, _ = Category.objects.get_or_create(
                taxonomy=taxonomy,
                code=f"{PREFIX}{r}{c}",
                defaults={"name": f"小类{r + 1}-{c + 1}", "level": 2, "parent": root},
            )
            leaves.append(leaf.pk)
    officer, _ = User.objects.get_or_create(username=f"{PREFIX.lower()}-district")
    RoleAssignment.objects.get_or_create(
        user=officer, role=Role.DISTRICT_OFFICER, area=district, unit=None
    )
    dispatcher, _ = User.objects.get_or_create(username=f"{PREFIX.lower()}-street")
    RoleAssignment.objects.get_or_create(
        user=dispatcher, role=Role.STREET_DISPATCHER, area=street, unit=None
    )
    return district, street, grids, units, leaves, officer, dispatcher


def build_cases(count: int, now: dt.datetime, grids, units, leaves) -> dict:
    """Insert `count` cases (and callbacks for a third of the finished ones)."""
    from django.db import connection, transaction

    from civicgrid.cases.choices import (
        CallbackMethod,
        Channel,
        DeadlineStatus,
        Kind,
        Satisfaction,
        Solved,
        State,
        Urgency,
    )
    from civicgrid.cases.models import Case

    rng = random.Random(20261122)
    fields = [f for f in Case._meta.concrete_fields if f.attname != "id"]
    columns = [f.column for f in fields]
    fixed = {f.attname: f.get_default() for f in fields}
    fixed.update(
        title="路灯不亮",
        description="小区门口的路灯坏了三天。",
        urgency=Urgency.NORMAL,
        idempotency_key=None,
    )
    channels = [c for c in Channel.values if c != Channel.PROACTIVE]
    channel_weights = [60, 10, 12, 10, 2, 2, 2, 2][: len(channels)]
    kinds = list(Kind.values)
    kind_weights = [20, 10, 25, 35, 7, 3][: len(kinds)]
    finished = [State.CLOSED] * 6 + [State.CALLBACK_DONE] * 3 + [State.RESOLVED, State.INVALID]
    open_states = [State.RECEIVED, State.DISPATCHED, State.ACCEPTED, State.ACCEPTED]
    adapt = connection.ops.adapt_datetimefield_value
    postgres = connection.vendor == "postgresql"
    span = DAYS * 86400

    def value(v):
        if isinstance(v, dt.datetime):
            return v if postgres else adapt(v)
        return v

    stats = {"open": 0, "overdue": 0, "near_due": 0}

    def rows():
        for i in range(count):
            # Cases arrive in time order, so ids follow received times as in production.
            received = now - dt.timedelta(seconds=span * (1 - (i + rng.random()) / count))
            grid_id, path = grids[rng.randrange(len(grids))]
            row = dict(fixed)
            recent = (now - received).days < OPEN_DAYS
            state = (
                rng.choice(open_states) if recent and rng.random() < 0.7 else rng.choice(finished)
            )
            due_status = DeadlineStatus.ON_TIME
            if state in open_states:
                stats["open"] += 1
                roll = rng.random()
                if roll < 0.15:
                    due_status = DeadlineStatus.OVERDUE
                    stats["overdue"] += 1
                elif roll < 0.3:
                    due_status = DeadlineStatus.NEAR_DUE
                    stats["near_due"] += 1
            resolved = None
            if state in (State.CLOSED, State.CALLBACK_DONE, State.RESOLVED):
                resolved = received + dt.timedelta(hours=rng.uniform(2, 90))
            row.update(
                number=f"{PREFIX}{i:09d}",
                channel=rng.choices(channels, channel_weights)[0],
                kind=rng.choices(kinds, kind_weights)[0],
                category_id=leaves[rng.randrange(len(leaves))] if rng.random() < 0.95 else None,
                grid_id=grid_id,
                area_path=path,
                state=state,
                lead_unit_id=None if state == State.RECEIVED else units[rng.randrange(len(units))],
                received_at=received,
                dispatched_at=received,
                clock_started_at=received,
                respond_due_at=received + dt.timedelta(hours=2),
                resolve_due_at=received + dt.timedelta(hours=72),
                resolved_at=resolved,
                closed_at=resolved if state == State.CLOSED else None,
                deadline_status=due_status,
            )
            yield [value(row[f.attname]) for f in fields]

    with transaction.atomic(), connection.cursor() as cursor:
        if postgres:
            with cursor.cursor.copy(f"COPY cases_case ({', '.join(columns)}) FROM STDIN") as copy:
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
        # Callbacks for a third of the finished cases, with a spread of answers.
        cursor.execute(
            "SELECT id, resolved_at FROM cases_case WHERE number LIKE %s "
            "AND state IN (%s, %s) AND resolved_at IS NOT NULL",
            [f"{PREFIX}%", State.CLOSED, State.CALLBACK_DONE],
        )
        picked = [(pk, at) for pk, at in cursor.fetchall() if rng.random() < 0.34]
        solved = [Solved.SOLVED] * 7 + [Solved.PARTLY] * 2 + [Solved.NOT_SOLVED]
        happy = [Satisfaction.SATISFIED] * 7 + [Satisfaction.BASIC] * 2
        happy += [Satisfaction.DISSATISFIED, Satisfaction.NO_ANSWER]
        cb_rows = [
            (
                pk,
                at,
                CallbackMethod.PHONE,
                rng.random() < 0.9,
                rng.choice(solved),
                rng.choice(happy),
                "",
            )
            for pk, at in picked
        ]
        cursor.executemany(
            "INSERT INTO cases_callback (case_id, at, method, contacted, solved, satisfaction, "
            "note) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            cb_rows,
        )
    if postgres:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE cases_case")
            cursor.execute("ANALYZE cases_callback")
    return {"cases": count, "callbacks": len(cb_rows), **stats}


def cpu_best(repeat: int, fn) -> float:
    """The least CPU time of `repeat` runs of `fn()` (this process, SQLite included): steadier
    than the wall clock on a shared machine, where a run can wait seconds for a core."""
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return best


def existing(district) -> dict:
    """What an earlier run built (for --reuse)."""
    from civicgrid.cases.models import Callback, Case

    cases = Case.objects.filter(area_path__startswith=district.path)
    return {
        "cases": cases.count(),
        "callbacks": Callback.objects.filter(case__area_path__startswith=district.path).count(),
        "open": cases.open().count(),
    }


def raw_splits(area_path: str, start: dt.date, end: dt.date) -> dict:
    """The dashboard's splits by plain GROUP BY queries over the cases (the slow way)."""
    from django.db.models import Count
    from django.db.models.functions import TruncDate
    from django.utils import timezone

    from civicgrid.cases.models import Case

    since = timezone.make_aware(dt.datetime.combine(start, dt.time()))
    until = timezone.make_aware(dt.datetime.combine(end + dt.timedelta(days=1), dt.time()))
    cases = Case.objects.filter(
        area_path__startswith=area_path, received_at__gte=since, received_at__lt=until
    ).order_by()
    out = {}
    for key in ("channel", "kind", "category_id", "grid_id"):
        out[key] = {r[key]: r["n"] for r in cases.values(key).annotate(n=Count("id"))}
    out["day"] = {
        r["d"]: r["n"]
        for r in cases.annotate(d=TruncDate("received_at")).values("d").annotate(n=Count("id"))
    }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument(
        "--reuse", action="store_true", help="time again on the last run's cases and rollups"
    )
    args = parser.parse_args()

    if args.postgres and args.reuse:
        sys.exit("--reuse reads the SQLite file of the last run (PostgreSQL runs clean up)")
    if args.postgres:
        setup_postgres()
    elif args.reuse:
        # The last run's database as it is: its cases and rollups (only the timings are new).
        os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
        os.environ["CIVICGRID_DATABASE_URL"] = f"sqlite:///{BENCH_DB_DIR / 'dashboard.sqlite3'}"
        import django

        django.setup()
    else:
        setup_django("dashboard")

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from civicgrid.core import clock
    from civicgrid.dashboards import selectors
    from civicgrid.scoring import rollups
    from civicgrid.scoring.models import RollupCount
    from civicgrid.scoring.scorecards import period

    if args.postgres:
        cleanup()
    now = clock.now()
    with timer() as places_time:
        district, street, grids, units, leaves, officer, dispatcher = build_places()
    with timer() as build_time:
        if args.reuse:
            built = existing(district)
        else:
            built = build_cases(args.cases, now, grids, units, leaves)
    with timer() as rollup_time:
        if not args.reuse:
            rollups.rebuild()
    count_rows = RollupCount.objects.count()
    print(
        f"built {built['cases']:,} cases ({built['callbacks']:,} callbacks, {built['open']:,} "
        f"open) in {build_time.seconds:.1f} s; rollups rebuilt in {rollup_time.seconds:.1f} s "
        f"({count_rows:,} count rows)",
        flush=True,
    )

    # The last full month: what a district officer opens at the start of a month.
    today = clock.today()
    month = period("month", (today.replace(day=1) - dt.timedelta(days=1)))
    query = {"period": "month", "date": month.start.isoformat()}
    rows = []
    results = {}
    for label, user, area in (("district", officer, district), ("street", dispatcher, street)):
        client = Client()
        client.force_login(user)
        data = client.get("/dashboards/data/", query)
        assert data.status_code == 200, data.content[:300]
        figures = data.json()
        # (A request resets the query log when it starts: count the figures' own queries.)
        with CaptureQueriesContext(connection) as queries:
            selectors.summary(user, month)
        query_count = len(queries)  # now: later requests empty the query log
        json_s = best_of(args.repeat, lambda c=client: c.get("/dashboards/data/", query))
        page_s = best_of(args.repeat, lambda c=client: c.get("/dashboards/", query))
        api_s = best_of(args.repeat, lambda c=client: c.get("/api/v1/dashboards/summary", query))
        summary_s = best_of(args.repeat, lambda u=user: selectors.summary(u, month))
        json_cpu = cpu_best(args.repeat, lambda c=client: c.get("/dashboards/data/", query))
        page_cpu = cpu_best(args.repeat, lambda c=client: c.get("/dashboards/", query))
        raw_cpu = cpu_best(
            max(1, args.repeat // 2), lambda a=area: raw_splits(a.path, month.start, month.end)
        )
        raw_s = best_of(
            max(1, args.repeat // 2), lambda a=area: raw_splits(a.path, month.start, month.end)
        )
        raw = raw_splits(area.path, month.start, month.end)
        # The rollup figures must be the raw figures.
        assert {r["key"]: r["total"] for r in figures["channels"]} == raw["channel"]
        assert {r["key"]: r["total"] for r in figures["kinds"]} == raw["kind"]
        assert figures["totals"]["received"] == sum(raw["channel"].values())
        assert {int(k): g["total"] for k, g in figures["map"]["grids"].items() if g["total"]} == {
            k: v for k, v in raw["grid_id"].items() if k
        }
        assert {b["start"]: b["total"] for b in figures["trend"] if b["total"]} == {
            d.isoformat(): n for d, n in raw["day"].items()
        }
        client.get("/dashboards/insight/", query)  # the first one imports scikit-learn
        with timer() as insight_time:
            panel = client.get("/dashboards/insight/", query)
        assert panel.status_code == 200
        received = figures["totals"]["received"]
        rows += [
            [label, "dashboard JSON (request)", json_s, received, query_count],
            [label, "dashboard JSON, CPU time", json_cpu, received, ""],
            [label, "dashboard page (request)", page_s, received, ""],
            [label, "dashboard page, CPU time", page_cpu, received, ""],
            [label, "API summary (request)", api_s, received, ""],
            [label, "figures only (selectors.summary)", summary_s, received, ""],
            [label, "same splits by raw GROUP BY", raw_s, received, ""],
            [label, "same splits by raw GROUP BY, CPU time", raw_cpu, received, ""],
            [label, "hotspots and topics panel", insight_time.seconds, received, ""],
        ]
        results[label] = {
            "received_in_month": received,
            "open_now": figures["deadlines"]["open"],
            "json_seconds": round(json_s, 4),
            "json_cpu_seconds": round(json_cpu, 4),
            "page_cpu_seconds": round(page_cpu, 4),
            "raw_splits_cpu_seconds": round(raw_cpu, 4),
            "page_seconds": round(page_s, 4),
            "api_seconds": round(api_s, 4),
            "summary_seconds": round(summary_s, 4),
            "raw_splits_seconds": round(raw_s, 4),
            "raw_over_rollup_ratio": round(raw_s / summary_s, 1),
            "insight_panel_seconds": round(insight_time.seconds, 3),
            "queries": query_count,
        }
    print_table(
        ["scope", "what", "seconds", "cases in month", "queries"],
        rows,
        title=f"Dashboard of {month.label} over {built['cases']:,} cases "
        f"({connection.vendor}, best of {args.repeat})",
    )
    for label in ("district", "street"):
        r = results[label]
        print(
            f"{label}: JSON + page {r['json_seconds'] + r['page_seconds']:.3f} s wall, "
            f"{r['json_cpu_seconds'] + r['page_cpu_seconds']:.3f} s CPU; raw GROUP BY takes "
            f"{r['raw_over_rollup_ratio']}x the rollup figures"
        )
    print(f"peak memory {peak_rss_mb():.0f} MB")
    data = {
        "cases": built["cases"],
        "callbacks": built["callbacks"],
        "open": built["open"],
        "month": month.label,
        "build_seconds": round(build_time.seconds + places_time.seconds, 1),
        "rollup_rebuild_seconds": round(rollup_time.seconds, 1),
        "rollup_count_rows": count_rows,
        "repeat": args.repeat,
        **results,
        "peak_rss_mb": round(peak_rss_mb()),
        "environment": environment(),
    }
    name = "dashboard_postgres" if args.postgres else "dashboard"
    path = write_results(name, data)
    print(f"wrote {path.relative_to(Path(__file__).resolve().parent.parent)}")
    if args.postgres:
        cleanup()


if __name__ == "__main__":
    main()
