"""GeoJSON parsing and validation for area boundaries (WGS84 longitude/latitude)."""

from __future__ import annotations

import math

import shapely
import shapely.ops
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity

EARTH_RADIUS_M = 6_371_008.8
METRES_PER_DEGREE_LAT = math.pi * EARTH_RADIUS_M / 180  # about 111,195 m


class GeometryError(ValueError):
    """A boundary we cannot accept; the message says why in plain words."""


def parse_geometry(data) -> BaseGeometry:
    """Turn a GeoJSON geometry (or Feature) into a valid Polygon/MultiPolygon, or raise."""
    if isinstance(data, dict) and data.get("type") == "Feature":
        data = data.get("geometry")
    if not isinstance(data, dict) or "type" not in data or "coordinates" not in data:
        raise GeometryError("Not a GeoJSON geometry: expected an object with type and coordinates.")
    if data["type"] not in ("Polygon", "MultiPolygon"):
        raise GeometryError(f"Boundary must be a Polygon or MultiPolygon, not {data['type']}.")
    try:
        geom = shape(data)
    except Exception as exc:  # shapely raises several types for malformed coordinates
        raise GeometryError(f"Malformed coordinates: {exc}") from None
    if geom.is_empty:
        raise GeometryError("Boundary is empty.")
    min_x, min_y, max_x, max_y = geom.bounds
    if not (-180 <= min_x <= max_x <= 180 and -90 <= min_y <= max_y <= 90):
        raise GeometryError(
            "Coordinates are outside WGS84 longitude/latitude ranges "
            "(GeoJSON order is [longitude, latitude])."
        )
    if not geom.is_valid:
        raise GeometryError(f"Invalid geometry: {explain_validity(geom)}.")
    if geom.area == 0:
        raise GeometryError("Boundary has no area.")
    return geom


def to_geojson(geom: BaseGeometry) -> dict:
    return dict(shapely.geometry.mapping(geom))


def size_m2(geom: BaseGeometry) -> float:
    """Area in square metres, from a local equirectangular projection at the centroid.

    Accurate to well under 1% for district-sized shapes, which is all the locator's
    "smaller grid wins" rule and the reports need.
    """
    lat = geom.centroid.y
    return geom.area * METRES_PER_DEGREE_LAT**2 * math.cos(math.radians(lat))


def metres_to_degrees(metres: float, lat: float) -> float:
    """The larger of the lon/lat degree spans of `metres` at latitude `lat`."""
    return metres / (METRES_PER_DEGREE_LAT * max(math.cos(math.radians(lat)), 0.01))


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


def distance_m(geom: BaseGeometry, lon: float, lat: float) -> float:
    """Metres from the point to the nearest edge of `geom` (0 inside)."""
    point = shapely.Point(lon, lat)
    if geom.covers(point):
        return 0.0
    nearest = shapely.ops.nearest_points(geom, point)[0]
    return haversine_m(lat, lon, nearest.y, nearest.x)
