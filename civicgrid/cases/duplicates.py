"""Spotting duplicates at intake (重复件): open cases near the same place, recent, with similar
text.

Candidates are open cases within `DUPLICATE_RADIUS_M` metres and `DUPLICATE_WINDOW_DAYS` days.
The database narrows them with a bounding box and the received time on the index
(lat, lon, received_at), fetching only the columns scoring needs; the exact distance is computed
here and the texts of the survivors are compared as character n-gram sets (Jaccard). Each case
carries the n-grams of its text as a signature written at intake (`Case.text_signature`: the
sorted 32-bit hashes of its distinct n-grams), so a check hashes one text, its own, and compares
sorted integer arrays instead of cutting a few hundred texts into n-grams. Only the best `limit`
cases are loaded as model objects.

Each candidate is scored by the scorer the setting `DUPLICATE_SCORER` names (a dotted path;
`weighted_score` by default), so a learned scorer can replace it without touching intake.
Scores are in [0, 1], best first; a score at or above `DUPLICATE_THRESHOLD` marks a likely
duplicate. Every number the default scorer uses (weights, floor, threshold, n-gram size) is a
setting; the defaults below were chosen on the real repeats in the provincial message board
data (`bench/duplicates.py`, method in docs/duplicates.md).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings
from django.db import connection
from django.db.models.functions import Coalesce
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from civicgrid.areas.geometry import METRES_PER_DEGREE_LAT, haversine_m, metres_to_degrees
from civicgrid.cases.models import Case, Category
from civicgrid.core import clock

DEFAULT_RADIUS_M = 200.0
DEFAULT_WINDOW_DAYS = 7
DEFAULT_SCORER = "civicgrid.cases.duplicates.weighted_score"
DEFAULT_THRESHOLD = 0.55
DEFAULT_NGRAM = 3
# How much place, time and category can lower the text's verdict: the score is
# text x (floor + (1 - floor) x context), so context alone never makes a duplicate.
DEFAULT_TEXT_FLOOR = 0.75
# Weights of the context signals (each in [0, 1]); they add up to 1.
DEFAULT_WEIGHTS = {"distance": 0.5, "time": 0.3, "category": 0.2}
# How many open cases the bounding box may bring back before scoring: a busy corner of a big
# city must not turn one intake into thousands of text comparisons. The newest are kept.
MAX_SCANNED = 500
# Texts are compared on their first this many characters (after normalising): a repeat shows
# in its opening, and a 4,000-character petition must not cost a check ten times a call's.
TEXT_MAX_CHARS = 1000
# Below this text similarity the reason is not worth showing.
TEXT_REASON_MIN = 0.2
# A text signature: the distinct n-gram hashes, sorted, as little-endian unsigned 32-bit
# integers (about 1.2 KB for a 300-character call). Two different n-grams share a hash with
# a chance of about one in four billion, so a similarity can be off by one n-gram in a few
# comparisons per ten thousand; the evaluation (bench/duplicates.py) measures through these
# hashes and matches the exact sets.
SIGNATURE_DTYPE = np.dtype("<u4")
# FNV-1a's 64-bit prime and offset, then splitmix64's finalizer: every code point of the
# n-gram moves every bit of the hash, and its top 32 bits are kept.
_PRIME = np.uint64(0x100000001B3)
_OFFSET = 0xCBF29CE484222325
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


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
    likely: bool = False  # score at or above DUPLICATE_THRESHOLD


Scorer = Callable[[Features], float]

# Phone numbers, whole or masked (138****5678, 0731-8888****): the same message repeated may
# carry the number masked differently, and a number says nothing about the request itself.
PHONE = re.compile(
    r"(?:\+?86[- ]?)?1[3-9]\d[\d*]{4}[\d*]{4}(?!\d)"
    r"|(?<!\d)0\d{2,3}-?[\d*]{7,8}(?!\d)"
    r"|\d{2,4}\*{3,}\d{2,4}"
)
# Everything that is not a letter or a digit: punctuation (full- and half-width), white space
# including U+3000 and the scraped \n\t runs.
NOT_WORD = re.compile(r"[\W_]+")


def normalise(text: str) -> str:
    """The text as compared: full-width folded to half-width (NFKC), lower case, phone numbers
    dropped, punctuation and white space removed (Chinese has no word breaks to keep)."""
    folded = unicodedata.normalize("NFKC", text or "").lower()
    return NOT_WORD.sub("", PHONE.sub("", folded))


def shingles(text: str, n: int | None = None) -> set[str]:
    """The character n-grams of the normalised text (the whole text when shorter than n), from
    its first `TEXT_MAX_CHARS` characters."""
    n = n or ngram_size()
    chars = normalise(text)[:TEXT_MAX_CHARS]
    if len(chars) <= n:
        return {chars} if chars else set()
    return {chars[i : i + n] for i in range(len(chars) - n + 1)}


def signature(text: str, n: int | None = None) -> bytes:
    """The text's signature: the sorted distinct 32-bit hashes of the n-grams `shingles` cuts
    (the same n-grams, so the similarity of two signatures is the Jaccard index of the two
    n-gram sets), after a 4-byte header naming n. No hashes for a text with no letter or
    digit. Stored in `Case.text_signature` at intake; `manage.py backfill_text_signatures`
    fills older cases."""
    n = n or ngram_size()
    chars = normalise(text)[:TEXT_MAX_CHARS]
    if not chars:
        return _header(n)
    codes = np.frombuffer(chars.encode("utf-32-le"), dtype="<u4").astype(np.uint64)
    width = min(n, len(codes))  # a text shorter than n is one gram, the whole text
    windows = np.lib.stride_tricks.sliding_window_view(codes, width)
    # The gram's length is in the seed: a short text never hashes like a full n-gram.
    hashes = np.full(len(windows), np.uint64((_OFFSET + width) % 2**64), dtype=np.uint64)
    for k in range(width):
        hashes ^= windows[:, k]
        hashes *= _PRIME
    hashes ^= hashes >> np.uint64(30)
    hashes *= _MIX1
    hashes ^= hashes >> np.uint64(27)
    hashes *= _MIX2
    hashes ^= hashes >> np.uint64(31)
    return _header(n) + np.unique((hashes >> np.uint64(32)).astype(SIGNATURE_DTYPE)).tobytes()


def _header(n: int) -> bytes:
    """A signature's first 4 bytes: the n-gram size it was cut with."""
    return int(n).to_bytes(4, "little")


def is_current(sig: bytes | memoryview | None, n: int | None = None) -> bool:
    """Whether a stored signature was cut with the n-gram size in force (a signature stored
    before `DUPLICATE_NGRAM` changed is recomputed from the text until it is backfilled)."""
    return sig is not None and bytes(sig[:4]) == _header(n or ngram_size())


def as_array(sig: bytes | memoryview | None) -> np.ndarray:
    """A signature's hashes as a sorted uint32 array (empty for None)."""
    return np.frombuffer(bytes(sig or b"")[4:], dtype=SIGNATURE_DTYPE)


def similarities(mine: bytes, others: Iterable[bytes | memoryview]) -> list[float]:
    """The Jaccard similarity of the signature `mine` with each of `others`, in one pass:
    the others are joined into one array, each hash looked up in `mine` (binary search), and
    the hits counted per signature. 0.0 where either side is empty."""
    blobs = [bytes(o or b"")[4:] for o in others]
    if not blobs:
        return []
    own = as_array(mine)
    lengths = np.fromiter((len(b) // 4 for b in blobs), dtype=np.int64, count=len(blobs))
    if not len(own) or not lengths.any():
        return [0.0] * len(blobs)
    joined = np.frombuffer(b"".join(blobs), dtype=SIGNATURE_DTYPE)
    at = np.searchsorted(own, joined)
    at[at == len(own)] = 0
    hits = np.concatenate(([0], np.cumsum(own[at] == joined)))
    ends = np.cumsum(lengths)
    shared = hits[ends] - hits[ends - lengths]
    union = len(own) + lengths - shared
    return [
        float(s) / float(u) if size else 0.0
        for s, u, size in zip(shared.tolist(), union.tolist(), lengths.tolist(), strict=True)
    ]


def jaccard(left: set[str], right: set[str]) -> float:
    if not left or not right:
        return 0.0
    shared = len(left & right)
    return shared / (len(left) + len(right) - shared)


def text_similarity(a: str, b: str, n: int | None = None) -> float:
    """Jaccard similarity of the character n-gram sets of two normalised texts (0 to 1), as a
    check computes it (through the signatures)."""
    return similarities(signature(a, n), [signature(b, n)])[0]


def ngram_size() -> int:
    return int(getattr(settings, "DUPLICATE_NGRAM", DEFAULT_NGRAM))


def threshold() -> float:
    return float(getattr(settings, "DUPLICATE_THRESHOLD", DEFAULT_THRESHOLD))


def weights() -> dict[str, float]:
    return {**DEFAULT_WEIGHTS, **getattr(settings, "DUPLICATE_WEIGHTS", {})}


def context(f: Features) -> float:
    """Place, time and category agreement in [0, 1]: 1 for the same spot, just now, same
    category; 0 at the edge of the radius, at the end of the window, in another category."""
    w = weights()
    near = max(0.0, 1.0 - f.distance_m / f.radius_m) if f.radius_m else 0.0
    recent = max(0.0, 1.0 - f.age / f.window) if f.window else 0.0
    category = 1.0 if f.same_category else 0.5 if f.related_category else 0.0
    total = w["distance"] + w["time"] + w["category"]
    if total <= 0:
        return 0.0
    return (w["distance"] * near + w["time"] * recent + w["category"] * category) / total


def weighted_score(f: Features) -> float:
    """Similar text decides; a closer, newer, same-category candidate keeps more of it (0 to 1).

    The text similarity is scaled by floor + (1 - floor) x context: a repeat next door an hour
    later keeps all of it, one at the edge of the radius at the end of the window in another
    category keeps `floor` of it. Neighbours with unrelated text stay near 0, however close."""
    floor = float(getattr(settings, "DUPLICATE_TEXT_FLOOR", DEFAULT_TEXT_FLOOR))
    return f.text_similarity * (floor + (1.0 - floor) * context(f))


def scorer() -> Scorer:
    return import_string(getattr(settings, "DUPLICATE_SCORER", DEFAULT_SCORER))


def _reasons(f: Features, likely: bool) -> list[str]:
    reasons = []
    if likely:
        reasons.append(_("likely duplicate"))
    if f.text_similarity >= TEXT_REASON_MIN:
        reasons.append(
            _("text %(percent)d%% similar") % {"percent": round(100 * f.text_similarity)}
        )
    reasons.append(_("%(metres)d m away") % {"metres": round(f.distance_m)})
    hours = f.age.total_seconds() / 3600
    if hours < 48:
        reasons.append(_("%(hours)d h apart") % {"hours": max(0, round(hours))})
    else:
        reasons.append(_("%(days)d days apart") % {"days": round(hours / 24)})
    if f.same_category:
        reasons.append(_("same category"))
    elif f.related_category:
        reasons.append(_("related category"))
    return reasons


def find_candidates(
    *,
    lat: float | None,
    lon: float | None,
    text: str,
    category: Category | None = None,
    exclude: Case | int | None = None,
    now: dt.datetime | None = None,
    received_at: dt.datetime | None = None,
    limit: int = 10,
) -> list[Candidate]:
    """Open cases that may be the same request, best first (at most `limit`).

    The window runs back from `now`; the time between two requests is measured from
    `received_at` (when the request being checked came in; `now` by default), so a case looked
    at days later is still compared with its neighbours by how far apart they came in.
    Without a point there is nothing to compare places with, and the answer is empty.
    """
    if lat is None or lon is None:
        return []
    now = now or clock.now()
    received_at = received_at or now
    radius = float(getattr(settings, "DUPLICATE_RADIUS_M", DEFAULT_RADIUS_M))
    window = dt.timedelta(days=getattr(settings, "DUPLICATE_WINDOW_DAYS", DEFAULT_WINDOW_DAYS))
    dlat = radius / METRES_PER_DEGREE_LAT
    dlon = metres_to_degrees(radius, lat)
    rows = Case.objects.open().filter(
        lat__gte=lat - dlat, lat__lte=lat + dlat, lon__gte=lon - dlon, lon__lte=lon + dlon
    )
    received = "received_at"
    if connection.vendor == "sqlite":
        # SQLite keeps no histograms and, given a plain received_at range, answered the window
        # from the received_at index: in a big city 7 days of open cases are a quarter of a
        # million rows, the box around one point a few hundred (6.7 s per check at 1,000,000
        # open cases). The received time written as COALESCE(received_at, received_at) is no
        # use to that index, and SQLite still tests it on the (lat, lon, received_at) index
        # entry before it reads the row. PostgreSQL's statistics choose the location index by
        # themselves, and there the plain column is an index condition.
        rows = rows.alias(received_sqlite=Coalesce("received_at", "received_at"))
        received = "received_sqlite"
    rows = rows.filter(**{f"{received}__gte": now - window, f"{received}__lte": now}).order_by(
        f"-{received}"
    )
    if exclude is not None:
        rows = rows.exclude(pk=getattr(exclude, "pk", exclude))
    rows = rows.values_list(
        "pk",
        "lat",
        "lon",
        "received_at",
        "category_id",
        "category__parent_id",
        "text_signature",
    )[:MAX_SCANNED]

    near = []
    for row in rows:
        distance = haversine_m(lat, lon, row[1], row[2])
        if distance <= radius:
            near.append((distance, row))
    if not near:
        return []
    n = ngram_size()
    blobs = [row[6] for _d, row in near]
    missing = [row[0] for _d, row in near if not is_current(row[6], n)]
    if missing:
        # Cases received before signatures were stored (or before the n-gram size changed)
        # and not yet backfilled: their text is cut here.
        texts = {
            pk: f"{title} {description}"
            for pk, title, description in Case.objects.filter(pk__in=missing).values_list(
                "pk", "title", "description"
            )
        }
        blobs = [
            blob if is_current(blob, n) else signature(texts.get(row[0], ""), n)
            for blob, (_d, row) in zip(blobs, near, strict=True)
        ]
    texts_alike = similarities(signature(text, n), blobs)

    score = scorer()
    likely_at = threshold()
    parent_id = category.parent_id if category is not None else None
    scored: list[tuple[float, float, int, Features]] = []
    for (distance, row), alike in zip(near, texts_alike, strict=True):
        pk, _lat, _lon, c_received_at, category_id, c_parent_id, _sig = row
        same = category is not None and category_id == category.pk
        related = not same and parent_id is not None and c_parent_id == parent_id
        features = Features(
            distance_m=distance,
            radius_m=radius,
            age=abs(received_at - c_received_at),
            window=window,
            text_similarity=alike,
            same_category=same,
            related_category=related,
        )
        scored.append((round(score(features), 4), distance, pk, features))
    scored.sort(key=lambda s: (-s[0], s[1]))
    best = scored[:limit]
    if not best:
        return []
    cases = Case.objects.select_related("category").in_bulk([pk for _s, _d, pk, _f in best])
    found = []
    for value, distance, pk, features in best:
        if pk not in cases:  # deleted since the scan
            continue
        likely = value >= likely_at
        found.append(Candidate(cases[pk], value, distance, _reasons(features, likely), likely))
    return found
