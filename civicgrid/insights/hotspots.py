"""Hotspots: where demand rises, clusters and repeats, over the cases of one caller's scope.

Four findings, each a plain dataclass (selectors read the cases, these functions hold the
rules; the rules themselves take plain numbers so tests state the expected flags outright):

1. Weekly rises. For each category x area (street, community or grid) the count of cases
   received in the ISO week (Monday to Sunday, Asia/Shanghai) is compared with the mean of the
   same series over the previous `HOTSPOT_BASELINE_WEEKS` weeks (weeks without cases count as
   0). With λ = max(mean, 0.5) (the floor lets a series with no history still be judged), the
   week is a rise when
       count >= HOTSPOT_MIN_COUNT  and  count > mean  and  P(X >= count | Poisson(λ)) < HOTSPOT_ALPHA.
   Counts come from the scoring rollups (`scoring.rollups.counts`, grouped by week x category x
   area) and are the cases of citizens: total minus invalid (核减), merged and proactive cases.
2. Spatial clusters. Cases of one category received in the last `HOTSPOT_WINDOW_DAYS` days,
   projected to metres (equirectangular around their mean latitude, exact enough within a
   district), grouped with DBSCAN (eps = `HOTSPOT_CLUSTER_RADIUS_M`, min_samples =
   `HOTSPOT_CLUSTER_MIN_CASES`); each cluster reports its centre, radius and hull area (shapely).
3. Repeat callers: a reporter phone with `HOTSPOT_REPEAT_MIN` or more cases in the window.
4. Repeat addresses: an address (whitespace-normalised) with as many.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

# Below this mean the baseline is taken as 0.5: "never seen before" still needs several cases.
LAMBDA_FLOOR = 0.5
EARTH_M_PER_DEG_LAT = 110_540.0
EARTH_M_PER_DEG_LON_EQUATOR = 111_320.0


@dataclass(frozen=True)
class RiseRule:
    baseline_weeks: int = 8
    min_count: int = 5
    alpha: float = 0.01


@dataclass
class Rise:
    category_id: int
    area_id: int
    week: dt.date
    count: int
    baseline_mean: float
    p_value: float
    flagged: bool
    ratio: float
    history: list[int] = field(default_factory=list)


def poisson_tail(k: int, lam: float) -> float:
    """P(X >= k) for X ~ Poisson(lam), summed exactly (k is a weekly count: small)."""
    if k <= 0:
        return 1.0
    term = math.exp(-lam)
    below = term
    for i in range(1, k):
        term *= lam / i
        below += term
    return max(0.0, 1.0 - below)


def judge(count: int, baseline: Sequence[int], rule: RiseRule) -> tuple[bool, float, float]:
    """(flagged, baseline mean, p-value) for one week's `count` after `baseline` weeks."""
    mean = sum(baseline) / len(baseline) if baseline else 0.0
    p = poisson_tail(count, max(mean, LAMBDA_FLOOR))
    flagged = count >= rule.min_count and count > mean and p < rule.alpha
    return flagged, mean, p


def monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def weekly_rises(
    series: Mapping[tuple[int, int], Mapping[dt.date, int]],
    week: dt.date,
    rule: RiseRule,
    *,
    flagged_only: bool = True,
) -> list[Rise]:
    """Judge `week` (any day of it) for every (category id, area id) series of weekly counts
    keyed by the weeks' Mondays. Sorted by p-value, then count."""
    week = monday(week)
    weeks = [week - dt.timedelta(weeks=i) for i in range(rule.baseline_weeks, 0, -1)]
    out = []
    for (category_id, area_id), counts in series.items():
        count = int(counts.get(week, 0))
        if count == 0:
            continue
        history = [int(counts.get(w, 0)) for w in weeks]
        flagged, mean, p = judge(count, history, rule)
        if flagged_only and not flagged:
            continue
        out.append(
            Rise(
                category_id=category_id,
                area_id=area_id,
                week=week,
                count=count,
                baseline_mean=round(mean, 2),
                p_value=p,
                flagged=flagged,
                ratio=round(count / max(mean, LAMBDA_FLOOR), 2),
                history=history,
            )
        )
    out.sort(key=lambda r: (r.p_value, -r.count, r.category_id, r.area_id))
    return out


# --- spatial clusters ------------------------------------------------------------------------


@dataclass(frozen=True)
class Point:
    case_id: int
    lat: float
    lon: float
    category_id: int
    at: dt.datetime
    address: str = ""
    area_path: str = ""


@dataclass
class Cluster:
    category_id: int
    case_ids: list[int]
    lat: float
    lon: float
    radius_m: float
    hull_m2: float
    first_at: dt.datetime
    last_at: dt.datetime
    address: str
    area_path: str

    @property
    def size(self) -> int:
        return len(self.case_ids)


def project(points: Sequence[Point]) -> list[tuple[float, float]]:
    """Metres east and north of (0, 0) at the points' mean latitude."""
    if not points:
        return []
    lat0 = sum(p.lat for p in points) / len(points)
    kx = EARTH_M_PER_DEG_LON_EQUATOR * math.cos(math.radians(lat0))
    return [(p.lon * kx, p.lat * EARTH_M_PER_DEG_LAT) for p in points]


def clusters(points: Iterable[Point], *, radius_m: float, min_cases: int) -> list[Cluster]:
    """DBSCAN clusters of each category's points; biggest first."""
    import numpy as np
    import shapely
    from sklearn.cluster import DBSCAN

    by_category: dict[int, list[Point]] = {}
    for p in points:
        by_category.setdefault(p.category_id, []).append(p)
    found: list[Cluster] = []
    for category_id, group in by_category.items():
        if len(group) < min_cases:
            continue
        xy = np.array(project(group))
        labels = DBSCAN(eps=radius_m, min_samples=min_cases).fit_predict(xy)
        for label in sorted(set(labels) - {-1}):
            members = [i for i, lab in enumerate(labels) if lab == label]
            pts = xy[members]
            cx, cy = pts.mean(axis=0)
            radius = float(np.sqrt(((pts - (cx, cy)) ** 2).sum(axis=1)).max())
            # From the coordinate array at once: building a Point per case costs more than DBSCAN.
            hull = shapely.convex_hull(shapely.multipoints(pts))
            chosen = [group[i] for i in members]
            addresses = Counter(p.address for p in chosen if p.address)
            paths = Counter(p.area_path for p in chosen)
            found.append(
                Cluster(
                    category_id=category_id,
                    case_ids=sorted(p.case_id for p in chosen),
                    lat=round(sum(p.lat for p in chosen) / len(chosen), 6),
                    lon=round(sum(p.lon for p in chosen) / len(chosen), 6),
                    radius_m=round(radius, 1),
                    hull_m2=round(float(hull.area), 1),
                    first_at=min(p.at for p in chosen),
                    last_at=max(p.at for p in chosen),
                    address=addresses.most_common(1)[0][0] if addresses else "",
                    area_path=paths.most_common(1)[0][0],
                )
            )
    found.sort(key=lambda c: (-c.size, c.category_id, c.first_at))
    return found


def normalise_address(address: str) -> str:
    """Whitespace removed: 「金牛区 xx路 1号」 and 「金牛区xx路1号」 are one address."""
    return "".join((address or "").split())
