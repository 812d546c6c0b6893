"""Scoped reads behind the dashboards: every figure of one period in the caller's scope.

Figures of a period come from the rollup count tables (`scoring.rollups.counts`, a handful of
GROUP BY queries over pre-aggregated rows, never a scan of the cases): volume, its trend, the
split by channel, kind and category, time-limit compliance, the three rates and the volume per
grid. For an area scope the trend, totals, rates and per-grid volume read the area-day table
(one row per area per day, each case once); a scope with handling units reads the fine table,
which has the units. Only the channel, kind and category split always reads the fine table. Figures of *now* (open, near due, overdue, and each grid's overdue share) come from the
open cases only, found through the indexed `state` and `deadline_status` columns.

Scope: a caller counts what `Case.objects.visible_to(user)` would show them (`cases.view`: their
area roles' subtrees plus their handling units' lead cases); an area outside that scope is a
404, as if it did not exist. Every figure carries the URL of the cases behind it: the case
console with the matching filters, or the scorecard's explanation page for a rate.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import Count, Q
from django.http import Http404
from django.urls import reverse
from django.utils.translation import gettext as _

from civicgrid.areas.choices import GridLayer, Level
from civicgrid.areas.models import Area
from civicgrid.cases.choices import Channel, DeadlineStatus, Kind
from civicgrid.cases.models import Case, Category
from civicgrid.core.scoping import Scope, scope_of
from civicgrid.scoring import presets, rollups, scorecards
from civicgrid.scoring.scorecards import Period

VIEW = "cases.view"
# A period up to this many days is drawn per day, up to WEEKLY_MAX_DAYS per week, else per month.
DAILY_MAX_DAYS = 62
WEEKLY_MAX_DAYS = 190
TOP_CATEGORIES = 12
# Measures the dashboards read (the rest of the rollup columns are the scorecards' business).
TREND_MEASURES = (
    "total",
    "invalid",
    "merged",
    "proactive",
    "scored",
    "resolved",
    "response_due",
    "responded_on_time",
    "resolve_due",
    "resolved_on_time",
    "called_back",
    "contacted",
    "rated",
    "solved",
    "partly",
    "not_solved",
    "satisfied",
    "basic",
    "dissatisfied",
    "returned",
    "reopened",
    "returns_unjustified",
    "proactive_resolved",
)
# The three rates (三率) and the two time-limit figures, with the metric the scorecards'
# explanation page knows them by.
THREE_RATES = ("response_rate", "resolution_rate", "satisfaction_rate")
COMPLIANCE = {"response": "response_rate", "resolution": "resolved_on_time"}


# --- who may see what ---------------------------------------------------------------------


def can_view(user) -> bool:
    return scope_of(user).can(VIEW)


def _count_scope(user) -> Scope | None:
    scope = scope_of(user)
    return None if scope.everything else scope


def area_or_404(user, area_id: int | str | None) -> Area | None:
    """The area a caller narrowed the dashboard to, if it lies in their scope (else Http404)."""
    if area_id in (None, "", 0):
        return None
    try:
        pk = int(area_id)
    except (TypeError, ValueError):
        raise Http404 from None
    area = Area.objects.filter(pk=pk).first()
    if area is None:
        raise Http404
    scope = scope_of(user)
    if not scope.everything and not any(
        area.path.startswith(p) for p in scope.capability_role_paths.get(VIEW, ())
    ):
        raise Http404
    return area


def area_choices(user):
    """The district, streets and communities a caller may narrow the dashboard to."""
    qs = Area.objects.current().filter(level__in=[Level.DISTRICT, Level.STREET, Level.COMMUNITY])
    scope = scope_of(user)
    if not scope.everything:
        paths = scope.capability_role_paths.get(VIEW, ())
        if not paths:
            return qs.none()
        q = Q(pk__in=[])
        for p in paths:
            q |= Q(path__startswith=p)
        qs = qs.filter(q)
    return qs.order_by("path")


def scope_label(user, area: Area | None) -> str:
    """What the figures cover, in words: the chosen area, the caller's one area or unit."""
    if area is not None:
        return area.name
    scope = scope_of(user)
    if scope.everything:
        return _("All areas")
    roots = scope.capability_role_paths.get(VIEW, ())
    names = list(
        Area.objects.filter(path__in=roots).order_by("path").values_list("name", flat=True)
    )
    if scope.unit_ids and VIEW in scope.unit_capabilities:
        from civicgrid.accounts.models import Unit

        names += list(
            Unit.objects.filter(pk__in=scope.unit_ids)
            .order_by("name")
            .values_list("name", flat=True)
        )
    return "、".join(names) or _("My scope")


# --- links to the cases behind a figure ---------------------------------------------------


def console_url(
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    area: Area | int | None = None,
    state: str = "all",
    **filters,
) -> str:
    """The case console showing exactly the cases of a figure: received from `start` to `end`
    (local days, as the rollups count them), under `area`, with any of the console's other
    filters (`channel`, `kind`, `category`, `due`, `unit`)."""
    params: dict[str, object] = {}
    if state:
        params["state"] = state
    if start is not None:
        params["received_from"] = start.isoformat()
    if end is not None:
        params["received_to"] = end.isoformat()
    if area is not None:
        params["area"] = getattr(area, "pk", area)
    params.update({k: v for k, v in filters.items() if v not in (None, "")})
    return f"{reverse('cases:queue')}?{urlencode(params)}"


def explain_url(metric: str, part: str, *, start: dt.date, end: dt.date, area: Area | None) -> str:
    """The scorecards' page listing the cases of a rate's numerator or denominator."""
    params: dict[str, object] = {
        "metric": metric,
        "part": part,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "subject": "street",
    }
    if area is not None:
        params["area"] = area.pk
    return f"{reverse('scoring:explain')}?{urlencode(params)}"


# --- periods ------------------------------------------------------------------------------


def granularity(per: Period) -> str:
    days = (per.end - per.start).days + 1
    if days <= DAILY_MAX_DAYS:
        return "day"
    if days <= WEEKLY_MAX_DAYS:
        return "week"
    return "month"


def buckets(per: Period, by: str) -> list[tuple[dt.date, dt.date]]:
    """(first, last) day of each bucket of the period, clipped to the period."""
    out = []
    day = per.start
    while day <= per.end:
        if by == "day":
            last = day
        elif by == "week":
            last = day + dt.timedelta(days=6 - day.weekday())
        else:
            nxt = (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
            last = nxt - dt.timedelta(days=1)
        last = min(last, per.end)
        out.append((day, last))
        day = last + dt.timedelta(days=1)
    return out


def _bucket_key(day: dt.date, by: str) -> dt.date:
    if by == "week":
        return day - dt.timedelta(days=day.weekday())
    if by == "month":
        return day.replace(day=1)
    return day


def _label(first: dt.date, by: str) -> str:
    return f"{first:%Y-%m}" if by == "month" else f"{first:%m-%d}"


# --- the figures --------------------------------------------------------------------------


def _ratio(num: float, den: float) -> float | None:
    return round(num / den, 4) if den else None


def _preset_definition() -> tuple[dict, str]:
    preset = presets.get(settings.DASHBOARD_PRESET)
    return preset.definition, f"{preset.name} v{preset.version}"


def _category_roots(ids: Iterable[int]) -> dict[int, tuple[int, str]]:
    """category id -> (its top-level category's id, name); the tree has three levels."""
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    rows = {
        r["id"]: r
        for r in Category.objects.filter(
            Q(pk__in=wanted) | Q(children__pk__in=wanted) | Q(children__children__pk__in=wanted)
        )
        .distinct()
        .values("id", "parent_id", "name")
    }
    out = {}
    for pk in wanted:
        row = rows.get(pk)
        while row is not None and row["parent_id"] in rows:
            row = rows[row["parent_id"]]
        if row is not None:
            out[pk] = (row["id"], row["name"])
    return out


def summary(user, per: Period, *, area: Area | None = None) -> dict:
    """Every figure of the dashboard for `per` in `user`'s scope (narrowed to `area`).

    Raises Http404 when the caller may not see cases. The result is plain JSON-ready data;
    each figure has a `url` listing the cases behind it.
    """
    if not can_view(user):
        raise Http404
    scope = _count_scope(user)
    area_path = area.path if area is not None else None
    common = {"start": per.start, "end": per.end, "scope": scope, "area_path": area_path}
    by = granularity(per)

    def link(**filters) -> str:
        return console_url(
            start=filters.pop("start", per.start),
            end=filters.pop("end", per.end),
            area=area,
            **filters,
        )

    # 1. per day (bucketed here): the trend, compliance per bucket, and every total.
    # One pass over the days of the previous period and this one (they are adjacent): the
    # previous period's volume comes with it.
    previous = per.previous()
    series = {b: dict.fromkeys(TREND_MEASURES, 0) for b, _last in buckets(per, by)}
    before = 0
    for row in rollups.counts(
        group_by=("day",), measures=TREND_MEASURES, **{**common, "start": previous.start}
    ):
        if row["day"] < per.start:
            before += row["total"]
            continue
        # A bucket clipped by the period's first day is keyed by that day.
        target = series[max(_bucket_key(row["day"], by), per.start)]
        for m in TREND_MEASURES:
            target[m] += row[m]
    totals = dict.fromkeys(TREND_MEASURES, 0)
    for values in series.values():
        for m in TREND_MEASURES:
            totals[m] += values[m]
    trend = []
    for first, last in buckets(per, by):
        v = series[first]
        trend.append(
            {
                "start": first.isoformat(),
                "end": last.isoformat(),
                "label": _label(first, by),
                "total": v["total"],
                "response_on_time": _ratio(v["responded_on_time"], v["response_due"]),
                "resolved_on_time": _ratio(v["resolved_on_time"], v["resolve_due"]),
                "url": link(start=first, end=last),
            }
        )

    # 2. the splits: one GROUP BY over the fine count rows for channel, kind and category
    # (one sort of the period's rows; the sums are added up here), and the volume per grid
    # from the area-day table.
    by_channel: dict[str, int] = {}
    by_kind: dict[str, int] = {}
    by_category: dict[int, int] = {}
    for row in rollups.counts(
        group_by=("channel", "kind", "category"), measures=("total",), **common
    ):
        by_channel[row["channel"]] = by_channel.get(row["channel"], 0) + row["total"]
        by_kind[row["kind"]] = by_kind.get(row["kind"], 0) + row["total"]
        by_category[row["category"]] = by_category.get(row["category"], 0) + row["total"]
    by_area = {
        row["area"]: row["total"]
        for row in rollups.counts(group_by=("area",), measures=("total",), **common)
    }
    channels = [
        {
            "key": key,
            "label": _choice_label(Channel, key),
            "total": total,
            "url": link(channel=key),
        }
        for key, total in sorted(by_channel.items(), key=lambda kv: (-kv[1], kv[0]))
        if total
    ]
    kinds = [
        {"key": key, "label": _choice_label(Kind, key), "total": total, "url": link(kind=key)}
        for key, total in sorted(by_kind.items(), key=lambda kv: (-kv[1], kv[0]))
        if total
    ]
    categories = _categories(by_category, link)

    # 3. the three rates and time-limit compliance, with the scorecards' definitions.
    definition, preset_label = _preset_definition()
    rates = scorecards.rates(totals, definition)
    parts = scorecards.METRIC_PARTS
    three = []
    for metric in THREE_RATES:
        numerator, denominator = parts[metric]
        three.append(
            {
                "metric": metric,
                "label": _rate_label(metric),
                "rate": rates[metric],
                "numerator": _weighted(numerator, totals, definition),
                "denominator": totals[denominator],
                "numerator_url": explain_url(
                    metric, "numerator", start=per.start, end=per.end, area=area
                ),
                "denominator_url": explain_url(
                    metric, "denominator", start=per.start, end=per.end, area=area
                ),
            }
        )
    compliance = []
    for key, metric in COMPLIANCE.items():
        numerator, denominator = parts[metric]
        compliance.append(
            {
                "key": key,
                "metric": metric,
                "label": _("Responded on time") if key == "response" else _("Resolved on time"),
                "rate": rates[metric],
                "on_time": totals[numerator[0]],
                "due": totals[denominator],
                "late": totals[denominator] - totals[numerator[0]],
                "on_time_url": explain_url(
                    metric, "numerator", start=per.start, end=per.end, area=area
                ),
                "due_url": explain_url(
                    metric, "denominator", start=per.start, end=per.end, area=area
                ),
            }
        )

    # 4. now: open, near due and overdue cases, from the indexed status columns.
    open_cases = Case.objects.visible_to(user).open()
    if area_path:
        open_cases = open_cases.filter(area_path__startswith=area_path)
    now = open_cases.aggregate(
        open=Count("id"),
        near_due=Count("id", filter=Q(deadline_status=DeadlineStatus.NEAR_DUE)),
        overdue=Count("id", filter=Q(deadline_status=DeadlineStatus.OVERDUE)),
    )
    deadlines = {
        "open": now["open"],
        "near_due": now["near_due"],
        "overdue": now["overdue"],
        "open_url": console_url(state="", area=area),
        "near_due_url": console_url(state="", area=area, due="near_due"),
        "overdue_url": console_url(state="", area=area, due="overdue"),
    }

    return {
        "period": per.as_dict(),
        "previous_period": previous.as_dict(),
        "granularity": by,
        "scope": {
            "label": scope_label(user, area),
            "area": area.pk if area is not None else None,
            "level": area.level if area is not None else None,
        },
        "preset": preset_label,
        "totals": {
            "received": totals["total"],
            "received_before": before,
            "change": _ratio(totals["total"] - before, before),
            "scored": totals["scored"],
            "resolved": totals["resolved"],
            "resolved_url": explain_url(
                "resolved", "numerator", start=per.start, end=per.end, area=area
            ),
            "invalid": totals["invalid"],
            "merged": totals["merged"],
            "proactive": totals["proactive"],
            "url": link(),
            "before_url": console_url(start=previous.start, end=previous.end, area=area),
        },
        "trend": trend,
        "channels": channels,
        "kinds": kinds,
        "categories": categories,
        "rates": three,
        "compliance": compliance,
        "deadlines": deadlines,
        "map": grid_figures(user, per, area=area, volumes=by_area),
    }


def _choice_label(choices, value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value


def _rate_label(metric: str) -> str:
    return {
        "response_rate": _("Response rate"),
        "resolution_rate": _("Resolution rate"),
        "satisfaction_rate": _("Satisfaction rate"),
    }[metric]


def _weighted(numerator: tuple[str, ...], totals: dict, definition: dict) -> float:
    """A rate's numerator as the scorecards weigh it (partly solved, basically satisfied)."""
    weights = {
        "partly": definition.get("partly_solved_weight", 0),
        "basic": definition.get("basic_satisfied_weight", 0),
    }
    value = sum(weights.get(m, 1) * totals[m] for m in numerator)
    return round(value, 2)


def _categories(volumes: dict[int, int], link) -> list[dict]:
    """Volume per top-level category, the largest first; uncategorised cases last."""
    roots = _category_roots(volumes)
    merged: dict[int, dict] = {}
    for category, total in volumes.items():
        if not total:
            continue
        root_id, name = roots.get(category, (0, _("Uncategorised")))
        target = merged.setdefault(root_id, {"id": root_id, "label": name, "total": 0})
        target["total"] += total
    out = sorted(merged.values(), key=lambda r: (r["id"] == 0, -r["total"]))
    for r in out:
        # The console has no "no category" filter: the uncategorised bar links to no filter.
        r["url"] = link(category=r["id"] or None) if r["id"] else ""
    return out[:TOP_CATEGORIES]


def grid_figures(user, per: Period, *, area: Area | None, volumes: dict[int, int]) -> dict:
    """Per grid: cases received in the period (`volumes`: area id -> count, from the rollups),
    open and overdue now (open cases), the overdue share, and the console URLs; plus where to
    fetch the grid boundaries."""
    area_path = area.path if area is not None else None
    grids: dict[int, dict] = {
        pk: {"total": total, "open": 0, "overdue": 0}
        for pk, total in volumes.items()
        if pk and total
    }
    open_cases = Case.objects.visible_to(user).open().exclude(grid=None)
    if area_path:
        open_cases = open_cases.filter(area_path__startswith=area_path)
    for row in (
        open_cases.order_by()
        .values("grid_id")
        .annotate(
            open=Count("id"),
            overdue=Count("id", filter=Q(deadline_status=DeadlineStatus.OVERDUE)),
        )
    ):
        target = grids.setdefault(row["grid_id"], {"total": 0, "open": 0, "overdue": 0})
        target["open"] = row["open"]
        target["overdue"] = row["overdue"]
    names = dict(
        Area.objects.filter(pk__in=list(grids), level=Level.GRID).values_list("id", "name")
    )
    out = {}
    for pk, g in grids.items():
        if pk not in names:
            continue  # a case counted on a street or community (no grid): not on the map
        out[str(pk)] = {
            **g,
            "name": names[pk],
            "overdue_share": _ratio(g["overdue"], g["open"]),
            "url": console_url(start=per.start, end=per.end, area=pk),
            "overdue_url": console_url(state="", area=pk, due="overdue"),
        }
    if area is not None:
        query = urlencode({"layer": GridLayer.SERVICE, "all": "1"})
        geojson = f"{reverse('areas:area_grids_geojson', args=[area.pk])}?{query}"
    else:
        geojson = f"{reverse('areas:grids_geojson')}?{urlencode({'layer': GridLayer.SERVICE})}"
    return {"geojson_url": geojson, "grids": out}


# --- hotspots and topics (from the insights app's selectors) ------------------------------

HOTSPOT_ROWS = 8
TOPIC_ROWS = 5


def insight(user, per: Period, *, area: Area | None = None) -> dict:
    """Hotspots (significant weekly rises and spatial clusters) of the last full week up to
    the period's end, and the topics (每月一题) in scope with their before/after change, as
    `insights.selectors` computes them. Each row links to its cases (the console, or the
    topic's linked cases)."""
    from civicgrid.insights import hotspots
    from civicgrid.insights import selectors as insights

    if not can_view(user):
        raise Http404
    week = hotspots.monday(min(per.end, insights.last_full_week()))
    report = insights.hotspot_report(user, week=week, level="community", area=area)
    week_end = week + dt.timedelta(days=6)
    rises = [
        {
            **{k: r[k] for k in ("category", "area", "count", "baseline_mean", "ratio", "p_value")},
            "url": console_url(
                start=week, end=week_end, area=r["area_id"], category=r["category_id"]
            ),
        }
        for r in report.rises[:HOTSPOT_ROWS]
    ]
    window_start = report.window_start.date() if report.window_start else week
    clusters = []
    for c in sorted(report.clusters, key=lambda c: -c["size"])[:HOTSPOT_ROWS]:
        place_id = int(c["area_path"].strip("/").split("/")[-1]) if c["area_path"] else None
        clusters.append(
            {
                **{k: c[k] for k in ("category", "size", "radius_m", "address", "place")},
                # The console has no "these case ids" filter: the narrowest one that holds them.
                "url": console_url(
                    start=window_start, end=week_end, area=place_id, category=c["category_id"]
                ),
            }
        )
    topics = []
    for topic in insights.topic_rows(user, area=area)[:TOPIC_ROWS]:
        progress = insights.topic_progress(topic)
        topics.append(
            {
                "title": topic.title,
                "status": topic.get_status_display(),
                "period": f"{topic.period:%Y-%m}",
                "owner": topic.owner_unit.name if topic.owner_unit_id else "",
                "before_mean": progress.before_mean,
                "after_mean": progress.after_mean,
                "change": progress.change,
                "resolved_share": progress.resolved_share,
                "url": reverse("insights:topic", args=[topic.pk]),
                "cases_url": reverse("insights:topic_cases", args=[topic.pk]),
            }
        )
    return {
        "week": week.isoformat(),
        "week_end": week_end.isoformat(),
        "rule": {
            "baseline_weeks": report.rule.baseline_weeks,
            "min_count": report.rule.min_count,
            "alpha": report.rule.alpha,
        },
        "rises": rises,
        "clusters": clusters,
        "topics": topics,
    }
