"""Benchmark: the point-to-grid locator against a raw shapely STRtree on the same polygons.

    .venv/bin/python bench/locate.py                   # 15,767 grids, 100,000 points
    .venv/bin/python bench/locate.py --points 20000    # quicker

Builds a district of 15,767 grids (seed 001's figure) on a throwaway SQLite database: a
126 x 126 lattice (the last row partial) of irregular octagons, about 80 m across, whose
shared vertices and edge midpoints are jittered so neighbours still tile exactly, grouped
into communities of 12 x 12 grids and streets of 3 x 3 communities. Then, in the same run
and on the same polygons, it times single lookups of random points inside the district:

- `locator.locate(lat, lon)`: the real thing (index cached per process, revision re-checked
  once a second as in production, the chain of ancestors and the tie-break included);
- raw `shapely.STRtree(polygons).query(shapely.Point(lon, lat), predicate="intersects")`.

Target: the locator within 2x of raw. Also reports the time to build the index (from the
database) and the memory it takes, checks both agree on every point, and times points in
the gap just outside the district (the nearest-grid fallback). Prints a table and writes
bench/results/locate.json.
"""

from __future__ import annotations

import argparse
import random
import sys
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    best_of,
    environment,
    peak_rss_mb,
    print_table,
    rss_mb,
    setup_django,
    timer,
    write_results,
)

GRIDS = 15_767
SIDE = 126  # lattice columns; 125 full rows and 17 grids in the last
COMMUNITY_BLOCK = 12  # grids per community side
STREET_BLOCK = 3  # communities per street side
ORIGIN_LON, ORIGIN_LAT = 104.0, 30.65
SPAN_LON, SPAN_LAT = 0.105, 0.09  # about 10 km x 10 km, the size of an urban district
JITTER = 0.2  # of a cell, for shared vertices and edge midpoints
TARGET_RATIO = 2.0
SEED = 1


def lattice(seed: int = SEED) -> list[tuple[int, int, list[tuple[float, float]]]]:
    """(col, row, ring) for each grid: octagons on a jittered lattice that tile exactly."""
    rng = random.Random(seed)
    dx, dy = SPAN_LON / SIDE, SPAN_LAT / SIDE
    rows = -(-GRIDS // SIDE)

    def jitter(on_border: bool) -> tuple[float, float]:
        if on_border:
            return 0.0, 0.0
        return rng.uniform(-JITTER, JITTER) * dx, rng.uniform(-JITTER, JITTER) * dy

    corner: dict[tuple[int, int], tuple[float, float]] = {}
    for i in range(SIDE + 1):
        for j in range(rows + 1):
            ox, oy = jitter(i in (0, SIDE) or j in (0, rows))
            corner[i, j] = (ORIGIN_LON + i * dx + ox, ORIGIN_LAT + j * dy + oy)
    # Edge midpoints move across their edge only, so the two cells sharing it stay simple.
    h_mid: dict[tuple[int, int], tuple[float, float]] = {}  # edge from corner (i,j) to (i+1,j)
    v_mid: dict[tuple[int, int], tuple[float, float]] = {}  # edge from corner (i,j) to (i,j+1)
    for i in range(SIDE + 1):
        for j in range(rows + 1):
            if i < SIDE:
                (x1, y1), (x2, y2) = corner[i, j], corner[i + 1, j]
                shift = 0.0 if j in (0, rows) else rng.uniform(-JITTER, JITTER) * dy
                h_mid[i, j] = ((x1 + x2) / 2, (y1 + y2) / 2 + shift)
            if j < rows:
                (x1, y1), (x2, y2) = corner[i, j], corner[i, j + 1]
                shift = 0.0 if i in (0, SIDE) else rng.uniform(-JITTER, JITTER) * dx
                v_mid[i, j] = ((x1 + x2) / 2 + shift, (y1 + y2) / 2)
    cells = []
    for n in range(GRIDS):
        i, j = n % SIDE, n // SIDE
        ring = [
            corner[i, j],
            h_mid[i, j],
            corner[i + 1, j],
            v_mid[i + 1, j],
            corner[i + 1, j + 1],
            h_mid[i, j + 1],
            corner[i, j + 1],
            v_mid[i, j],
        ]
        cells.append((i, j, [*ring, ring[0]]))
    return cells


def build_district(cells) -> None:
    """Write the district, streets, communities and grids in bulk (no per-row services:
    this is test data for the locator), keeping paths and parent links consistent."""
    from django.db import transaction

    from civicgrid.areas.choices import Level
    from civicgrid.areas.importers import fill_paths
    from civicgrid.areas.models import Area, AreaParentLink
    from civicgrid.areas.services import apply_geometry, bump_revision

    rows = -(-GRIDS // SIDE)
    with transaction.atomic():
        district = Area(
            code="510106",
            name="基准区",
            level=Level.DISTRICT,
            path="",
            geometry={
                "type": "Polygon",
                "coordinates": [
                    [
                        [ORIGIN_LON, ORIGIN_LAT],
                        [ORIGIN_LON + SPAN_LON, ORIGIN_LAT],
                        [ORIGIN_LON + SPAN_LON, ORIGIN_LAT + SPAN_LAT * rows / SIDE],
                        [ORIGIN_LON, ORIGIN_LAT + SPAN_LAT * rows / SIDE],
                        [ORIGIN_LON, ORIGIN_LAT],
                    ]
                ],
            },
        )
        apply_geometry(district, district.geometry)
        district.save()
        fill_paths(Level.DISTRICT)
        blocks = -(-SIDE // COMMUNITY_BLOCK)
        streets = {}
        for sx in range(-(-blocks // STREET_BLOCK)):
            for sy in range(-(-blocks // STREET_BLOCK)):
                n = len(streets) + 1
                streets[sx, sy] = Area(
                    code=f"510106{n:03d}",
                    name=f"第{n}街道",
                    level=Level.STREET,
                    parent=district,
                    path="",
                )
        Area.objects.bulk_create(streets.values())
        fill_paths(Level.STREET)
        communities = {}
        for bx in range(blocks):
            for by in range(-(-rows // COMMUNITY_BLOCK)):
                street = streets[bx // STREET_BLOCK, by // STREET_BLOCK]
                n = len(communities) + 1
                communities[bx, by] = Area(
                    code=f"{street.code}{n:03d}",
                    name=f"第{n}社区",
                    level=Level.COMMUNITY,
                    parent=street,
                    path="",
                )
        Area.objects.bulk_create(communities.values())
        fill_paths(Level.COMMUNITY)
        grids = []
        for n, (i, j, ring) in enumerate(cells, start=1):
            community = communities[i // COMMUNITY_BLOCK, j // COMMUNITY_BLOCK]
            grid = Area(
                code=f"{community.code}{n:05d}",
                name=f"第{n}网格",
                level=Level.GRID,
                parent=community,
                path="",
            )
            apply_geometry(grid, {"type": "Polygon", "coordinates": [ring]})
            grids.append(grid)
        Area.objects.bulk_create(grids, batch_size=500)
        fill_paths(Level.GRID)
        everything = [district, *streets.values(), *communities.values(), *grids]
        AreaParentLink.objects.bulk_create(
            [AreaParentLink(area=a, parent=a.parent) for a in everything], batch_size=1000
        )
        bump_revision()


def points_inside(n: int, seed: int) -> list[tuple[float, float]]:
    """Uniform random (lat, lon) where the lattice surely has grids: below the last full
    row's lower edge (its upper edge is jittered, with no grid above it in most columns)."""
    rng = random.Random(seed)
    full_rows = GRIDS // SIDE
    top = ORIGIN_LAT + SPAN_LAT * (full_rows - 1) / SIDE
    return [
        (rng.uniform(ORIGIN_LAT, top), rng.uniform(ORIGIN_LON, ORIGIN_LON + SPAN_LON))
        for _ in range(n)
    ]


def points_in_gap(n: int, seed: int) -> list[tuple[float, float]]:
    """Random points 1-40 m west of the district: outside every grid, within the tolerance."""
    rng = random.Random(seed)
    return [
        (
            rng.uniform(ORIGIN_LAT, ORIGIN_LAT + SPAN_LAT * 0.9),
            ORIGIN_LON - rng.uniform(1, 40) / 95_800,
        )
        for _ in range(n)
    ]


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3, help="best of N timed runs")
    args = parser.parse_args(argv)

    setup_django("locate")
    import shapely

    from civicgrid.areas import locator
    from civicgrid.areas.models import Area

    cells = lattice()
    with timer() as setup:
        build_district(cells)
    assert Area.objects.grids().count() == GRIDS

    # Index build, from the database, as a worker does after a change.
    locator.invalidate()
    rss_before = rss_mb()
    with timer() as build:
        index = locator.get_index()
    index_rss_mb = rss_mb() - rss_before
    # Python-side allocations of a second build (tracemalloc slows it, so it is not timed;
    # GEOS allocates outside Python, which the RSS growth above includes).
    locator.invalidate()
    tracemalloc.start()
    index = locator.get_index()
    python_peak_mb = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()

    # The same polygons for the raw tree, and its own build time.
    polygons = index.geoms
    with timer() as raw_build:
        tree = shapely.STRtree(polygons)

    inside = points_inside(args.points, seed=SEED)
    gap = points_in_gap(max(1, args.points // 10), seed=SEED + 1)
    locate = locator.locate
    point = shapely.Point

    def run_locator(points=inside):
        for lat, lon in points:
            locate(lat, lon)

    def run_raw(points=inside):
        query = tree.query
        for lat, lon in points:
            query(point(lon, lat), predicate="intersects")

    # Interleaved best-of runs, so a slow moment of the machine hurts both alike.
    locator_s = raw_s = float("inf")
    for _ in range(args.repeat):
        locator_s = min(locator_s, best_of(1, run_locator))
        raw_s = min(raw_s, best_of(1, run_raw))
    gap_s = best_of(args.repeat, lambda: run_locator(gap))
    bulk = shapely.points([lon for _, lon in inside], [lat for lat, _ in inside])
    vector_s = best_of(args.repeat, lambda: tree.query(bulk, predicate="intersects"))

    # Both must give the same answer: the grid containing the point.
    disagree = 0
    for lat, lon in inside[:20_000]:
        hits = tree.query(point(lon, lat), predicate="intersects")
        found = locate(lat, lon)
        if len(hits) != 1 or found.grid is None or found.grid.id != index.refs[int(hits[0])].id:
            disagree += 1
    gap_found = sum(locate(lat, lon).status == locator.Status.NEAREST for lat, lon in gap)

    ratio = locator_s / raw_s
    result = {
        "benchmark": "locate",
        "grids": GRIDS,
        "vertices_per_grid": 8,
        "points": len(inside),
        "setup_seconds": round(setup.seconds, 2),
        "index_build_seconds": round(build.seconds, 3),
        "raw_tree_build_seconds": round(raw_build.seconds, 4),
        "index_rss_mb": round(index_rss_mb, 1),
        "index_python_peak_mb": round(python_peak_mb, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "locator_seconds": round(locator_s, 3),
        "raw_seconds": round(raw_s, 3),
        "locator_lookups_per_second": round(len(inside) / locator_s),
        "raw_lookups_per_second": round(len(inside) / raw_s),
        "locator_us_per_lookup": round(locator_s / len(inside) * 1e6, 2),
        "raw_us_per_lookup": round(raw_s / len(inside) * 1e6, 2),
        "ratio": round(ratio, 2),
        "target_ratio": TARGET_RATIO,
        "within_target": ratio <= TARGET_RATIO,
        "gap_points": len(gap),
        "gap_lookups_per_second": round(len(gap) / gap_s),
        "gap_points_resolved_nearest": gap_found,
        "vectorised_raw_lookups_per_second": round(len(inside) / vector_s),
        "checked_points": min(len(inside), 20_000),
        "disagreements": disagree,
        "environment": environment(),
    }
    print_table(
        ["measure", "value"],
        [
            ["grids (8 vertices each)", GRIDS],
            ["district set-up (s)", result["setup_seconds"]],
            ["index build from DB (s)", result["index_build_seconds"]],
            ["raw STRtree build (s)", result["raw_tree_build_seconds"]],
            ["index memory, RSS growth (MB)", result["index_rss_mb"]],
            ["index build, Python peak (MB)", result["index_python_peak_mb"]],
            ["process peak RSS (MB)", result["peak_rss_mb"]],
        ],
        title=f"Locator index: {GRIDS:,} grids",
    )
    print_table(
        ["lookup", "points", "per second", "µs each"],
        [
            [
                "locator.locate()",
                len(inside),
                result["locator_lookups_per_second"],
                result["locator_us_per_lookup"],
            ],
            [
                "raw STRtree.query()",
                len(inside),
                result["raw_lookups_per_second"],
                result["raw_us_per_lookup"],
            ],
            [
                "locator, gap → nearest",
                len(gap),
                result["gap_lookups_per_second"],
                round(gap_s / len(gap) * 1e6, 2),
            ],
            [
                "raw, vectorised (reference)",
                len(inside),
                result["vectorised_raw_lookups_per_second"],
                round(vector_s / len(inside) * 1e6, 2),
            ],
        ],
        title=f"Single lookups, best of {args.repeat}",
    )
    verdict = "within" if result["within_target"] else "OUTSIDE"
    print(
        f"\nlocator / raw = {ratio:.2f}x ({verdict} the {TARGET_RATIO:g}x target); "
        f"{disagree} disagreements on {result['checked_points']:,} points; "
        f"{gap_found}/{len(gap)} gap points resolved to the nearest grid."
    )
    path = write_results("locate", result)
    print(f"Wrote {path.relative_to(Path(__file__).resolve().parent.parent)}")
    if disagree:
        sys.exit(
            "The locator and the raw tree disagree: the benchmark is not measuring the same thing."
        )
    return result


if __name__ == "__main__":
    main()
