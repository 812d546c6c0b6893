"""Benchmark: duplicate detection on real repeats, and the time per check over 1,000,000 cases.

    .venv/bin/python bench/duplicates.py                   # quality + 1,000,000 open cases
    .venv/bin/python bench/duplicates.py --cases 100000    # quicker
    .venv/bin/python bench/duplicates.py --cases 0         # quality only
    .venv/bin/python bench/duplicates.py --show 10         # also print 10 errors each way

Quality: the 7,142 citizen messages of attachments 3 and 4 (../shared/data/gov_messages)
contain real repeats. Labels come from rules that are not the scorer (docs/duplicates.md):

    A. the same normalised detail (留言详情), whoever posted it;
    B. the same second (留言时间) and the same normalised subject (the same message copied into
       both releases under two user ids);
    C. the same user (留言用户) and a detail that difflib's SequenceMatcher ratio puts at 0.8
       or more (a repost with a few words changed);
    D. any two users and a detail ratio of 0.9 or more (near-identical copies);
    then the transitive closure (a repeat of a repeat is a repeat). Pairs from the same user
    with the same subject but a different detail (ratio below 0.8), and pairs of different
    users with a detail ratio between 0.8 and 0.9, are follow-ups or grey: left out of both
    sides. Every other pair is a negative.

The rules look only at the detail text, the user and the second of posting; the scorer looks
at the subject and detail together as character n-gram sets, with the time between them. Intake
only ever compares cases received within the window (7 days), so the pairs evaluated are every
pair of messages posted within the window of each other (about 540,000); labelled pairs further
apart are counted and reported, not scored. The messages have no coordinates and no category,
so each pair is scored twice: as if at the same spot in the same category (the hardest case
for precision: every neighbour of the last week is a candidate) and as if at the edge of the
radius in another category (the hardest for recall). Both must meet the target.

Held out: the threshold was chosen on these same messages, so the benchmark also splits them in
two by time and chooses on one half, measures on the other (both ways round). The cut is the
median posting second (half the messages before it); a repeat group (a connected component of
the labelled pairs) goes whole to the half of its first message, and a pair with one message on
each side of the cut is left out of both halves. Time rather than a random split of the groups
because that is how a threshold is used: set on past cases, applied to later ones; and because
intake compares only cases a week apart, a cut in time loses only the pairs of the week around
it, where a random split would drop every pair whose two messages fell on different sides,
about half of them. The rule, fixed before the halves were looked at: on the tuning half, the
lowest threshold of THRESHOLDS whose precision is at least 0.95 in both conditions (near binds;
the lowest keeps the most recall); the highest of THRESHOLDS if none. The shipped threshold is
also reported on each half.

Speed: a throwaway SQLite under var/bench (or, with --postgres, a PostgreSQL database dropped
and created again) holds --cases open cases (texts drawn from the same messages, up to 300
characters of detail, each with the text signature intake stores; half of them in 200 hot
spots of 300 m, the rest spread over 40 x 40 km; received over the last 30 days), and
`find_candidates` (what the intake result page, the console and the API run) is timed at
--checks points where cases are, --runs times after one untimed run, with the CPU time of
each check beside its wall time and the load average of the shared machine.

    .venv/bin/python bench/duplicates.py --postgres        # PostgreSQL on 127.0.0.1:5432
    .venv/bin/python bench/duplicates.py --postgres postgres://user@host:5432/dbname
"""

from __future__ import annotations

import argparse
import bisect
import csv
import datetime as dt
import difflib
import itertools
import math
import os
import random
import statistics
import sys
import time
from collections import defaultdict
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

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "gov_messages"
FILES = ("attachment3_messages_with_votes_4326.csv", "attachment4_messages_with_replies_2816.csv")
PREFIX = "DUPB"
THRESHOLDS = (0.3, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7, 0.8, 0.9)
CENTRE = (30.66, 104.06)


def load_messages() -> list[dict]:
    rows = []
    for name in FILES:
        with open(DATA / name, encoding="utf-8-sig", newline="") as fh:
            for row in csv.DictReader(fh):
                row["file"] = name[:11]
                row["at"] = dt.datetime.strptime(row["留言时间"].strip()[:19], "%Y-%m-%d %H:%M:%S")
                rows.append(row)
    return rows


def ratio(a: str, b: str, at_least: float) -> float:
    """difflib's ratio, or 0 when its cheap upper bounds already fall short of `at_least`."""
    if not a or not b or 2 * min(len(a), len(b)) / (len(a) + len(b)) < at_least:
        return 0.0
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    if matcher.quick_ratio() < at_least:
        return 0.0
    return matcher.ratio()


def window_pairs(rows: list[dict], window: dt.timedelta) -> list[tuple[int, int]]:
    """Every pair (i < j) of messages posted within `window` of each other."""
    order = sorted(range(len(rows)), key=lambda i: rows[i]["at"])
    times = [rows[i]["at"] for i in order]
    pairs = []
    for k, i in enumerate(order):
        for m in range(bisect.bisect_left(times, rows[i]["at"] - window), k):
            j = order[m]
            pairs.append((min(i, j), max(i, j)))
    return pairs


def group_roots(n: int, pairs) -> list[int]:
    """Union-find over `n` items joined by `pairs`: each item's group representative."""
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        parent[find(a)] = find(b)
    return [find(i) for i in range(n)]


def build_labels(rows: list[dict], pairs: list[tuple[int, int]]) -> tuple[set, set, dict]:
    """(positive pairs, grey pairs, count per rule); see the module docstring."""
    import unicodedata

    from civicgrid.cases.duplicates import NOT_WORD

    def norm(text: str) -> str:
        return NOT_WORD.sub("", unicodedata.normalize("NFKC", text).lower())

    detail = [norm(r["留言详情"]) for r in rows]
    subject = [norm(r["留言主题"]) for r in rows]
    rules: dict[str, set] = defaultdict(set)
    grey: set = set()

    def groups(key) -> list[list[int]]:
        found = defaultdict(list)
        for i in range(len(rows)):
            found[key(i)].append(i)
        return [v for k, v in found.items() if len(v) > 1 and k]

    for group in groups(lambda i: detail[i]):
        rules["A same detail"].update(itertools.combinations(sorted(group), 2))
    for group in groups(lambda i: (rows[i]["留言时间"], subject[i]) if subject[i] else None):
        rules["B same second + subject"].update(itertools.combinations(sorted(group), 2))
    by_user = groups(lambda i: rows[i]["留言用户"])
    for group in by_user:
        for a, b in itertools.combinations(sorted(group), 2):
            if ratio(detail[a], detail[b], 0.8) >= 0.8:
                rules["C same user, detail ratio >= 0.8"].add((a, b))
            elif subject[a] == subject[b]:
                grey.add((a, b))
    for a, b in pairs:
        r = ratio(detail[a], detail[b], 0.8)
        if r >= 0.9:
            rules["D detail ratio >= 0.9"].add((a, b))
        elif r >= 0.8 and rows[a]["留言用户"] != rows[b]["留言用户"]:
            grey.add((a, b))

    root = group_roots(len(rows), [pair for rule in rules.values() for pair in rule])
    components = defaultdict(list)
    for i in range(len(rows)):
        components[root[i]].append(i)
    positive = set()
    for members in components.values():
        positive.update(itertools.combinations(sorted(members), 2))
    counts = {name: len(found) for name, found in sorted(rules.items())}
    counts["closure"] = len(positive)
    return positive, grey - positive, counts


def split_by_time(rows: list[dict], positive: set) -> tuple[list[int], dt.datetime]:
    """(half of each message: 0 before the cut, 1 after, the cut); see the module docstring.

    The cut is the median posting second; every message of a repeat group (a connected
    component of the labelled pairs) takes the half of the group's first message.
    """
    cut = sorted(r["at"] for r in rows)[len(rows) // 2]
    root = group_roots(len(rows), positive)
    first: dict[int, dt.datetime] = {}
    for i, row in enumerate(rows):
        r = root[i]
        first[r] = min(first.get(r, row["at"]), row["at"])
    return [int(first[root[i]] >= cut) for i in range(len(rows))], cut


def precision_recall(scored: list[tuple[float, bool]], at: float) -> tuple[float, float, int, int]:
    """(precision, recall, true positives, false positives) of `scored` flagged at `at`."""
    tp = sum(1 for s, label in scored if label and s >= at)
    fp = sum(1 for s, label in scored if not label and s >= at)
    total = sum(1 for _, label in scored if label)
    return (tp / (tp + fp) if tp + fp else 1.0), (tp / total if total else 1.0), tp, fp


def choose_threshold(results: dict[str, list]) -> float:
    """The rule fixed in advance: the lowest of THRESHOLDS with precision >= 0.95 in both
    conditions, or the highest of THRESHOLDS if none reaches it."""
    for at in sorted(THRESHOLDS):
        if all(precision_recall(results[c], at)[0] >= 0.95 for c in ("near", "far")):
            return at
    return max(THRESHOLDS)


def held_out(rows, positive, scored_pairs, results, chosen) -> dict:
    """Choose the threshold on one half (by time), measure it on the other; see the docstring."""
    half, cut = split_by_time(rows, positive)
    halves = [{"near": [], "far": []}, {"near": [], "far": []}]
    across = {"pairs": 0, "duplicates": 0}
    for k, (a, b) in enumerate(scored_pairs):
        if half[a] != half[b]:
            across["pairs"] += 1
            across["duplicates"] += (a, b) in positive
            continue
        for condition in ("near", "far"):
            halves[half[a]][condition].append(results[condition][k])
    names = ("first", "second")

    def figures(scored: dict[str, list], at: float) -> dict:
        near, far = precision_recall(scored["near"], at), precision_recall(scored["far"], at)
        return {
            "precision_near": round(near[0], 4),
            "recall_near": round(near[1], 4),
            "false_alarms_near": near[3],
            "precision_far": round(far[0], 4),
            "recall_far": round(far[1], 4),
            "false_alarms_far": far[3],
        }

    columns = ["P near", "R near", "FP near", "P far", "R far", "FP far"]
    keys = [
        "precision_near",
        "recall_near",
        "false_alarms_near",
        "precision_far",
        "recall_far",
        "false_alarms_far",
    ]
    data = {
        "cut": cut.isoformat(sep=" "),
        "rule": "lowest of THRESHOLDS with precision >= 0.95 near and far on the tuning half",
        "across_cut": across,
        "halves": {},
        "directions": [],
    }
    table = []
    for h, name in enumerate(names):
        scored = halves[h]
        data["halves"][name] = {
            "messages": sum(1 for x in half if x == h),
            "pairs": len(scored["near"]),
            "duplicates": sum(1 for _, label in scored["near"] if label),
            "at_shipped_threshold": figures(scored, chosen),
        }
        row = data["halves"][name]
        at = row["at_shipped_threshold"]
        table.append([name, row["messages"], row["pairs"], row["duplicates"]])
        table[-1] += [at[k] for k in keys]
    print_table(
        ["half", "messages", "pairs", "duplicates", *columns],
        table,
        title=f"Held out: the messages cut in time at {cut} (the median posting second; a "
        f"repeat group goes with its first message); each half at the shipped threshold "
        f"{chosen}",
    )
    grid = []
    for at in sorted({*THRESHOLDS, chosen}):
        row = [f"{at:.2f}{' <' if at == chosen else ''}"]
        for h in range(2):
            for condition in ("near", "far"):
                row += precision_recall(halves[h][condition], at)[:2]
        grid.append(row)
    data["table"] = [[str(c) if i == 0 else round(c, 4) for i, c in enumerate(r)] for r in grid]
    print_table(
        [
            "threshold",
            "1st P near",
            "1st R near",
            "1st P far",
            "1st R far",
            "2nd P near",
            "2nd R near",
            "2nd P far",
            "2nd R far",
        ],
        grid,
        title="Each half over thresholds",
    )
    table = []
    for h, name in enumerate(names):
        tuned = choose_threshold(halves[h])
        other = names[1 - h]
        found = {
            "tuned_on": name,
            "threshold": tuned,
            "tuning_half": figures(halves[h], tuned),
            "measured_on": other,
            "held_out": figures(halves[1 - h], tuned),
        }
        data["directions"].append(found)
        table.append([name, f"{tuned:.2f}", other, *[found["held_out"][k] for k in keys]])
    print_table(
        ["tuned on", "threshold", "measured on", *columns],
        table,
        title="Held out: threshold chosen on one half (the lowest of THRESHOLDS with P >= 0.95 "
        "near and far there), measured on the other",
    )
    print(
        f"pairs across the cut, left out of both halves: {across['pairs']:,} "
        f"({across['duplicates']} duplicates)"
    )
    return data


def evaluate(args) -> dict:
    from django.conf import settings

    from civicgrid.cases import duplicates

    rows = load_messages()
    window = dt.timedelta(days=settings.DUPLICATE_WINDOW_DAYS)
    radius = float(settings.DUPLICATE_RADIUS_M)
    with timer() as label_time:
        pairs = window_pairs(rows, window)
        positive, grey, counts = build_labels(rows, pairs)
    in_window = set(pairs)
    scored_pairs = [p for p in pairs if p not in grey]
    n = duplicates.ngram_size()
    with timer() as score_time:
        # Through the stored signatures, as a check compares them (32-bit n-gram hashes).
        sigs = [duplicates.signature(f"{r['留言主题']} {r['留言详情']}", n) for r in rows]
        partners = defaultdict(list)
        for a, b in scored_pairs:
            partners[a].append(b)
        similarity = {}
        for a, bs in partners.items():
            for b, value in zip(
                bs, duplicates.similarities(sigs[a], [sigs[b] for b in bs]), strict=True
            ):
                similarity[(a, b)] = value
        score = duplicates.scorer()
        results = {"near": [], "far": []}
        for a, b in scored_pairs:
            age = abs(rows[a]["at"] - rows[b]["at"])
            for condition, distance, same in (("near", 0.0, True), ("far", radius, False)):
                features = duplicates.Features(
                    distance_m=distance,
                    radius_m=radius,
                    age=age,
                    window=window,
                    text_similarity=similarity[(a, b)],
                    same_category=same,
                    related_category=False,
                )
                results[condition].append((score(features), (a, b) in positive))
    total = sum(1 for p in scored_pairs if p in positive)
    # The signatures against the exact n-gram sets: how many pairs' similarity differs (a
    # shared 32-bit hash of two different n-grams), and by how much at most.
    sets = [duplicates.shingles(f"{r['留言主题']} {r['留言详情']}", n) for r in rows]
    off = [abs(similarity[p] - duplicates.jaccard(sets[p[0]], sets[p[1]])) for p in scored_pairs]
    differing = sum(1 for d in off if d)
    print(
        f"signatures vs exact n-gram sets: {differing:,} of {len(off):,} pairs differ, "
        f"by at most {max(off):.4f}"
    )

    def pr(condition: str, at: float) -> tuple[float, float, int, int]:
        return precision_recall(results[condition], at)

    chosen = duplicates.threshold()
    table = []
    for at in sorted({*THRESHOLDS, chosen}):
        near, far = pr("near", at), pr("far", at)
        mark = " <" if at == chosen else ""
        table.append([f"{at:.2f}{mark}", near[0], near[1], near[3], far[0], far[1], far[3]])
    print(
        f"\n{len(rows):,} messages, {len(pairs):,} pairs posted within {window.days} days of "
        f"each other; labels: {counts}; {total:,} duplicate pairs within the window, "
        f"{len(positive - in_window):,} further apart (not comparable at intake), "
        f"{len(grey):,} grey pairs left out; labels built in {label_time.seconds:.1f} s, "
        f"scored in {score_time.seconds:.1f} s ({n}-grams)"
    )
    print_table(
        ["threshold", "P near", "R near", "FP near", "P far", "R far", "FP far"],
        table,
        title="Precision and recall over thresholds (near: same spot and category; "
        "far: edge of the radius, other category)",
    )
    near, far = pr("near", chosen), pr("far", chosen)
    print(
        f"at the threshold {chosen}: precision {near[0]:.3f} (near) / {far[0]:.3f} (far), "
        f"recall {near[1]:.3f} (near) / {far[1]:.3f} (far); target P >= 0.95 at R >= 0.90"
    )
    split = held_out(rows, positive, scored_pairs, results, chosen)
    if args.show:
        misses = [
            p
            for (s, label), p in zip(results["far"], scored_pairs, strict=True)
            if label and s < chosen
        ]
        wrong = [
            p
            for (s, label), p in zip(results["near"], scored_pairs, strict=True)
            if not label and s >= chosen
        ]
        for title, found in (("missed (far)", misses), ("false alarms (near)", wrong)):
            print(f"\n{title}: {len(found)}")
            for a, b in random.Random(1).sample(found, min(args.show, len(found))):
                print(
                    f"  text {similarity[(a, b)]:.2f}, "
                    f"{abs(rows[a]['at'] - rows[b]['at']).total_seconds() / 3600:.0f} h apart, "
                    f"users {rows[a]['留言用户']} / {rows[b]['留言用户']}"
                )
                for i in (a, b):
                    text = duplicates.normalise(rows[i]["留言主题"] + rows[i]["留言详情"])
                    print(f"    {text[:70]}")
    return {
        "messages": len(rows),
        "pairs": len(pairs),
        "labels": counts,
        "positives_in_window": total,
        "positives_beyond_window": len(positive - in_window),
        "grey": len(grey),
        "ngram": n,
        "signature_pairs_differing": differing,
        "signature_max_difference": round(max(off), 5),
        "threshold": chosen,
        "precision_near": round(near[0], 4),
        "recall_near": round(near[1], 4),
        "precision_far": round(far[0], 4),
        "recall_far": round(far[1], 4),
        "table": [[str(c) if i == 0 else c for i, c in enumerate(r)] for r in table],
        "held_out": split,
    }


def build_cases(count: int, now: dt.datetime, seed: int) -> list[tuple[float, float, str]]:
    """Insert `count` open cases with raw executemany; returns (lat, lon, text) of some."""
    from django.db import connection, transaction

    from civicgrid.areas.choices import Level
    from civicgrid.areas.services import create_area
    from civicgrid.cases.choices import Channel, DeadlineStatus, Kind, State, Urgency
    from civicgrid.cases.models import Case

    district = create_area(actor=None, name="基准区", level=Level.DISTRICT, code="510106DUPB")
    from civicgrid.cases.duplicates import signature

    messages = [
        (r["留言主题"].strip()[:100], " ".join(r["留言详情"].split())[:300])
        for r in load_messages()
    ]
    # Written at intake for every case (Case.text_signature); one per distinct message here.
    signatures = {m: signature(f"{m[0]} {m[1]}") for m in messages}
    fields = [f for f in Case._meta.concrete_fields if f.attname != "id"]
    columns = [f.column for f in fields]
    fixed = {f.attname: f.get_default() for f in fields}
    fixed.update(
        channel=Channel.HOTLINE,
        kind=Kind.REPORT,
        area_path=district.path,
        urgency=Urgency.NORMAL,
        state=State.DISPATCHED,
        deadline_status=DeadlineStatus.ON_TIME,
        idempotency_key=None,
    )
    adapt = connection.ops.adapt_datetimefield_value
    rng = random.Random(seed)
    metres_lat = 111_320.0
    metres_lon = 111_320.0 * math.cos(math.radians(CENTRE[0]))
    spots = [(rng.uniform(-20_000, 20_000), rng.uniform(-20_000, 20_000)) for _ in range(200)]
    sample = []

    def rows():
        for i in range(count):
            if i % 2 == 0:
                x, y = rng.choice(spots)
                x, y = x + rng.gauss(0, 300), y + rng.gauss(0, 300)
            else:
                x, y = rng.uniform(-20_000, 20_000), rng.uniform(-20_000, 20_000)
            lat, lon = CENTRE[0] + y / metres_lat, CENTRE[1] + x / metres_lon
            message = rng.choice(messages)
            title, description = message
            received = now - dt.timedelta(seconds=rng.uniform(0, 30 * 86400))
            if i % (count // 1000 or 1) == 0:
                sample.append((lat, lon, f"{title} {description}", received))
            row = dict(fixed)
            row.update(
                number=f"{PREFIX}{i:09d}",
                title=title,
                description=description,
                lat=lat,
                lon=lon,
                received_at=adapt(received),
                dispatched_at=adapt(received),
                clock_started_at=adapt(received),
                text_signature=signatures[message],
            )
            yield [row[f.attname] for f in fields]

    marks = ", ".join(["%s"] * len(columns))
    sql = f"INSERT INTO cases_case ({', '.join(columns)}) VALUES ({marks})"
    with transaction.atomic(), connection.cursor() as cursor:
        batch = []
        for row in rows():
            batch.append(row)
            if len(batch) == 20_000:
                cursor.executemany(sql, batch)
                batch.clear()
        if batch:
            cursor.executemany(sql, batch)
    with connection.cursor() as cursor:
        # Statistics (and on SQLite a checkpoint), as a database in service would have: reads
        # through a 1 GB write-ahead log are much slower than reads of the database file.
        if connection.vendor == "sqlite":
            cursor.execute("ANALYZE")
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        else:
            cursor.execute("VACUUM ANALYZE cases_case")
    return sample


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def time_checks(args) -> dict:
    from django.conf import settings
    from django.db import connection, reset_queries

    from civicgrid.cases import duplicates
    from civicgrid.core import clock

    now = clock.now()
    with timer() as build_time:
        sample = build_cases(args.cases, now, args.seed)
    rng = random.Random(args.seed + 1)
    points = [rng.choice(sample) for _ in range(args.checks)]
    # The text checked: the case's own text with a few words changed (a repeat) for half the
    # checks, another message's text for the other half.
    checks = []
    # Repeats of a case still inside the window: intake can find exactly these.
    findable = 0
    for k, (lat, lon, text, received) in enumerate(points):
        if k % 2:
            text = rng.choice(sample)[2]
        else:
            text = text[5:] + "请尽快处理"
            findable += received >= now - dt.timedelta(days=settings.DUPLICATE_WINDOW_DAYS)
        checks.append((lat + rng.gauss(0, 0.0002), lon + rng.gauss(0, 0.0002), text))

    def run() -> tuple[list[float], list[float], int]:
        """Wall-clock and CPU milliseconds per check, and how many likely duplicates."""
        times, cpu, likely = [], [], 0
        for lat, lon, text in checks:
            started = time.process_time()
            with timer() as t:
                found = duplicates.find_candidates(lat=lat, lon=lon, text=text, now=now)
            cpu.append((time.process_time() - started) * 1000)
            times.append(t.seconds * 1000)
            likely += sum(1 for c in found if c.likely)
        return times, cpu, likely

    # How many open cases each check scores (within the circle and the window, at most 500).
    scored = [
        len(duplicates.find_candidates(lat=lat, lon=lon, text=text, now=now, limit=10**6))
        for lat, lon, text in checks[:100]
    ]

    # The plan of the query a check runs (the first statement of a check).
    statements = []

    def capture(execute, sql, params, many, context):
        statements.append((sql, params))
        return execute(sql, params, many, context)

    lat, lon, text = checks[0]
    with connection.execute_wrapper(capture):
        duplicates.find_candidates(lat=lat, lon=lon, text=text, now=now)
    sql, params = statements[0]
    explain = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN "
    with connection.cursor() as cursor:
        cursor.execute(explain + sql, params)
        plan = " / ".join(str(r[-1]).strip() for r in cursor.fetchall())
    reset_queries()
    run()  # first touch of the database pages
    runs = []
    for number in range(1, args.runs + 1):
        wall, cpu, likely = run()
        runs.append(
            {
                "run": number,
                "wall_p50_ms": round(statistics.median(wall), 2),
                "wall_p99_ms": round(percentile(wall, 99), 2),
                "wall_max_ms": round(max(wall), 2),
                "cpu_p50_ms": round(statistics.median(cpu), 2),
                "cpu_p99_ms": round(percentile(cpu, 99), 2),
                "likely_flagged": likely,
                "load_average": round(os.getloadavg()[0], 1),
            }
        )
    print_table(
        ["run", "p50 ms", "p99 ms", "max ms", "CPU p50 ms", "CPU p99 ms", "load average"],
        [
            [
                r["run"],
                r["wall_p50_ms"],
                r["wall_p99_ms"],
                r["wall_max_ms"],
                r["cpu_p50_ms"],
                r["cpu_p99_ms"],
                r["load_average"],
            ]
            for r in runs
        ],
        title=f"find_candidates over {args.cases:,} open cases on {connection.vendor} "
        f"({args.checks} checks per run; built in {build_time.seconds:.0f} s)",
    )
    print(
        f"open cases scored per check: mean {statistics.mean(scored):.0f}, "
        f"max {max(scored)}; likely duplicates flagged: {runs[-1]['likely_flagged']} "
        f"({findable} checks repeat a case received within the window); "
        f"query plan: {plan}; peak memory {peak_rss_mb():.0f} MB; "
        f"{os.cpu_count()} cores"
    )
    return {
        "database": connection.vendor,
        "cases": args.cases,
        "checks": args.checks,
        "build_seconds": round(build_time.seconds, 1),
        "repeats_within_window": findable,
        "scored_mean": round(statistics.mean(scored), 1),
        "scored_max": max(scored),
        "runs": runs,
        "query_plan": plan,
    }


def use_postgres(url: str) -> None:
    """Point Django at a fresh PostgreSQL database (dropped and created again) and migrate."""
    from urllib.parse import urlsplit, urlunsplit

    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ["CIVICGRID_DATABASE_URL"] = url
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--checks", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--show", type=int, default=0, help="print this many errors each way")
    parser.add_argument("--runs", type=int, default=3, help="timed runs of the checks")
    parser.add_argument(
        "--postgres",
        nargs="?",
        const="postgres://postgres@127.0.0.1:5432/civicgrid_bench_duplicates",
        help="time the checks on this PostgreSQL database (dropped and created again) "
        "instead of a SQLite file; the quality figures are the same on both",
    )
    parser.add_argument("--no-quality", action="store_true", help="time the checks only")
    args = parser.parse_args()
    if args.postgres:
        use_postgres(args.postgres)
    else:
        setup_django("duplicates")
    data = {} if args.no_quality else {"quality": evaluate(args)}
    if args.cases:
        data["speed"] = time_checks(args)
    data["peak_rss_mb"] = round(peak_rss_mb())
    data["environment"] = environment()
    path = write_results("duplicates_postgres" if args.postgres else "duplicates", data)
    print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
