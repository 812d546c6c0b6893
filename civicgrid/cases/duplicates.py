"""Spotting duplicates at intake (重复件): open cases near the same place, recent, with similar
text.

Candidates are open cases within `DUPLICATE_RADIUS_M` metres and `DUPLICATE_WINDOW_DAYS` days.
The database narrows them with a bounding box on the indexed (lat, lon) columns and the
received time; the exact distance is computed here. Each candidate is scored by the scorer the
setting `DUPLICATE_SCORER` names (a dotted path; `weighted_score` by default): a later issue
plugs a learned scorer in there without touching intake. Scores are in [0, 1], best first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from civicgrid.areas.geometry import METRES_PER_DEGREE_LAT, haversine_m, metres_to_degrees
from civicgrid.cases.models import Case, Category
from civicgrid.core import clock

DEFAULT_RADIUS_M = 200.0
DEFAULT_WINDOW_DAYS = 7
DEFAULT_SCORER = "civicgrid.cases.duplicates.weighted_score"
# How many open cases the bounding box may bring back before the nearest are kept: a busy
# corner of a big city must not turn one intake into thousands of text comparisons.
MAX_SCANNED = 500
# Weights of the default scorer; they add up to 1 so the score stays in [0, 1].
WEIGHTS = {"distance": 0.3, "time": 0.15, "text": 0.4, "category": 0.15}
# Below this text similarity the reason is not worth showing.
TEXT_REASON_MIN = 0.2


@dataclass(frozen=True)
class Features:
    """What a scorer sees about one candidate."""

    distance_m: float
    radius_m: float
    age: dt.timedelta
    window: dt.timedelta
    text_similarity: float
    same_category: bool
    related_category: bool  # same parent category, a weaker sign


@dataclass
class Candidate:
    case: Case
    score: float
    distance_m: float
    reasons: list[str] = field(default_factory=list)


Scorer = Callable[[Features], float]


def bigrams(text: str) -> set[str]:
    """Character bigrams of `text` without white space (Chinese has no word breaks)."""
    chars = "".join((text or "").lower().split())
    if len(chars) < 2:
        return {chars} if chars else set()
    return {chars[i : i + 2] for i in range(len(chars) - 1)}


def text_similarity(a: str, b: str) -> float:
    """Jaccard similarity of the character bigrams of two texts (0 to 1)."""
    left, right = bigrams(a), bigrams(b)
    if not left or not right:
        return 0.0
    return len(left & right) / len(left | right)


def weighted_score(f: Features) -> float:
    """Closer, newer, more similar and same-category candidates score higher (0 to 1)."""
    near = max(0.0, 1.0 - f.distance_m / f.radius_m) if f.radius_m else 0.0
    recent = max(0.0, 1.0 - f.age / f.window) if f.window else 0.0
    category = 1.0 if f.same_category else 0.5 if f.related_category else 0.0
    return (
        WEIGHTS["distance"] * near
        + WEIGHTS["time"] * recent
        + WEIGHTS["text"] * f.text_similarity
        + WEIGHTS["category"] * category
    )


def scorer() -> Scorer:
    return import_string(getattr(settings, "DUPLICATE_SCORER", DEFAULT_SCORER))


def _reasons(f: Features) -> list[str]:
    reasons = []
    if f.same_category:
        reasons.append(_("same category"))
    elif f.related_category:
        reasons.append(_("related category"))
    reasons.append(_("%(metres)d m away") % {"metres": round(f.distance_m)})
    if f.text_similarity >= TEXT_REASON_MIN:
        reasons.append(
            _("text %(percent)d%% similar") % {"percent": round(100 * f.text_similarity)}
        )
    hours = f.age.total_seconds() / 3600
    if hours < 24:
        reasons.append(_("%(hours)d h ago") % {"hours": max(0, round(hours))})
    else:
        reasons.append(_("%(days)d days ago") % {"days": round(hours / 24)})
    return reasons


def find_candidates(
    *,
    lat: float | None,
    lon: float | None,
    text: str,
    category: Category | None = None,
    exclude: Case | int | None = None,
    now: dt.datetime | None = None,
    limit: int = 10,
) -> list[Candidate]:
    """Open cases that may be the same request, best first (at most `limit`).

    Without a point there is nothing to compare places with, and the answer is empty.
    """
    if lat is None or lon is None:
        return []
    now = now or clock.now()
    radius = float(getattr(settings, "DUPLICATE_RADIUS_M", DEFAULT_RADIUS_M))
    window = dt.timedelta(days=getattr(settings, "DUPLICATE_WINDOW_DAYS", DEFAULT_WINDOW_DAYS))
    dlat = radius / METRES_PER_DEGREE_LAT
    dlon = metres_to_degrees(radius, lat)
    rows = (
        Case.objects.open()
        .filter(
            lat__gte=lat - dlat,
            lat__lte=lat + dlat,
            lon__gte=lon - dlon,
            lon__lte=lon + dlon,
            received_at__gte=now - window,
            received_at__lte=now,
        )
        .select_related("category")
        .order_by("-received_at")
    )
    if exclude is not None:
        rows = rows.exclude(pk=getattr(exclude, "pk", exclude))
    score = scorer()
    parent_id = category.parent_id if category is not None else None
    found: list[Candidate] = []
    for case in rows[:MAX_SCANNED]:
        distance = haversine_m(lat, lon, case.lat, case.lon)
        if distance > radius:
            continue
        same = category is not None and case.category_id == category.pk
        related = (
            not same
            and parent_id is not None
            and case.category is not None
            and case.category.parent_id == parent_id
        )
        features = Features(
            distance_m=distance,
            radius_m=radius,
            age=max(now - case.received_at, dt.timedelta(0)),
            window=window,
            text_similarity=text_similarity(text, f"{case.title} {case.description}"),
            same_category=same,
            related_category=related,
        )
        found.append(Candidate(case, round(score(features), 4), distance, _reasons(features)))
    found.sort(key=lambda c: (-c.score, c.distance_m))
    return found[:limit]
