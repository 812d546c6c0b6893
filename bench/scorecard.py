"""Benchmark: the month's scorecard of every unit from the rollups vs one raw aggregate query.

    .venv/bin/python bench/scorecard.py                    # throwaway SQLite, 1,000,000 cases
    .venv/bin/python bench/scorecard.py --cases 100000     # quicker
    .venv/bin/python bench/scorecard.py --ten-million      # 10,000,000 cases
    .venv/bin/python bench/scorecard.py --postgres         # the database in CIVICGRID_DATABASE_URL
    .venv/bin/python bench/scorecard.py --reuse            # the cases of the last run: skip 1

Builds a district (5 streets, 20 communities, 100 grids), 50 handling units, 20 categories and
N cases received over the last 12 months with raw bulk inserts (executemany on SQLite, COPY on
PostgreSQL): their timelines (receive, dispatch, accept, returns and rulings, resolve),
callbacks for the called-back ones, co-handlers for one case in ten; a mix of states (closed,
called back, resolved, in progress, dispatched and overdue, returned, invalid, merged) and
proactive work. Nothing goes through the services: this measures reading, not writing.

Then, in one run:
1. `refresh_rollups --full`: every case counted into the rollups;
2. the scorecard (30/35/35 preset) of every unit for the busiest full month, with its
   month-on-month change, from the rollups (`scorecards.compute`), best of 3;
3. the same figures from one raw aggregate query per month over the cases, their timelines and
   callbacks (`scoring/raw.py`), best of 3; the two must agree on every unit's rates and total;
4. 10,000 cases change (resolved, with their RESOLVE events) and `refresh_rollups` (incremental)
   recounts them; the figures are compared with the raw query again.
Prints the times and the ratio; writes bench/results/scorecard.json (scorecard_postgres.json).
On PostgreSQL the rows it made (numbers starting SCORE) are removed first and afterwards.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    RESULTS_DIR as RESULTS,
)
from bench.common import (
    best_of,
    environment,
    peak_rss_mb,
    print_table,
    setup_django,
    timer,
    write_results,
)

PREFIX = "SCORE"
STREETS, COMMUNITIES, GRIDS = 5, 4, 5  # per district, per street, per community
UNITS, CATEGORIES = 50, 20
CHANGES = 10_000
COMMIT_EVERY = 500_000  # cases per build transaction


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

    like = f"{PREFIX}%"
    with connection.cursor() as cursor:
        for table in ("cases_caseevent", "cases_callback", "cases_casehandler"):
            cursor.execute(
                f"DELETE FROM {table} WHERE case_id IN "
                "(SELECT id FROM cases_case WHERE number LIKE %s)",
                [like],
            )
        cursor.execute("DELETE FROM cases_case WHERE number LIKE %s", [like])


def _world():
    """Areas, units, categories and a time-limit policy (made once, found again)."""
    from civicgrid.accounts.choices import UnitKind
    from civicgrid.accounts.models import Unit
    from civicgrid.areas.choices import Level
    from civicgrid.areas.models import Area
    from civicgrid.areas.services import create_area
    from civicgrid.cases.models import Category, SlaPolicy, Taxonomy

    def area(name, level, code, parent=None):
        return Area.objects.filter(code=code).first() or create_area(
            actor=None,
            name=name,
            level=level,
            code=code,
            parent=parent,
            check_containment=False,
            record_audit=False,
        )

    district = area("评分基准区", Level.DISTRICT, "SCOREDIST")
    grids = []
    for s in range(STREETS):
        street = area(f"街道{s}", Level.STREET, f"SCORES{s}", district)
        for c in range(COMMUNITIES):
            community = area(f"社区{s}-{c}", Level.COMMUNITY, f"SCOREC{s}{c}", street)
            for g in range(GRIDS):
                grids.append(area(f"网格{s}-{c}-{g}", Level.GRID, f"SCOREG{s}{c}{g}", community))
    units = [
        Unit.objects.get_or_create(
            code=f"SCOREU{i:02d}",
            defaults={"name": f"基准单位{i:02d}", "kind": UnitKind.DEPARTMENT},
        )[0]
        for i in range(UNITS)
    ]
    taxonomy, _ = Taxonomy.objects.get_or_create(
        version="score-bench", defaults={"name": "基准分类"}
    )
    categories = [
        Category.objects.get_or_create(
            taxonomy=taxonomy, code=f"SB{i:02d}", defaults={"name": f"基准分类{i:02d}"}
        )[0]
        for i in range(CATEGORIES)
    ]
    policy, _ = SlaPolicy.objects.get_or_create(code="score-bench", defaults={"name": "2/72"})
    return grids, units, categories, policy


def build(count: int, now: dt.datetime, seed: int = 12345) -> dict:
    """Insert `count` cases with their timelines, callbacks and co-handlers."""
    from django.db import connection, transaction

    from civicgrid.cases.choices import (
        Action,
        Channel,
        DeadlineStatus,
        Kind,
        Satisfaction,
        Solved,
        State,
        Urgency,
    )
    from civicgrid.cases.models import Case

    grids, units, categories, policy = _world()
    rnd = random.Random(seed)
    postgres = connection.vendor == "postgresql"
    adapt = connection.ops.adapt_datetimefield_value

    def value(v):
        if isinstance(v, dt.datetime):
            return v if postgres else adapt(v)
        return v

    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM cases_case")
        first_id = cursor.fetchone()[0] + 1
    case_fields = [f for f in Case._meta.concrete_fields]
    fixed = {f.attname: f.get_default() for f in case_fields}
    fixed.update(
        kind=Kind.COMPLAINT,
        title="占道经营",
        description="门口有人占道经营。",
        urgency=Urgency.NORMAL,
        policy_id=policy.pk,
        idempotency_key=None,
        anonymous=False,
        supervised=False,
        returns_locked=False,
    )
    event_fields = [
        "case_id",
        "at",
        "action",
        "from_state",
        "to_state",
        "unit_id",
        "reason",
        "data",
    ]
    callback_fields = ["case_id", "at", "method", "contacted", "solved", "satisfaction", "note"]
    handler_fields = ["case_id", "unit_id", "role", "assigned_at", "reply", "replied_at", "active"]
    states = [
        (State.CLOSED, 45),
        (State.CALLBACK_DONE, 12),
        (State.RESOLVED, 10),
        (State.ACCEPTED, 12),
        (State.DISPATCHED, 10),
        (State.RETURNED, 3),
        (State.INVALID, 5),
        (State.MERGED, 3),
    ]
    population = [s for s, w in states for _ in range(w)]
    span = 365 * 24 * 3600
    counts = {"cases": 0, "events": 0, "callbacks": 0, "co_handlers": 0}
    hour = dt.timedelta(hours=1)

    def rows():
        for i in range(count):
            pk = first_id + i
            received = now - dt.timedelta(seconds=rnd.randrange(span))
            grid = grids[rnd.randrange(len(grids))]
            unit = units[
                min(int(rnd.paretovariate(1.2)) - 1, UNITS - 1)
                if rnd.random() < 0.5
                else rnd.randrange(UNITS)
            ]
            state = population[rnd.randrange(len(population))]
            proactive = rnd.random() < 0.04
            accepted = state in {State.CLOSED, State.CALLBACK_DONE, State.RESOLVED, State.ACCEPTED}
            resolved = state in {State.CLOSED, State.CALLBACK_DONE, State.RESOLVED}
            accept_at = received + hour * rnd.choice([0.5, 1, 1.5, 1.9, 3, 8])
            resolve_at = received + hour * rnd.choice([10, 24, 48, 70, 90, 200])
            reopened = resolved and rnd.random() < 0.04
            c = dict(fixed)
            c.update(
                id=pk,
                number=f"{PREFIX}{pk:010d}",
                channel=Channel.PROACTIVE if proactive else Channel.HOTLINE,
                category_id=categories[rnd.randrange(CATEGORIES)].pk,
                grid_id=grid.pk,
                area_path=grid.path,
                lead_unit_id=unit.pk,
                state=state,
                received_at=received,
                dispatched_at=received + 0.1 * hour,
                accepted_at=accept_at if accepted else None,
                resolved_at=resolve_at if resolved else None,
                closed_at=resolve_at + 24 * hour if state == State.CLOSED else None,
                respond_due_at=received + 2 * hour,
                resolve_due_at=received + 72 * hour,
                clock_started_at=received,
                deadline_status=DeadlineStatus.OVERDUE
                if state in {State.DISPATCHED, State.RETURNED} and rnd.random() < 0.5
                else DeadlineStatus.ON_TIME,
                reopen_count=1 if reopened else 0,
                return_count=0,
            )
            events = [
                (pk, received, Action.RECEIVE, "", State.RECEIVED, None, "", "{}"),
                (
                    pk,
                    received + 0.1 * hour,
                    Action.DISPATCH,
                    State.RECEIVED,
                    State.DISPATCHED,
                    unit.pk,
                    "",
                    "{}",
                ),
            ]
            if state == State.RETURNED or rnd.random() < 0.03:
                events.append(
                    (
                        pk,
                        received + 0.5 * hour,
                        Action.RETURN,
                        State.DISPATCHED,
                        State.RETURNED,
                        unit.pk,
                        "不在辖区",
                        "{}",
                    )
                )
                c["return_count"] = 1
                if state != State.RETURNED:
                    # Ruled back to the same unit (unjustified) one time in three.
                    ruled = unit.pk
                    events.append(
                        (
                            pk,
                            received + 0.6 * hour,
                            Action.RULE,
                            State.RETURNED,
                            State.DISPATCHED,
                            ruled,
                            "审定",
                            f'{{"from_unit": {unit.pk if rnd.random() < 0.34 else 0}}}',
                        )
                    )
            if accepted:
                events.append(
                    (
                        pk,
                        accept_at,
                        Action.ACCEPT,
                        State.DISPATCHED,
                        State.ACCEPTED,
                        unit.pk,
                        "",
                        "{}",
                    )
                )
            if resolved:
                events.append(
                    (
                        pk,
                        resolve_at,
                        Action.RESOLVE,
                        State.ACCEPTED,
                        State.RESOLVED,
                        unit.pk,
                        "已处理",
                        "{}",
                    )
                )
            callback = None
            if state in {State.CLOSED, State.CALLBACK_DONE}:
                solved = rnd.choices(
                    [Solved.SOLVED, Solved.PARTLY, Solved.NOT_SOLVED], [85, 10, 5]
                )[0]
                satisfaction = rnd.choices(
                    [
                        Satisfaction.SATISFIED,
                        Satisfaction.BASIC,
                        Satisfaction.DISSATISFIED,
                        Satisfaction.NO_ANSWER,
                    ],
                    [80, 10, 6, 4],
                )[0]
                callback = (
                    pk,
                    resolve_at + 20 * hour,
                    "phone",
                    rnd.random() < 0.95,
                    solved,
                    satisfaction,
                    "",
                )
            co = None
            if rnd.random() < 0.1:
                other = units[rnd.randrange(UNITS)]
                if other.pk != unit.pk:
                    co = (
                        pk,
                        other.pk,
                        "co",
                        received + 0.1 * hour,
                        "",
                        (received + 5 * hour) if rnd.random() < 0.7 else None,
                        True,
                    )
            yield [c[f.attname] for f in case_fields], events, callback, co

    def insert(cursor, table, columns, batch):
        if not batch:
            return
        if postgres:
            with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in batch:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(columns))
            cursor.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                [[value(v) for v in row] for row in batch],
            )
        batch.clear()

    case_columns = [f.column for f in case_fields]

    def flush(cursor, cases, events, callbacks, handlers):
        counts["events"] += len(events)
        counts["callbacks"] += len(callbacks)
        counts["co_handlers"] += len(handlers)
        insert(cursor, "cases_case", case_columns, cases)
        insert(cursor, "cases_caseevent", event_fields, events)
        insert(cursor, "cases_callback", callback_fields, callbacks)
        insert(cursor, "cases_casehandler", handler_fields, handlers)

    # One transaction per COMMIT_EVERY cases: a single one over 10 million cases keeps every
    # written page in SQLite's WAL (no checkpoint can pass an open transaction).
    cases, events, callbacks, handlers = [], [], [], []
    generated = rows()
    done = False
    while not done:
        with transaction.atomic(), connection.cursor() as cursor:
            for _ in range(COMMIT_EVERY):
                item = next(generated, None)
                if item is None:
                    done = True
                    break
                case, evs, callback, co = item
                cases.append(case)
                events.extend(evs)
                if callback:
                    callbacks.append(callback)
                if co:
                    handlers.append(co)
                counts["cases"] += 1
                if len(cases) >= 20_000:
                    flush(cursor, cases, events, callbacks, handlers)
            flush(cursor, cases, events, callbacks, handlers)
        if counts["cases"] % 1_000_000 == 0 and not done:
            print(f"  built {counts['cases']:,} cases", flush=True)
    if postgres:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('cases_case', 'id'), "
                "(SELECT MAX(id) FROM cases_case))"
            )
    if postgres:
        with connection.cursor() as cursor:
            for table in ("cases_case", "cases_caseevent", "cases_callback", "cases_casehandler"):
                cursor.execute(f"ANALYZE {table}")
    return counts


def change(n: int, now: dt.datetime, seed: int = 7) -> int:
    """Resolve `n` accepted cases now (an UPDATE and a RESOLVE event each, in bulk)."""
    from django.db import connection, transaction

    from civicgrid.cases.choices import Action, State
    from civicgrid.cases.models import Case

    ids = list(
        Case.objects.filter(number__startswith=PREFIX, state=State.ACCEPTED)
        .order_by("id")
        .values_list("id", "lead_unit_id")[: n * 3]
    )
    random.Random(seed).shuffle(ids)
    ids = ids[:n]
    postgres = connection.vendor == "postgresql"
    at = now if postgres else connection.ops.adapt_datetimefield_value(now)
    with transaction.atomic(), connection.cursor() as cursor:
        for start in range(0, len(ids), 5000):
            chunk = ids[start : start + 5000]
            marks = ", ".join(["%s"] * len(chunk))
            cursor.execute(
                f"UPDATE cases_case SET state = %s, resolved_at = %s, version = version + 1 "
                f"WHERE id IN ({marks})",
                [State.RESOLVED, at, *[pk for pk, _u in chunk]],
            )
        cursor.executemany(
            "INSERT INTO cases_caseevent (case_id, at, action, from_state, to_state, unit_id, "
            "reason, data) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            [
                (pk, at, Action.RESOLVE, State.ACCEPTED, State.RESOLVED, unit, "已处理", "{}")
                for pk, unit in ids
            ],
        )
    return len(ids)


def raw_scorecard(definition: dict, per) -> dict[int, dict]:
    """Every unit's scorecard row for `per` from the raw aggregate query (no rollups)."""
    from civicgrid.scoring import raw, scorecards
    from civicgrid.scoring.models import MEASURES

    w = float(definition.get("co_handler_weight", 0))

    def by_unit(p):
        out: dict[int, dict[str, float]] = {}
        for (unit, role), m in raw.unit_measures(p.start, p.end).items():
            if not unit:
                continue
            target = out.setdefault(unit, dict.fromkeys(MEASURES, 0.0))
            factor = 1.0 if role == "lead" else w
            for k in MEASURES:
                target[k] += factor * m[k]
        return out

    current, before = by_unit(per), by_unit(per.previous())
    rows = {}
    for unit, m in current.items():
        row = scorecards.score(m, definition)
        prev = before.get(unit)
        row["previous_total"] = scorecards.score(prev, definition)["total"] if prev else None
        rows[unit] = row
    return rows


def agree(card: dict, raw_rows: dict[int, dict]) -> bool:
    live = {r["id"]: r for r in card["rows"]}
    if set(live) != set(raw_rows):
        return False
    for pk, r in raw_rows.items():
        mine = live[pk]
        if mine["total"] != r["total"] or mine["rates"] != r["rates"]:
            return False
        if mine["previous_total"] != r["previous_total"]:
            return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--ten-million", action="store_true", help="10,000,000 cases")
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep the cases and rollups of the last run (same database): time only 2-4",
    )
    args = parser.parse_args()
    count = 10_000_000 if args.ten_million else args.cases
    name = "scorecard" + ("_postgres" if args.postgres else "")
    if count != 1_000_000:
        name += f"_{count}"

    if args.postgres:
        setup_postgres()
    elif args.reuse:
        path = Path(__file__).resolve().parent.parent / "var" / "bench" / f"{name}.sqlite3"
        if not path.exists():
            sys.exit(f"--reuse needs {path} from an earlier run")
        os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
        os.environ["CIVICGRID_DATABASE_URL"] = f"sqlite:///{path}"
        import django

        django.setup()
    else:
        setup_django(name)

    from django.db import connection

    from civicgrid.core import clock
    from civicgrid.scoring import presets, rollups, scorecards
    from civicgrid.scoring.models import PeriodKind, RollupCount, Subject, UnitDayCount

    now = clock.now()
    if args.reuse:
        import json

        from civicgrid.cases.models import Callback, Case, CaseEvent, CaseHandler

        earlier = json.loads((RESULTS / f"{name}.json").read_text())
        built = {
            "cases": Case.objects.count(),
            "events": CaseEvent.objects.count(),
            "callbacks": Callback.objects.count(),
            "co_handlers": CaseHandler.objects.count(),
        }
        rollups.refresh()
        build_seconds, rebuild_seconds = earlier["build_seconds"], earlier["rebuild_seconds"]
    else:
        if args.postgres:
            cleanup()
        with timer() as build_time:
            built = build(count, now)
        print(f"built {built}", flush=True)
        with timer() as rebuild_time:
            rollups.rebuild()
        build_seconds, rebuild_seconds = build_time.seconds, rebuild_time.seconds
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for table in (
                "scoring_rollupcount",
                "scoring_unitdaycount",
                "scoring_areadaycount",
                "scoring_casefacts",
            ):
                cursor.execute(f"ANALYZE {table}")
    print(f"rebuilt in {rebuild_seconds:.1f}s", flush=True)

    # The last full month (the busiest: every month of the year is about as full).
    first = clock.today().replace(day=1)
    per = scorecards.period(PeriodKind.MONTH, first - dt.timedelta(days=1))
    definition = presets.get("zhungeer").definition
    card = scorecards.compute(definition, per, Subject.UNIT)
    raw_rows = raw_scorecard(definition, per)
    equal = agree(card, raw_rows)
    rollup_seconds = best_of(3, lambda: scorecards.compute(definition, per, Subject.UNIT))
    raw_seconds = best_of(3, lambda: raw_scorecard(definition, per))
    month_cases = int(card["overall"]["counts"]["total"])

    # 10,000 cases change; the incremental refresh recounts them.
    changed = change(CHANGES, now)
    with timer() as refresh_time:
        refreshed = rollups.refresh()
    card_after = scorecards.compute(definition, per, Subject.UNIT)
    equal_after = agree(card_after, raw_scorecard(definition, per))

    ratio = raw_seconds / rollup_seconds if rollup_seconds else float("inf")
    print_table(
        ["step", "seconds", "rows", "note"],
        [
            [
                "build (raw insert)",
                build_seconds,
                built["cases"],
                f"{built['events']:,} events",
            ],
            ["refresh_rollups --full", rebuild_seconds, built["cases"], "every case"],
            ["scorecard from rollups", rollup_seconds, len(card["rows"]), "units, best of 3"],
            ["scorecard by raw query", raw_seconds, len(raw_rows), "units, best of 3"],
            [
                "incremental refresh",
                refresh_time.seconds,
                refreshed["changed"],
                f"{changed:,} changed",
            ],
        ],
        title=f"Month's scorecard of every unit over {built['cases']:,} cases "
        f"({per.label}: {month_cases:,} cases), {connection.vendor}",
    )
    print(
        f"raw / rollups = {ratio:,.0f}x; same figures: {equal} (after the changes: {equal_after}); "
        f"rollup rows {RollupCount.objects.count():,} + {UnitDayCount.objects.count():,}; "
        f"peak memory {peak_rss_mb():.0f} MB"
    )
    data = {
        "cases": built["cases"],
        "events": built["events"],
        "callbacks": built["callbacks"],
        "co_handlers": built["co_handlers"],
        "month": per.label,
        "month_cases": month_cases,
        "units": len(card["rows"]),
        "build_seconds": round(build_seconds, 1),
        "rebuild_seconds": round(rebuild_seconds, 1),
        "reused": args.reuse,
        "scorecard_rollups_seconds": round(rollup_seconds, 4),
        "scorecard_raw_seconds": round(raw_seconds, 3),
        "ratio": round(ratio, 1),
        "same_figures": equal,
        "changes": changed,
        "incremental_refresh_seconds": round(refresh_time.seconds, 2),
        "incremental_changed": refreshed["changed"],
        "same_figures_after_changes": equal_after,
        "rollup_rows": RollupCount.objects.count(),
        "unit_day_rows": UnitDayCount.objects.count(),
        "peak_rss_mb": round(peak_rss_mb()),
        "environment": environment(),
    }
    path = write_results(name, data)
    print(f"wrote {path.relative_to(Path(__file__).resolve().parent.parent)}")
    if args.postgres and not args.reuse:
        cleanup()
    if not (equal and equal_after):
        sys.exit("the rollups and the raw query disagree")


if __name__ == "__main__":
    main()
