"""Generated boundaries: an irregular district outline, and partitions that tile a parent.

A partition is a Voronoi diagram of points inside the parent, clipped to it, so the children
cover the parent with no gap and no overlap by construction. Clipping is done in full double
precision: snapping the points where a Voronoi edge crosses the parent's boundary to a lattice
would leave square-metre slivers along it, while unsnapped siblings share their edges to
within about 1e-5 m². `tiling_problem` checks the result.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import shapely
from shapely.geometry import MultiPoint, Polygon, box
from shapely.geometry.base import BaseGeometry

GRID_SIZE = 1e-7  # degrees (about 1 cm): the outline's vertices sit on this lattice


def outline(
    bbox: Sequence[float],
    rng: np.random.Generator,
    *,
    anchors: Sequence[tuple[float, float]] = (),
    vertices: int = 96,
    harmonics: Sequence[int] = (2, 3, 4, 5, 7),
    amplitude: float = 0.09,
    jitter: float = 0.015,
    anchor_margin: float = 0.006,
) -> Polygon:
    """A plausible, irregular district boundary inside `bbox` (min_lon, min_lat, max_lon, max_lat).

    A radius that wobbles with a few seeded harmonics and a little per-vertex jitter gives a
    star-shaped (hence valid) polygon; it is then widened to hold every anchor point with a
    margin, so each street's seed lies inside the district.
    """
    min_x, min_y, max_x, max_y = bbox
    cx, cy = (min_x + max_x) / 2, (min_y + max_y) / 2
    half_w, half_h = (max_x - min_x) / 2, (max_y - min_y) / 2
    theta = np.linspace(0.0, 2 * math.pi, vertices, endpoint=False)
    radius = np.ones(vertices)
    for k in harmonics:
        radius += (
            rng.uniform(0.3, 1.0) * amplitude * np.sin(k * theta + rng.uniform(0, 2 * math.pi))
        )
    radius += rng.normal(0.0, jitter, vertices)
    radius /= radius.max()
    shape = Polygon(
        np.column_stack(
            [cx + half_w * radius * np.cos(theta), cy + half_h * radius * np.sin(theta)]
        )
    )
    if anchors:
        hull = MultiPoint(list(anchors)).convex_hull.buffer(anchor_margin, quad_segs=4)
        shape = shapely.union(shape, hull).intersection(box(*bbox))
        shape = max(polygon_parts(shape), key=lambda p: p.area)
        shape = Polygon(shape.exterior)  # the union can leave a pinched hole; fill it
    return shapely.set_precision(shape, GRID_SIZE)


def sample_points(
    polygon: BaseGeometry, count: int, rng: np.random.Generator
) -> list[tuple[float, float]]:
    """`count` points drawn uniformly inside `polygon` (rejection sampling in its bounding box)."""
    if count <= 0:
        return []
    min_x, min_y, max_x, max_y = polygon.bounds
    shapely.prepare(polygon)
    found: list[tuple[float, float]] = []
    ratio = max(polygon.area / ((max_x - min_x) * (max_y - min_y)), 0.05)
    while len(found) < count:
        n = int((count - len(found)) / ratio * 1.3) + 8
        xs = rng.uniform(min_x, max_x, n)
        ys = rng.uniform(min_y, max_y, n)
        # Strictly inside, so a point never sits on the edge two grids share.
        inside = shapely.contains_xy(polygon, xs, ys)
        found.extend(zip(xs[inside].tolist(), ys[inside].tolist(), strict=True))
    return found[:count]


def polygon_parts(geom: BaseGeometry) -> list[Polygon]:
    """The non-empty polygons of any geometry (dropping the lines and points of a collection)."""
    return [
        part
        for part in shapely.get_parts(geom)
        if isinstance(part, Polygon) and not part.is_empty and part.area > 0
    ]


def partition(
    parent: BaseGeometry,
    rng: np.random.Generator,
    *,
    count: int | None = None,
    seeds: Sequence[tuple[float, float]] | None = None,
    relax: int = 2,
) -> list[Polygon]:
    """Split `parent` into cells that tile it: around `seeds` in their order, or around `count`
    random points made even by `relax` rounds of Lloyd relaxation (in reading order)."""
    if seeds is None:
        if count is None or count < 1:
            raise ValueError("partition needs a positive count or some seeds")
        points = sample_points(parent, count, rng)
        ordered = True
    else:
        points, relax, ordered = list(seeds), 0, False
    if len(points) == 1:
        return [_single(parent)]
    for _ in range(relax):
        cells = _clip_cells(parent, points)
        points = [_inner_centre(cell, parent) for cell in cells]
    cells = _merge_fragments(_clip_cells(parent, points))
    return reading_order(cells) if ordered else cells


def reading_order(cells: list[Polygon]) -> list[Polygon]:
    """North to south in rows, west to east within a row (how grid codes are numbered)."""
    if len(cells) < 2:
        return list(cells)
    top = max(c.bounds[3] for c in cells)
    band = math.sqrt(sum(c.area for c in cells) / len(cells))
    centres = [c.centroid for c in cells]
    order = sorted(
        range(len(cells)),
        key=lambda i: (int((top - centres[i].y) / band), centres[i].x),
    )
    return [cells[i] for i in order]


def tiling_problem(
    parent: BaseGeometry, cells: Sequence[BaseGeometry], *, ratio: float = 1e-6
) -> str:
    """'' when `cells` cover `parent` with gaps, overlaps and overhangs each below `ratio` of its
    area; otherwise what is wrong."""
    union = shapely.union_all(list(cells))
    limit = parent.area * ratio
    gap = parent.difference(union).area
    overhang = union.difference(parent).area
    overlap = sum(c.area for c in cells) - union.area
    problems = [
        f"{label} {value:.3e} deg²"
        for label, value in (("gap", gap), ("overlap", overlap), ("overhang", overhang))
        if value > limit
    ]
    return ", ".join(problems)


def _single(geom: BaseGeometry) -> Polygon:
    parts = polygon_parts(geom)
    return parts[0] if len(parts) == 1 else geom


def _clip_cells(parent: BaseGeometry, points: list[tuple[float, float]]) -> list[BaseGeometry]:
    diagram = shapely.voronoi_polygons(shapely.multipoints(points), extend_to=parent, ordered=True)
    cells = shapely.get_parts(diagram)
    if len(cells) != len(points):  # coincident points collapse into one cell
        raise ValueError("partition seeds must be distinct")
    return [shapely.intersection(cell, parent) for cell in cells]


def _inner_centre(cell: BaseGeometry, parent: BaseGeometry) -> tuple[float, float]:
    centre = cell.centroid
    if not parent.contains(centre):
        centre = cell.representative_point()
    return centre.x, centre.y


def _merge_fragments(cells: list[BaseGeometry]) -> list[BaseGeometry]:
    """A Voronoi cell clipped to a concave parent can fall apart; each stray piece joins the
    neighbour it shares the longest edge with, so every child is one polygon."""
    cells = list(cells)
    for i in range(len(cells)):
        parts = sorted(polygon_parts(cells[i]), key=lambda p: p.area, reverse=True)
        if len(parts) <= 1:
            continue
        cells[i] = parts[0]
        for part in parts[1:]:
            shared = [
                (part.boundary.intersection(cells[j].boundary).length, j)
                for j in range(len(cells))
                if j != i
            ]
            length, j = max(shared)
            target = j if length > 0 else i
            cells[target] = shapely.union(cells[target], part)
    return [_single(cell) for cell in cells]
