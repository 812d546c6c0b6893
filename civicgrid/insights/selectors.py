"""Scoped reads for insight: hotspots, mining docs, topics, candidates, tasks, topic progress.

Everything starts from the caller's scope (`visible_to`, `scoring.rollups.counts(scope=...)`),
so a street never sees a neighbour's hotspots, candidates or topics. The dashboards call
`hotspot_report`, `topic_rows` and `topic_progress` as they are.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Count, Max, Min, Q, QuerySet
from django.db.models.functions import TruncMonth
from django.utils import timezone

from civicgrid.areas.models import Area
from civicgrid.cases.choices import Channel, State
from civicgrid.cases.models import Case, Category
from civicgrid.core import clock
from civicgrid.core.masking import mask_phone
from civicgrid.core.scoping import scope_of
from civicgrid.insights import hotspots
from civicgrid.insights.mining import Doc
from civicgrid.insights.models import MiningRun, ProactiveTask, Topic, TopicCandidate

# Levels a rise can be counted at, and the rollup column that holds each.
RISE_LEVELS = {"street": "street", "community": "community", "grid": "area"}
RESOLVED_STATES = (State.RESOLVED, State.CALLBACK_DONE, State.CLOSED)
# Cases that are not demand of their own: duplicates folded into another case, cases closed as
# invalid after review (核减), and the platform's own proactive work.
NOT_DEMAND = Q(state__in=(State.MERGED, State.INVALID)) | Q(channel=Channel.PROACTIVE)
MAX_MINING_CASES = 20_000
MAX_CLUSTER_CASES = 50_000
BEFORE_MONTHS = 6


def rise_rule() -> hotspots.RiseRule:
    return hotspots.RiseRule(
        baseline_weeks=settings.HOTSPOT_BASELINE_WEEKS,
        min_count=settings.HOTSPOT_MIN_COUNT,
        alpha=settings.HOTSPOT_ALPHA,
    )


def last_full_week(today: dt.date | None = None) -> dt.date:
    """Monday of the last complete ISO week (the current week is still filling)."""
    today = today or clock.today()
    return hotspots.monday(today) - dt.timedelta(weeks=1)


# --- hotspots -----------------------------------------------------------------------------------


@dataclass
class HotspotReport:
    week: dt.date
    level: str
    rule: hotspots.RiseRule
    rises: list[dict] = field(default_factory=list)
    clusters: list[dict] = field(default_factory=list)
    repeat_callers: list[dict] = field(default_factory=list)
    repeat_addresses: list[dict] = field(default_factory=list)
    window_start: dt.datetime | None = None
    window_end: dt.datetime | None = None
    phones_masked: bool = True

    @property
    def window_last_day(self) -> dt.date | None:
        """The last day of the window (its end is the exclusive midnight after it)."""
        if self.window_end is None:
            return None
        return timezone.localtime(self.window_end).date() - dt.timedelta(days=1)


def hotspot_report(
    user,
    *,
    week: dt.date | None = None,
    level: str = "community",
    category: Category | None = None,
    area: Area | None = None,
    include_unflagged: bool = False,
) -> HotspotReport:
    """Rises, clusters, repeat callers and repeat addresses in `user`'s scope (narrowed to
    `area` and `category` when given) for the ISO week of `week` (default: the last full week).
    The window of clusters and repeats is the `HOTSPOT_WINDOW_DAYS` days up to that week's end.
    """
    if level not in RISE_LEVELS:
        raise ValueError(f"level must be one of {sorted(RISE_LEVELS)}")
    week = hotspots.monday(week or last_full_week())
    rule = rise_rule()
    end_day = week + dt.timedelta(days=6)
    window_end = timezone.make_aware(dt.datetime.combine(end_day + dt.timedelta(days=1), dt.time()))
    window_start = window_end - dt.timedelta(days=settings.HOTSPOT_WINDOW_DAYS)
    report = HotspotReport(
        week=week, level=level, rule=rule, window_start=window_start, window_end=window_end
    )
    report.rises = _rises(user, week, level, rule, category, area, include_unflagged)
    cases = _window_cases(user, window_start, window_end, category, area)
    report.clusters = _clusters(cases)
    report.phones_masked = not scope_of(user).can("registry.reveal")
    report.repeat_callers = _repeat_callers(cases, masked=report.phones_masked)
    report.repeat_addresses = _repeat_addresses(cases)
    return report


def _rises(user, week, level, rule, category, area, include_unflagged) -> list[dict]:
    from civicgrid.scoring import rollups

    column = RISE_LEVELS[level]
    start = week - dt.timedelta(weeks=rule.baseline_weeks)
    rows = rollups.counts(
        start=start,
        end=week + dt.timedelta(days=6),
        group_by=("week", "category", column),
        scope=scope_of(user),
        area_path=area.path if area is not None else None,
        categories=[category.pk] if category is not None else None,
        measures=("total", "invalid", "merged", "proactive"),
    )
    series: dict[tuple[int, int], dict[dt.date, int]] = {}
    for row in rows:
        demand = row["total"] - row["invalid"] - row["merged"] - row["proactive"]
        if demand > 0 and row[column]:
            series.setdefault((row["category"], row[column]), {})[row["week"]] = demand
    rises = hotspots.weekly_rises(series, week, rule, flagged_only=not include_unflagged)
    categories = _names(Category, {r.category_id for r in rises})
    areas = {a.pk: a for a in Area.objects.filter(pk__in={r.area_id for r in rises})}
    out = []
    for r in rises:
        place = areas.get(r.area_id)
        out.append(
            {
                "category_id": r.category_id,
                "category": categories.get(r.category_id, "—"),
                "area_id": r.area_id,
                "area": place.name if place else "—",
                "area_path": place.path if place else "",
                "week": r.week,
                "week_end": r.week + dt.timedelta(days=6),
                "count": r.count,
                "baseline_mean": r.baseline_mean,
                "ratio": r.ratio,
                "p_value": r.p_value,
                "flagged": r.flagged,
                "history": r.history,
            }
        )
    return out


def _window_cases(user, start, end, category, area) -> QuerySet[Case]:
    cases = (
        Case.objects.visible_to(user)
        .filter(received_at__gte=start, received_at__lt=end)
        .exclude(NOT_DEMAND)
    )
    if category is not None:
        cases = cases.filter(category=category)
    if area is not None:
        cases = cases.filter(area_path__startswith=area.path)
    return cases


def _clusters(cases: QuerySet[Case]) -> list[dict]:
    rows = (
        cases.filter(lat__isnull=False, lon__isnull=False, category__isnull=False)
        .order_by()
        .values_list("id", "lat", "lon", "category_id", "received_at", "address", "area_path")
    )[:MAX_CLUSTER_CASES]
    points = [hotspots.Point(*row) for row in rows]
    found = hotspots.clusters(
        points,
        radius_m=settings.HOTSPOT_CLUSTER_RADIUS_M,
        min_cases=settings.HOTSPOT_CLUSTER_MIN_CASES,
    )
    categories = _names(Category, {c.category_id for c in found})
    places = _place_names([c.area_path for c in found])
    return [
        {
            "category_id": c.category_id,
            "category": categories.get(c.category_id, "—"),
            "size": c.size,
            "case_ids": c.case_ids,
            "lat": c.lat,
            "lon": c.lon,
            "radius_m": c.radius_m,
            "hull_m2": c.hull_m2,
            "first_at": c.first_at,
            "last_at": c.last_at,
            "address": c.address,
            "place": places.get(c.area_path, ""),
            "area_path": c.area_path,
            "area_id": _last_id(c.area_path),
        }
        for c in found
    ]


def _repeat_callers(cases: QuerySet[Case], *, masked: bool) -> list[dict]:
    rows = (
        cases.exclude(reporter_phone="")
        .order_by()
        .values("reporter_phone")
        .annotate(
            n=Count("id"),
            categories=Count("category", distinct=True),
            first=Min("received_at"),
            last=Max("received_at"),
        )
        .filter(n__gte=settings.HOTSPOT_REPEAT_MIN)
        .order_by("-n", "reporter_phone")[:100]
    )
    return [
        {
            "phone": mask_phone(r["reporter_phone"]) if masked else r["reporter_phone"],
            "key": _phone_key(r["reporter_phone"]),
            "count": r["n"],
            "categories": r["categories"],
            "first_at": r["first"],
            "last_at": r["last"],
        }
        for r in rows
    ]


def _phone_key(phone: str) -> str:
    """An opaque handle for one phone (to list its cases) that does not show the number."""
    import hashlib

    return hashlib.sha256(f"{settings.SECRET_KEY}:{phone}".encode()).hexdigest()[:16]


def cases_of_caller(cases: QuerySet[Case], key: str) -> QuerySet[Case]:
    """The cases of the repeat caller whose `_phone_key` is `key` (within `cases`)."""
    phones = [
        p
        for p in cases.exclude(reporter_phone="")
        .order_by()
        .values_list("reporter_phone", flat=True)
        .distinct()[:5000]
        if _phone_key(p) == key
    ]
    return cases.filter(reporter_phone__in=phones)


def _repeat_addresses(cases: QuerySet[Case]) -> list[dict]:
    counted: dict[str, dict] = {}
    rows = cases.exclude(address="").order_by().values_list("address", "received_at", "id")
    for address, at, pk in rows[:MAX_CLUSTER_CASES]:
        key = hotspots.normalise_address(address)
        entry = counted.setdefault(
            key, {"address": address, "count": 0, "first_at": at, "last_at": at, "case_ids": []}
        )
        entry["count"] += 1
        entry["first_at"] = min(entry["first_at"], at)
        entry["last_at"] = max(entry["last_at"], at)
        entry["case_ids"].append(pk)
    found = [e for e in counted.values() if e["count"] >= settings.HOTSPOT_REPEAT_MIN]
    found.sort(key=lambda e: (-e["count"], e["address"]))
    return found[:100]


def _last_id(path: str) -> int | None:
    parts = [p for p in path.strip("/").split("/") if p]
    return int(parts[-1]) if parts else None


def _names(model, ids) -> dict[int, str]:
    return dict(model.objects.filter(pk__in=[i for i in ids if i]).values_list("id", "name"))


def _place_names(paths: list[str]) -> dict[str, str]:
    """Area path -> 'street community grid' names."""
    ids = {int(p) for path in paths for p in path.strip("/").split("/") if p}
    areas = dict(Area.objects.filter(pk__in=ids).values_list("id", "name"))
    out = {}
    for path in paths:
        parts = [int(p) for p in path.strip("/").split("/") if p]
        out[path] = " ".join(areas[i] for i in parts[1:] if i in areas)
    return out


# --- mining ----------------------------------------------------------------------------------


def mining_docs(user, *, area: Area, since: dt.datetime, until: dt.datetime) -> list[Doc]:
    """The cases of `area` received in [since, until) that `user` sees, as mining docs: the
    place is the case's area names and address, the reporter its phone, `resolved` whether it
    was resolved."""
    cases = (
        Case.objects.visible_to(user)
        .filter(area_path__startswith=area.path, received_at__gte=since, received_at__lt=until)
        .exclude(NOT_DEMAND)
        .order_by("received_at", "id")
        .values_list(
            "id",
            "title",
            "description",
            "received_at",
            "address",
            "area_path",
            "reporter_phone",
            "state",
        )[:MAX_MINING_CASES]
    )
    rows = list(cases)
    places = _place_names(list({r[5] for r in rows}))
    return [
        Doc(
            id=str(pk),
            title=title,
            text=description,
            at=at,
            place=f"{places.get(path, '')} {address}".strip(),
            reporter=phone,
            resolved=state in RESOLVED_STATES,
        )
        for pk, title, description, at, address, path, phone, state in rows
    ]


def visible_runs(user) -> QuerySet[MiningRun]:
    return MiningRun.objects.visible_to(user).select_related("area", "created_by")


def visible_candidates(user) -> QuerySet[TopicCandidate]:
    return TopicCandidate.objects.visible_to(user).select_related("run", "run__area")


# --- topics ----------------------------------------------------------------------------------


def topic_rows(user, *, status: str | None = None, area: Area | None = None) -> QuerySet[Topic]:
    """Topics `user` sees, newest month first, with their task and linked-case counts."""
    topics = Topic.objects.visible_to(user).select_related("owner_unit", "area")
    if status:
        topics = topics.filter(status=status)
    if area is not None:
        topics = topics.filter(area__path__startswith=area.path)
    return topics.annotate(
        task_count=Count("tasks", distinct=True), case_count=Count("cases", distinct=True)
    )


def topic_class_q(topic: Topic) -> Q:
    """The topic's class of problems: demand cases of its area with one of its categories
    (any when none) and one of its keywords in the title or description (any when none),
    plus the cases linked to it by hand or from its candidate."""
    q = Q(area_path__startswith=topic.area.path)
    category_ids = list(topic.categories.values_list("id", flat=True))
    if category_ids:
        q &= Q(category_id__in=category_ids)
    words = topic.keyword_list
    if words:
        any_word = Q()
        for word in words:
            any_word |= Q(title__contains=word) | Q(description__contains=word)
        q &= any_word
    if not category_ids and not words:
        q = Q(pk__in=[])
    return (q | Q(pk__in=topic.cases.values("pk"))) & ~NOT_DEMAND


@dataclass
class Progress:
    months: list[dt.date]
    counts: list[int]
    resolved: list[int]
    period: dt.date
    before_mean: float | None
    after_mean: float | None
    change: float | None  # (after - before) / before
    resolved_share: float | None  # of the class's cases received since the topic's month
    falling: bool | None


def _month_add(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def topic_progress(topic: Topic, *, today: dt.date | None = None) -> Progress:
    """Monthly volume of the topic's class of problems, `BEFORE_MONTHS` months before its
    month up to the current month, and the share resolved since its month.

    Success is a falling volume: the mean of the months from the topic's month on (the current,
    unfinished month left out while there is a finished one) below the mean of the months
    before."""
    today = today or clock.today()
    period = topic.period.replace(day=1)
    first = _month_add(period, -BEFORE_MONTHS)
    last = max(today.replace(day=1), period)
    months = []
    month = first
    while month <= last:
        months.append(month)
        month = _month_add(month, 1)
    start = timezone.make_aware(dt.datetime.combine(first, dt.time()))
    rows = (
        Case.objects.filter(topic_class_q(topic), received_at__gte=start)
        .annotate(month=TruncMonth("received_at"))
        .order_by()
        .values("month")
        .annotate(n=Count("id"), done=Count("id", filter=Q(state__in=RESOLVED_STATES)))
    )
    by_month = {}
    for row in rows:
        key = row["month"]
        key = key.date() if isinstance(key, dt.datetime) else key
        by_month[key] = (row["n"], row["done"])
    counts = [by_month.get(m, (0, 0))[0] for m in months]
    resolved = [by_month.get(m, (0, 0))[1] for m in months]
    before = [c for m, c in zip(months, counts, strict=True) if m < period]
    after_months = [m for m in months if m >= period]
    current = today.replace(day=1)
    if len(after_months) > 1 and after_months[-1] == current:
        after_months = after_months[:-1]
    after = [c for m, c in zip(months, counts, strict=True) if m in after_months]
    before_mean = sum(before) / len(before) if before else None
    after_mean = sum(after) / len(after) if after else None
    change = None
    if before_mean and after_mean is not None:
        change = (after_mean - before_mean) / before_mean
    since = [(c, r) for m, c, r in zip(months, counts, resolved, strict=True) if m >= period]
    total_since = sum(c for c, _r in since)
    share = sum(r for _c, r in since) / total_since if total_since else None
    falling = None
    if before_mean is not None and after_mean is not None:
        falling = after_mean < before_mean
    return Progress(
        months=months,
        counts=counts,
        resolved=resolved,
        period=period,
        before_mean=None if before_mean is None else round(before_mean, 2),
        after_mean=None if after_mean is None else round(after_mean, 2),
        change=None if change is None else round(change, 3),
        resolved_share=None if share is None else round(share, 3),
        falling=falling,
    )


def visible_tasks(user, *, topic: Topic | None = None) -> QuerySet[ProactiveTask]:
    """Proactive tasks whose case `user` sees (a unit sees those dispatched to it)."""
    tasks = ProactiveTask.objects.filter(
        case__in=Case.objects.visible_to(user).values("pk")
    ).select_related("case", "case__lead_unit", "case__grid", "topic")
    if topic is not None:
        tasks = tasks.filter(topic=topic)
    return tasks


def linked_cases(user, topic: Topic) -> QuerySet[Case]:
    return (
        Case.objects.visible_to(user)
        .filter(pk__in=topic.cases.values("pk"))
        .select_related("category", "lead_unit", "grid")
    )
