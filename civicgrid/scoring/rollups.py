"""Rollups: the count tables behind scorecards and dashboards, how they stay exact, and how to
read them.

Writing (this module is the only writer):
- `refresh_cases(ids)` recounts the given cases: their facts are recomputed (`facts.py`), the
  count rows they fell into are decremented by the old facts and incremented by the new ones
  (`INSERT ... ON CONFLICT DO UPDATE SET n = n + excluded.n`, one statement per batch), and the
  facts rows replaced, all in one transaction. Recounting an unchanged case is a zero change,
  so refreshing too often is only ever wasted time, never a wrong figure.
- `refresh()` finds the changed cases without any write on the request path: every change of
  a case writes a `CaseEvent` (transitions, intake, the sweeper, imports, the demo), so the
  cases with events above the watermark are the changed ones. On PostgreSQL ids are taken
  before commit, so an event with a lower id can become visible after a higher one: each
  refresh looks `ROLLUP_EVENT_WINDOW` ids back below the watermark (a recount costs nothing).
  Cases with no facts yet (bulk-written without events) are picked up too.
- `rebuild()` recounts everything from scratch (`manage.py refresh_rollups --full`).
- `refresh_rollups --loop N` is the background refresher (like the deadline sweeper): the
  counts follow the cases within N seconds, and nothing is added to the request path.

Refreshes take a lock (the `RollupState` row, updated first) so two never interleave.

Three count tables: `RollupCount` (day × unit × role × area × category × channel × kind, the
fine one), `UnitDayCount` (day × unit × role) and `AreaDayCount` (day × area, lead rows only:
each case once). Every refresh and rebuild writes all three from the same facts; `counts`
reads the smallest one that answers the question.

Reading (for scorecards, dashboards and insights; plain dicts, no model instances):
- `counts(...)`: summed measures over a date range and a scope, grouped by any of
  `GROUP_BY`; `totals(...)` is the same without grouping;
- `case_ids(measure, ...)`: the cases counted in one measure under the same filters, for
  "show me the cases behind this figure".
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Max, Min, Q, Sum

from civicgrid.cases.models import Case, CaseEvent
from civicgrid.core import clock
from civicgrid.core.scoping import Scope
from civicgrid.scoring.facts import AreaLevels, Facts, compute_facts, compute_facts_range
from civicgrid.scoring.models import (
    MEASURES,
    AreaDayCount,
    CaseFacts,
    CoHandlerFacts,
    Role,
    RollupCount,
    RollupState,
    UnitDayCount,
)

STATE_KEY = "cases"
BATCH = 2000

_DETAIL_KEY = ("day", "unit_id", "role", "area_id", "category_id", "channel", "kind")
_DETAIL_ATTRS = ("area_path", "street_id", "community_id")
_UNIT_KEY = ("day", "unit_id", "role")
_AREA_KEY = ("day", "area_id")


def event_window() -> int:
    return getattr(settings, "ROLLUP_EVENT_WINDOW", 1000)


# --- writing ------------------------------------------------------------------------------


def _rows_of(f: Facts) -> list[tuple[str, dict[str, int], int]]:
    """(role, measures, unit) for each count row a case falls into: its lead row, then one co
    row per co-handling unit."""
    rows = [(Role.LEAD, f.measures, f.unit_id)]
    for unit_id, replied in sorted(f.co.items()):
        rows.append((Role.CO, f.co_measures(replied), unit_id))
    return rows


class _Delta:
    """Changes to the three count tables, summed by key."""

    def __init__(self) -> None:
        self.detail: dict[tuple, list[int]] = {}
        self.detail_attrs: dict[tuple, tuple] = {}
        self.unit: dict[tuple, list[int]] = {}
        self.area: dict[tuple, list[int]] = {}
        self.area_attrs: dict[tuple, tuple] = {}

    def add(self, f: Facts, sign: int) -> None:
        attrs = (f.area_path, f.street_id, f.community_id)
        for role, measures, unit_id in _rows_of(f):
            vector = [sign * measures[m] for m in MEASURES]
            key = (f.day, unit_id, str(role), f.area_id, f.category_id, f.channel, f.kind)
            self.detail_attrs[key] = attrs
            _accumulate(self.detail, key, vector)
            _accumulate(self.unit, (f.day, unit_id, str(role)), vector)
            if role == Role.LEAD:
                # The area table counts each case once, by its lead row.
                self.area_attrs[(f.day, f.area_id)] = attrs
                _accumulate(self.area, (f.day, f.area_id), vector)

    def apply(self) -> None:
        empty = _upsert(
            RollupCount,
            _DETAIL_KEY,
            _DETAIL_ATTRS,
            [(k, self.detail_attrs[k], v) for k, v in self.detail.items() if any(v)],
        )
        empty_units = _upsert(
            UnitDayCount, _UNIT_KEY, (), [(k, (), v) for k, v in self.unit.items() if any(v)]
        )
        empty_areas = _upsert(
            AreaDayCount,
            _AREA_KEY,
            _DETAIL_ATTRS,
            [(k, self.area_attrs[k], v) for k, v in self.area.items() if any(v)],
        )
        # A key whose every case moved away counts nothing: drop it.
        for model, ids in (
            (RollupCount, empty),
            (UnitDayCount, empty_units),
            (AreaDayCount, empty_areas),
        ):
            for start in range(0, len(ids), 5000):
                model.objects.filter(pk__in=ids[start : start + 5000]).delete()


def _accumulate(table: dict, key: tuple, vector: list[int]) -> None:
    current = table.get(key)
    if current is None:
        table[key] = list(vector)
    else:
        for i, v in enumerate(vector):
            current[i] += v


def _upsert(model, key: Sequence[str], attrs: Sequence[str], rows: list) -> list[int]:
    """Add each row's vector to the row with its key, creating it when missing. Returns the
    ids of the rows that now count nothing (`total` 0)."""
    empty: list[int] = []
    if not rows:
        return empty
    table = connection.ops.quote_name(model._meta.db_table)
    columns = [*key, *attrs, *MEASURES]
    quoted = [connection.ops.quote_name(c) for c in columns]
    updates = ", ".join(
        f"{connection.ops.quote_name(m)} = {table}.{connection.ops.quote_name(m)} "
        f"+ excluded.{connection.ops.quote_name(m)}"
        for m in MEASURES
    )
    placeholder = "(" + ", ".join(["%s"] * len(columns)) + ")"
    per_statement = max(1, 30000 // len(columns))
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            params: list = []
            for k, a, v in chunk:
                params += [*k, *a, *v]
            cursor.execute(
                f"INSERT INTO {table} ({', '.join(quoted)}) VALUES "
                f"{', '.join([placeholder] * len(chunk))} "
                f"ON CONFLICT ({', '.join(connection.ops.quote_name(c) for c in key)}) "
                f"DO UPDATE SET {updates} RETURNING id, total",
                params,
            )
            empty += [pk for pk, total in cursor.fetchall() if total == 0]
    return empty


def _stored_facts(ids: list[int]) -> dict[int, Facts]:
    co: dict[int, dict[int, bool]] = defaultdict(dict)
    for case_id, unit_id, replied in CoHandlerFacts.objects.filter(case_id__in=ids).values_list(
        "case_id", "unit_id", "replied"
    ):
        co[case_id][unit_id] = replied
    result = {}
    for row in CaseFacts.objects.filter(case_id__in=ids).values():
        result[row["case_id"]] = Facts(
            case_id=row["case_id"],
            day=row["day"],
            unit_id=row["unit_id"],
            area_id=row["area_id"],
            area_path=row["area_path"],
            street_id=row["street_id"],
            community_id=row["community_id"],
            category_id=row["category_id"],
            channel=row["channel"],
            kind=row["kind"],
            measures={m: row[m] for m in MEASURES},
            co=dict(co.get(row["case_id"], {})),
        )
    return result


_FACT_COLUMNS = (
    "case_id",
    "day",
    "unit_id",
    "area_id",
    "area_path",
    "street_id",
    "community_id",
    "category_id",
    "channel",
    "kind",
    "counted_at",
    *MEASURES,
)


def _insert_facts(facts: Iterable[Facts], now: dt.datetime) -> None:
    """Write the facts rows (one INSERT per batch: the model layer's per-field work is the
    bulk of a rebuild otherwise)."""
    ops = connection.ops
    at = ops.adapt_datetimefield_value(now)
    cases, co = [], []
    for f in facts:
        cases.append(
            (
                f.case_id,
                ops.adapt_datefield_value(f.day),
                f.unit_id,
                f.area_id,
                f.area_path,
                f.street_id,
                f.community_id,
                f.category_id,
                f.channel,
                f.kind,
                at,
                *(f.measures[m] for m in MEASURES),
            )
        )
        co += [(f.case_id, u, r) for u, r in f.co.items()]
    with connection.cursor() as cursor:
        for table, columns, rows in (
            (CaseFacts._meta.db_table, _FACT_COLUMNS, cases),
            (CoHandlerFacts._meta.db_table, ("case_id", "unit_id", "replied"), co),
        ):
            if not rows:
                continue
            marks = "(" + ", ".join(["%s"] * len(columns)) + ")"
            per = max(1, 30000 // len(columns))
            for start in range(0, len(rows), per):
                chunk = rows[start : start + per]
                cursor.execute(
                    f"INSERT INTO {ops.quote_name(table)} "
                    f"({', '.join(ops.quote_name(c) for c in columns)}) "
                    f"VALUES {', '.join([marks] * len(chunk))}",
                    [v for row in chunk for v in row],
                )


def _same(a: Facts, b: Facts) -> bool:
    return a == b


def _lock() -> RollupState:
    """Take the refresh lock: the first write of the transaction, on the state row."""
    now = clock.now()
    if not RollupState.objects.filter(key=STATE_KEY).update(refreshed_at=now):
        RollupState.objects.get_or_create(key=STATE_KEY, defaults={"refreshed_at": now})
    return RollupState.objects.select_for_update().get(key=STATE_KEY)


def _recount(ids: list[int], levels: AreaLevels) -> int:
    """Recount `ids` (inside the lock). Returns how many cases changed."""
    changed = 0
    now = clock.now()
    for start in range(0, len(ids), BATCH):
        batch = ids[start : start + BATCH]
        old = _stored_facts(batch)
        new = compute_facts(batch, levels)
        delta = _Delta()
        moved = []
        for pk in batch:
            before, after = old.get(pk), new.get(pk)
            if before is not None and after is not None and _same(before, after):
                continue
            if before is not None:
                delta.add(before, -1)
            if after is not None:
                delta.add(after, +1)
            moved.append(pk)
        if not moved:
            continue
        changed += len(moved)
        delta.apply()
        CaseFacts.objects.filter(case_id__in=moved).delete()
        CoHandlerFacts.objects.filter(case_id__in=moved).delete()
        _insert_facts((new[pk] for pk in moved if pk in new), now)
    return changed


@transaction.atomic
def refresh_cases(case_ids: Iterable[int]) -> int:
    """Recount these cases now (they changed, or were deleted). Returns how many changed."""
    ids = sorted(set(case_ids))
    if not ids:
        return 0
    _lock()
    return _recount(ids, AreaLevels())


@transaction.atomic
def refresh() -> dict[str, int]:
    """Recount every case changed since the last refresh (the incremental refresh)."""
    state = _lock()
    top = CaseEvent.objects.aggregate(top=Max("id"))["top"] or 0
    since = max(0, state.last_event_id - event_window())
    ids = set(
        CaseEvent.objects.filter(id__gt=since, id__lte=top)
        .values_list("case_id", flat=True)
        .distinct()
    )
    # Cases written in bulk without a timeline event: newer than every counted case.
    newest = CaseFacts.objects.aggregate(top=Max("case_id"))["top"] or 0
    ids.update(Case.objects.filter(pk__gt=newest).values_list("pk", flat=True))
    changed = _recount(sorted(ids), AreaLevels())
    RollupState.objects.filter(key=STATE_KEY).update(last_event_id=top, refreshed_at=clock.now())
    return {"checked": len(ids), "changed": changed, "watermark": top}


@transaction.atomic
def rebuild(*, progress=None) -> dict[str, int]:
    """Recount every case from scratch (drops and refills the facts and count tables).

    The facts are computed as always (`facts.py`, walking the case ids in ranges), then each
    count table is one `INSERT ... SELECT ... GROUP BY` over the facts: the database sums
    millions of rows far faster than the per-key upserts of an incremental refresh."""
    _lock()
    top = CaseEvent.objects.aggregate(top=Max("id"))["top"] or 0
    for model in (RollupCount, UnitDayCount, AreaDayCount, CaseFacts, CoHandlerFacts):
        model.objects.all().delete()
    levels = AreaLevels()
    bounds = Case.objects.aggregate(lo=Min("id"), hi=Max("id"), n=Count("id"))
    now = clock.now()
    done = 0
    lo = bounds["lo"] or 0
    while bounds["hi"] is not None and lo <= bounds["hi"]:
        facts = compute_facts_range(lo, lo + BATCH, levels)
        lo += BATCH
        _insert_facts(facts.values(), now)
        done += len(facts)
        if progress and (done % 50_000 < len(facts) or lo > bounds["hi"]):
            progress(done, bounds["n"])
    _count_from_facts()
    RollupState.objects.filter(key=STATE_KEY).update(
        last_event_id=top, refreshed_at=clock.now(), full_at=clock.now()
    )
    return {"checked": bounds["n"], "changed": bounds["n"], "watermark": top}


def _co_measure(m: str) -> str:
    """A co row's measure as SQL over `f` (the case's facts) and `co` (its co-handler row):
    what `Facts.co_measures` computes for one case."""
    if m in ("response_due",):
        return "f.scored"
    if m == "responded_on_time":
        return "CASE WHEN co.replied THEN f.scored ELSE 0 END"
    if m == "co_replied":
        return "CASE WHEN co.replied THEN 1 ELSE 0 END"
    if m in ("returned", "returns", "returns_unjustified"):
        return "0"
    return f"f.{connection.ops.quote_name(m)}"


def _count_from_facts() -> None:
    """Fill the three (empty) count tables from the facts tables."""
    q = connection.ops.quote_name
    facts, co_facts = q(CaseFacts._meta.db_table), q(CoHandlerFacts._meta.db_table)
    detail, unit, area = (q(m._meta.db_table) for m in (RollupCount, UnitDayCount, AreaDayCount))
    measures = [q(m) for m in MEASURES]
    sums = ", ".join(f"SUM({m})" for m in measures)
    key = "day, unit_id, role, area_id, category_id, channel, kind"
    lead = (
        f"SELECT f.day, f.unit_id, '{Role.LEAD}' AS role, f.area_id, f.category_id, f.channel, "
        f"f.kind, f.area_path, f.street_id, f.community_id, "
        + ", ".join(f"f.{m} AS {m}" for m in measures)
        + f" FROM {facts} f"
    )
    co = (
        f"SELECT f.day, co.unit_id, '{Role.CO}' AS role, f.area_id, f.category_id, f.channel, "
        f"f.kind, f.area_path, f.street_id, f.community_id, "
        + ", ".join(f"{_co_measure(m)} AS {q(m)}" for m in MEASURES)
        + f" FROM {co_facts} co JOIN {facts} f ON f.case_id = co.case_id"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {detail} ({key}, area_path, street_id, community_id, "
            f"{', '.join(measures)}) "
            f"SELECT {key}, MAX(area_path), MAX(street_id), MAX(community_id), {sums} "
            f"FROM ({lead} UNION ALL {co}) counted GROUP BY {key}"
        )
        cursor.execute(
            f"INSERT INTO {unit} (day, unit_id, role, {', '.join(measures)}) "
            f"SELECT day, unit_id, role, {sums} FROM {detail} GROUP BY day, unit_id, role"
        )
        cursor.execute(
            f"INSERT INTO {area} (day, area_id, area_path, street_id, community_id, "
            f"{', '.join(measures)}) "
            f"SELECT day, area_id, MAX(area_path), MAX(street_id), MAX(community_id), {sums} "
            f"FROM {detail} WHERE role = %s GROUP BY day, area_id",
            [str(Role.LEAD)],
        )


# --- reading ------------------------------------------------------------------------------

GROUP_BY = {
    "day": "day",
    "week": "day",
    "month": "day",
    "unit": "unit_id",
    "role": "role",
    "area": "area_id",
    "street": "street_id",
    "community": "community_id",
    "category": "category_id",
    "channel": "channel",
    "kind": "kind",
}


def _bucket(day: dt.date, by: str) -> dt.date:
    if by == "week":
        return day - dt.timedelta(days=day.weekday())
    if by == "month":
        return day.replace(day=1)
    return day


def _filter_q(
    *,
    start: dt.date | None,
    end: dt.date | None,
    scope: Scope | None,
    scope_paths: Iterable[str] | None,
    unit_ids: Iterable[int] | None,
    area_path: str | None,
    role: str | None,
    categories: Iterable[int] | None,
    channels: Iterable[str] | None,
    kinds: Iterable[str] | None,
    path_field: str = "area_path",
) -> Q:
    q = Q()
    if start is not None:
        q &= Q(day__gte=start)
    if end is not None:
        q &= Q(day__lte=end)
    if scope is not None:
        q &= scope_q(scope, path_field=path_field)
    if scope_paths is not None:
        paths = Q(pk__in=[])
        for p in scope_paths:
            paths |= Q(**{f"{path_field}__startswith": p})
        q &= paths
    if unit_ids is not None:
        q &= Q(unit_id__in=list(unit_ids))
    if area_path:
        q &= Q(**{f"{path_field}__startswith": area_path})
    if role is not None:
        q &= Q(role=role)
    if categories is not None:
        q &= Q(category_id__in=list(categories))
    if channels is not None:
        q &= Q(channel__in=list(channels))
    if kinds is not None:
        q &= Q(kind__in=list(kinds))
    return q


def _counts_units(scope: Scope) -> bool:
    """Whether `scope_q(scope)` counts rows by handling unit (only the fine table has units)."""
    return (
        not scope.everything
        and scope.can("cases.view")
        and bool(scope.unit_ids)
        and "cases.view" in scope.unit_capabilities
    )


def scope_q(scope: Scope, *, path_field: str = "area_path") -> Q:
    """Rows a caller with `scope` may count: the cases they may see (cases.view) by area role,
    plus those of their own handling units. Everything for an administrator."""
    if scope.everything:
        return Q()
    q = Q(pk__in=[])
    if scope.can("cases.view"):
        for p in scope.capability_role_paths.get("cases.view", ()):
            q |= Q(**{f"{path_field}__startswith": p})
        if scope.unit_ids and "cases.view" in scope.unit_capabilities:
            q |= Q(unit_id__in=list(scope.unit_ids))
    return q


def counts(
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    group_by: Sequence[str] = (),
    scope: Scope | None = None,
    scope_paths: Iterable[str] | None = None,
    unit_ids: Iterable[int] | None = None,
    area_path: str | None = None,
    role: str | None = Role.LEAD,
    categories: Iterable[int] | None = None,
    channels: Iterable[str] | None = None,
    kinds: Iterable[str] | None = None,
    measures: Sequence[str] = MEASURES,
) -> list[dict]:
    """Summed measures of the cases received from `start` to `end` (inclusive dates).

    Filters combine with AND: `scope` (a caller's `core.scoping.Scope`: only what they may see),
    `scope_paths` (area path prefixes), `unit_ids`, `area_path` (one subtree), `role` (`"lead"`,
    the default, counts each case once; `"co"` the co-handling rows; None both), category ids,
    channels, kinds. `group_by` takes any of `GROUP_BY` (`day`, `week` (Monday), `month` (the
    1st), `unit`, `role`, `area`, `street`, `community`, `category`, `channel`, `kind`).

    Returns one dict per group: the group keys (`day` / `week` / `month` as dates, `unit`,
    `area`, ... as ids, 0 for none) and the measures. Sorted by the group keys.
    Unit-only queries (no area, category, channel or kind grouping or filter) read the small
    unit-day table; lead-only queries by area and day (grouped by nothing but the day, week,
    month, area, street or community, with no unit, category, channel or kind filter, and a
    scope without handling units) read the area-day table. Each gives the same sums as the
    fine table.
    """
    for g in group_by:
        if g not in GROUP_BY:
            raise ValueError(f"unknown group_by {g!r}; choose from {sorted(GROUP_BY)}")
    measures = [m for m in measures if m in MEASURES]
    fine = {"area", "street", "community", "category", "channel", "kind"}
    small = (
        not fine.intersection(group_by)
        and scope is None
        and scope_paths is None
        and area_path is None
        and categories is None
        and channels is None
        and kinds is None
    )
    by_area = (
        set(group_by) <= {"day", "week", "month", "area", "street", "community"}
        and role == Role.LEAD
        and unit_ids is None
        and categories is None
        and channels is None
        and kinds is None
        and (scope is None or not _counts_units(scope))
    )
    model = UnitDayCount if small else AreaDayCount if by_area else RollupCount
    q = _filter_q(
        start=start,
        end=end,
        scope=scope,
        scope_paths=scope_paths,
        unit_ids=unit_ids,
        area_path=area_path,
        role=None if model is AreaDayCount else role,  # the area table is lead rows only
        categories=categories,
        channels=channels,
        kinds=kinds,
    )
    columns = sorted({GROUP_BY[g] for g in group_by})
    qs = model.objects.filter(q).order_by()
    if columns:
        qs = qs.values(*columns)
    rows = (
        qs.annotate(**{m: Sum(m) for m in measures})
        if columns
        else [qs.aggregate(**{m: Sum(m) for m in measures})]
    )
    out: dict[tuple, dict] = {}
    for row in rows:
        key_values = {}
        for g in group_by:
            value = row[GROUP_BY[g]]
            key_values[g] = _bucket(value, g) if g in {"day", "week", "month"} else value
        key = tuple(key_values[g] for g in group_by)
        target = out.get(key)
        if target is None:
            out[key] = target = {**key_values, **dict.fromkeys(measures, 0)}
        for m in measures:
            target[m] += row[m] or 0
    return [out[k] for k in sorted(out, key=lambda k: tuple((v is None, v) for v in k))]


def totals(**filters) -> dict:
    """`counts(...)` without grouping: one dict of measures."""
    filters.pop("group_by", None)
    return counts(**filters)[0]


def case_ids(
    measures: str | Sequence[str],
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    scope: Scope | None = None,
    unit_id: int | None = None,
    role: str = Role.LEAD,
    area_path: str | None = None,
    categories: Iterable[int] | None = None,
    channels: Iterable[str] | None = None,
    kinds: Iterable[str] | None = None,
):
    """A queryset of the ids of the cases counted in any of `measures` under these filters
    (the explanation of a figure: its numerator's or denominator's cases). Usable as a
    subquery: `Case.objects.filter(pk__in=case_ids(...))`."""
    if isinstance(measures, str):
        measures = (measures,)
    for measure in measures:
        if measure not in MEASURES:
            raise ValueError(f"unknown measure {measure!r}")
    q = _filter_q(
        start=start,
        end=end,
        scope=None,
        scope_paths=None,
        unit_ids=None,
        area_path=area_path,
        role=None,
        categories=categories,
        channels=channels,
        kinds=kinds,
    )
    qs = CaseFacts.objects.filter(q)
    if scope is not None and not scope.everything:
        # A co-handling unit sees the cases it co-handles, as in Case.scope_unit_q.
        visible = scope_q(scope)
        if scope.unit_ids and "cases.view" in scope.unit_capabilities:
            visible |= Q(
                case_id__in=CoHandlerFacts.objects.filter(unit_id__in=scope.unit_ids).values(
                    "case_id"
                )
            )
        qs = qs.filter(visible)
    any_of = Q(pk__in=[])
    if role == Role.CO:
        co = CoHandlerFacts.objects.all()
        if unit_id is not None:
            co = co.filter(unit_id=unit_id)
        qs = qs.filter(case_id__in=co.values("case_id"))
        replied = co.filter(replied=True).values("case_id")
        for measure in measures:
            # A co row's response is its reply; returns are the lead unit's, never a co row's.
            if measure in {"responded_on_time", "co_replied"}:
                any_of |= Q(case_id__in=replied, scored__gt=0)
            elif measure == "response_due":
                any_of |= Q(scored__gt=0)
            elif measure not in {"returned", "returns", "returns_unjustified"}:
                any_of |= Q(**{f"{measure}__gt": 0})
    else:
        if unit_id is not None:
            qs = qs.filter(unit_id=unit_id)
        for measure in measures:
            any_of |= Q(**{f"{measure}__gt": 0})
    return qs.filter(any_of).values_list("case_id", flat=True)


def last_refresh() -> dict:
    """When the rollups were last refreshed (incrementally / fully) and up to which event."""
    state = RollupState.objects.filter(key=STATE_KEY).first()
    if state is None:
        return {"refreshed_at": None, "full_at": None, "last_event_id": 0}
    return {
        "refreshed_at": state.refreshed_at,
        "full_at": state.full_at,
        "last_event_id": state.last_event_id,
    }
