"""Shapes of the areas API: areas, GeoJSON features, the locator's answer."""

import datetime as dt
from typing import Annotated, Literal

from ninja import Field, Schema

from civicgrid.areas.choices import GridLayer, Level

Latitude = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
Longitude = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]


class AreaRef(Schema):
    id: int
    code: str
    name: str
    level: str


class AreaOut(Schema):
    id: int
    code: str
    name: str
    level: Level
    layer: GridLayer
    parent_id: int | None
    depth: int
    priority: int
    valid_from: dt.date | None
    valid_to: dt.date | None
    size_m2: float | None
    bbox: list[float] | None = Field(
        None, description="[min_lon, min_lat, max_lon, max_lat] of the boundary (WGS84)."
    )

    @staticmethod
    def resolve_bbox(obj) -> list[float] | None:
        if obj.min_lon is None:
            return None
        return [obj.min_lon, obj.min_lat, obj.max_lon, obj.max_lat]


class AreaDetail(AreaOut):
    chain: list[AreaRef] = Field(
        description="From the top of the tree down to this area (breadcrumbs)."
    )
    has_geometry: bool


class TreeNode(Schema):
    id: int
    code: str
    name: str
    level: Level
    layer: GridLayer
    child_count: int = Field(description="All current children, even where depth cut them.")
    children: list["TreeNode"]


TreeNode.model_rebuild()


class TreeQuery(Schema):
    root: int | None = Field(None, description="Start here (default: the caller's subtrees).")
    max_depth: int | None = Field(None, ge=0, le=10, description="Levels below the top nodes.")


class ChildrenQuery(Schema):
    layer: GridLayer = GridLayer.SERVICE
    all_grids: bool = Field(
        False, description="Every grid of the layer under the area, not just the next level."
    )


class ReportQuery(Schema):
    layer: GridLayer = GridLayer.SERVICE


class OverlapOut(Schema):
    a: str
    b: str
    area_m2: float


class GapOut(Schema):
    area_m2: float
    lat: float = Field(description="A point inside the gap.")
    lon: float


class OutsideOut(Schema):
    code: str
    area_m2: float


class SiblingReportOut(Schema):
    parent: str = Field(description="Code of the area whose children were compared.")
    layer: GridLayer
    children: int
    min_m2: float = Field(description="Slivers smaller than this are ignored.")
    parent_has_geometry: bool
    overlaps: list[OverlapOut]
    gaps: list[GapOut]
    outside: list[OutsideOut]
    without_geometry: list[str]
    ok: bool


class AreaFilter(Schema):
    level: Level | None = None
    parent: int | None = Field(None, description="Only the children of this area.")
    layer: GridLayer | None = None
    q: str | None = Field(None, description="Part of the name or code.")
    include_retired: bool = False


class AreaCreate(Schema):
    name: str = Field(min_length=1, max_length=100)
    code: str = Field(min_length=1, max_length=32)
    level: Level
    parent: int | None = Field(None, description="Parent area id; omit for a top-level area.")
    layer: GridLayer = GridLayer.SERVICE
    priority: int = 0
    valid_from: dt.date | None = None
    geometry: dict | None = Field(
        None, description="GeoJSON Polygon or MultiPolygon (or a Feature holding one), WGS84."
    )


class AreaUpdate(Schema):
    """Fields of a PATCH; only those sent are changed."""

    name: str | None = Field(None, min_length=1, max_length=100)
    priority: int | None = None
    geometry: dict | None = None
    parent: int | None = Field(None, description="Move the area under this parent.")
    effective_date: dt.date | None = Field(
        None, description="When a move or a new boundary takes effect (default: today)."
    )


class MergeIn(Schema):
    sources: list[int] = Field(
        min_length=2, description="Ids of sibling areas (same parent, level and grid type)."
    )
    into_name: str = Field(min_length=1, max_length=100)
    into_code: str = Field(
        min_length=1,
        max_length=32,
        description="A new code, or the code of one of the sources, which then survives.",
    )
    effective_date: dt.date | None = Field(None, description="Default: today.")


class SplitIn(Schema):
    parts: dict = Field(
        description="A GeoJSON FeatureCollection, one Polygon/MultiPolygon feature per part "
        "with the properties `name` and `code`."
    )
    effective_date: dt.date | None = Field(None, description="Default: today.")


class RetireIn(Schema):
    effective_date: dt.date | None = Field(None, description="Default: today.")


class UnplacedOut(Schema):
    model: str = Field(description="e.g. registry.Household, accounts.RoleAssignment.")
    pk: int
    label: str
    reason: str


class SplitOut(Schema):
    areas: list[AreaOut] = Field(description="The new areas, in the order of the parts.")
    placed: dict[str, int] = Field(description="Registry rows moved into the parts, per model.")
    unplaced: list[UnplacedOut] = Field(
        description="Rows left on the retired area for a person to place: registry rows "
        "without a location, organisations, staffing, role assignments, units covering it."
    )


class Feature(Schema):
    type: Literal["Feature"] = "Feature"
    id: int | str | None = None
    geometry: dict | None
    properties: dict


class FeatureCollection(Schema):
    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[Feature]


class LocateQuery(Schema):
    lat: Latitude | None = Field(None, description="WGS84 latitude, -90..90.")
    lon: Longitude | None = Field(None, description="WGS84 longitude, -180..180.")
    address: str | None = Field(None, max_length=200, description="Instead of lat/lon.")
    layer: GridLayer = GridLayer.SERVICE


class PlaceRef(Schema):
    id: int
    code: str
    name: str


class BuildingRef(Schema):
    id: int
    address: str


class LocationOut(Schema):
    status: Literal["inside", "overlap", "nearest", "outside"]
    grid: PlaceRef | None
    community: PlaceRef | None
    street: PlaceRef | None
    district: PlaceRef | None
    distance_m: float | None = Field(description="0 inside a grid; metres to the nearest one.")
    overlaps: list[str] = Field(description="Codes of the other grids containing the point.")
    building: BuildingRef | None = Field(description="The building an address matched.")
