"""Benchmark: hotspots over many cases, and topic mining on the 4,326 real messages.

    .venv/bin/python bench/insights.py                  # 200,000 cases on a throwaway SQLite
    .venv/bin/python bench/insights.py --cases 20000    # quicker
    .venv/bin/python bench/insights.py --no-mining      # skip the CSV

Builds the test town (2 streets, 4 communities, 8 grids of 1 km²) with 20 categories and the
cases with bulk inserts: spread over the last 120 days, one category in one community rising
sharply in the last full week, points scattered in their grid with a few tight spots, phones
from a pool (so some call again and again). The rollups are counted by
`scoring.rollups.rebuild()`.

Then, for the district officer (best of --repeat after a warm-up):
- the weekly rises from the rollups (`selectors._rises`, what the page reads) against the same
  series computed by a raw GROUP BY over the cases (week x category x community), whose counts
  must be equal: both times and the ratio;
- the whole hotspot report (rises, DBSCAN clusters, repeat callers and addresses over the
  28-day window of raw cases).
And `mining.mine` over the message board CSV (jieba segmentation, TF-IDF, SVD, k-means), once.
Writes bench/results/insights.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    best_of,
    environment,
    peak_rss_mb,
    print_table,
    setup_django,
    timer,
    write_results,
)

CSV = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "gov_messages"
CSV_FILE = CSV / "attachment3_messages_with_votes_4326.csv"
DAYS = 120
BATCH = 5000


def build(n_cases: int, seed: int = 7):
    from django.utils import timezone

    from civicgrid.accounts.choices import Role
    from civicgrid.cases.choices import Channel, Kind, State
    from civicgrid.cases.models import Case, Category, Taxonomy
    from civicgrid.core import clock
    from tests.builders import Town, build_user

    rng = random.Random(seed)
    town = Town()
    taxonomy = Taxonomy.objects.create(version="bench", name="bench", is_active=True)
    categories = [
        Category.objects.create(taxonomy=taxonomy, code=f"B{i:03d}", name=f"分类{i}")
        for i in range(20)
    ]
    officer = build_user("bench_district", role=Role.DISTRICT_OFFICER, area=town.district)
    grids = list(town.grids.values())
    now = clock.now()
    this_monday = timezone.localdate(now) - dt.timedelta(days=timezone.localdate(now).weekday())
    last_week = this_monday - dt.timedelta(weeks=1)
    burst_start = timezone.make_aware(dt.datetime.combine(last_week, dt.time(8)))
    phones = [f"139{i:08d}" for i in range(max(50, n_cases // 4))]
    spots = {g.pk: [Town.centre(g) for _ in range(3)] for g in grids}
    states = [State.CLOSED] * 6 + [State.RESOLVED, State.ACCEPTED, State.DISPATCHED]
    rows = []
    burst = max(50, n_cases // 200)
    for i in range(n_cases):
        in_burst = i < burst
        grid = grids[0] if in_burst else rng.choice(grids)
        category = categories[0] if in_burst else rng.choice(categories)
        when = (
            burst_start + dt.timedelta(minutes=rng.randrange(5 * 24 * 60))
            if in_burst
            else now - dt.timedelta(minutes=rng.randrange(DAYS * 24 * 60))
        )
        lat, lon = Town.centre(grid)
        if rng.random() < 0.1:  # a tight spot: within ~50 m
            lat, lon = rng.choice(spots[grid.pk])
            lat += rng.uniform(-0.0004, 0.0004)
            lon += rng.uniform(-0.0004, 0.0004)
        else:
            lat += rng.uniform(-0.005, 0.005)
            lon += rng.uniform(-0.005, 0.005)
        rows.append(
            Case(
                number=f"BI{i:09d}",
                channel=Channel.HOTLINE,
                kind=Kind.COMPLAINT,
                category=category,
                title="噪音扰民",
                description="夜间施工",
                lat=lat,
                lon=lon,
                address=f"{grid.name}{rng.randrange(200)}号",
                grid=grid,
                area_path=grid.path,
                reporter_phone=rng.choice(phones),
                state=rng.choice(states),
                received_at=when,
            )
        )
        if len(rows) >= BATCH:
            Case.objects.bulk_create(rows)
            rows = []
    if rows:
        Case.objects.bulk_create(rows)
    return town, officer, last_week


def raw_weekly(officer, week, weeks: int):
    """The same series as the rises, by a raw GROUP BY over the cases (the comparison)."""
    from django.db.models import Count, Q
    from django.db.models.functions import TruncWeek
    from django.utils import timezone

    from civicgrid.areas.models import Area
    from civicgrid.cases.models import Case
    from civicgrid.insights.selectors import NOT_DEMAND

    start = timezone.make_aware(dt.datetime.combine(week - dt.timedelta(weeks=weeks), dt.time()))
    end = timezone.make_aware(dt.datetime.combine(week + dt.timedelta(days=7), dt.time()))
    communities = {a.path: a.pk for a in Area.objects.filter(level="community")}
    rows = (
        Case.objects.visible_to(officer)
        .filter(received_at__gte=start, received_at__lt=end)
        .exclude(NOT_DEMAND | Q(category__isnull=True))
        .annotate(week=TruncWeek("received_at"))
        .values("week", "category_id", "area_path")
        .annotate(n=Count("id"))
        .order_by()
    )
    series: dict[tuple[int, int], dict] = {}
    for row in rows:
        community = next(
            (pk for path, pk in communities.items() if row["area_path"].startswith(path)), None
        )
        w = row["week"].date() if isinstance(row["week"], dt.datetime) else row["week"]
        key = (row["category_id"], community)
        series.setdefault(key, {})
        series[key][w] = series[key].get(w, 0) + row["n"]
    return series


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-mining", action="store_true")
    args = parser.parse_args()
    setup_django("insights")

    from civicgrid.insights import csvdocs, hotspots, mining, selectors
    from civicgrid.scoring import rollups

    with timer() as t_build:
        town, officer, week = build(args.cases)
    with timer() as t_rollups:
        rollups.rebuild()
    rule = selectors.rise_rule()

    def from_rollups():
        return selectors._rises(officer, week, "community", rule, None, None, False)

    def from_raw():
        series = raw_weekly(officer, week, rule.baseline_weeks)
        return hotspots.weekly_rises(series, week, rule)

    a, b = from_rollups(), from_raw()
    same = [(r["category_id"], r["area_id"], r["count"]) for r in a] == [
        (r.category_id, r.area_id, r.count) for r in b
    ]
    rollup_s = best_of(args.repeat, from_rollups)
    raw_s = best_of(args.repeat, from_raw)
    selectors.hotspot_report(officer, week=week)
    report_s = best_of(args.repeat, lambda: selectors.hotspot_report(officer, week=week))
    report = selectors.hotspot_report(officer, week=week)
    rows = [
        ["cases", f"{args.cases:,}", ""],
        ["build + bulk insert", f"{t_build.seconds:.1f} s", ""],
        ["rollups rebuild", f"{t_rollups.seconds:.1f} s", ""],
        ["weekly rises from rollups", f"{rollup_s * 1000:.0f} ms", f"{len(a)} rises"],
        ["same from raw GROUP BY", f"{raw_s * 1000:.0f} ms", "equal" if same else "DIFFERENT"],
        ["raw / rollups", f"{raw_s / rollup_s:.1f}x", ""],
        [
            "whole hotspot report",
            f"{report_s * 1000:.0f} ms",
            f"{len(report.clusters)} clusters, {len(report.repeat_callers)} callers",
        ],
    ]
    results = {
        "cases": args.cases,
        "build_s": t_build.seconds,
        "rollups_rebuild_s": t_rollups.seconds,
        "rises_rollups_s": rollup_s,
        "rises_raw_s": raw_s,
        "ratio_raw_over_rollups": raw_s / rollup_s,
        "rises_equal": same,
        "rises": len(a),
        "report_s": report_s,
        "clusters": len(report.clusters),
        "repeat_callers": len(report.repeat_callers),
    }
    if not args.no_mining and CSV_FILE.exists():
        docs, _skipped = csvdocs.read_docs(
            CSV_FILE,
            text_cols=["留言主题", "留言详情"],
            time_col="留言时间",
            id_col="留言编号",
            reporter_col="留言用户",
            likes_col="点赞数",
            dislikes_col="反对数",
        )
        with timer() as t_mine:
            groups = mining.mine(docs, top=10)
        rows.append(["mining 4,326 messages", f"{t_mine.seconds:.1f} s", f"{len(groups)} shown"])
        results["mining_messages"] = len(docs)
        results["mining_s"] = t_mine.seconds
    rows.append(["peak memory", f"{peak_rss_mb():.0f} MB", ""])
    print_table(["what", "figure", "note"], rows, title="insights")
    results["environment"] = environment()
    results["peak_rss_mb"] = peak_rss_mb()
    write_results("insights", results)
    if not same:
        sys.exit("the rises from the rollups differ from the raw counts")


if __name__ == "__main__":
    main()
