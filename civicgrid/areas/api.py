"""The areas API: the tree, boundaries as GeoJSON, sibling checks, the locator, and edits
through `areas.services`. Reads go through the caller's scope (`areas.selectors`)."""

from django.db import transaction
from django.db.models import Q
from ninja import Query, Router, Status
from ninja.pagination import paginate

from civicgrid.areas import locator, selectors, services, validation
from civicgrid.areas.models import Area
from civicgrid.areas.schemas import (
    AreaCreate,
    AreaDetail,
    AreaFilter,
    AreaOut,
    AreaUpdate,
    ChildrenQuery,
    Feature,
    FeatureCollection,
    LocateQuery,
    LocationOut,
    MergeIn,
    ReportQuery,
    RetireIn,
    SiblingReportOut,
    SplitIn,
    SplitOut,
    TreeNode,
    TreeQuery,
)
from civicgrid.core import clock
from civicgrid.core.api import ErrorOut, Page, invalid, require, scope, visible_or_invalid
from civicgrid.core.scoping import get_visible_or_404

router = Router(tags=["areas"])

NOT_FOUND = {404: ErrorOut}
REFUSED = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}


def visible_area(request, area_id: int) -> Area:
    return get_visible_or_404(Area.objects.all(), request.user, pk=area_id)


def detail(area: Area) -> Area:
    """`area` with what AreaDetail adds: its chain from the top and whether it has a shape."""
    area.chain = selectors.chain_of(area)
    area.has_geometry = area.geometry is not None
    return area


@router.get("/areas", response=list[AreaOut], summary="Areas of the caller's scope")
@paginate(Page)
def list_areas(request, filters: Query[AreaFilter]):
    areas = Area.objects.visible_to(request.user)
    if not filters.include_retired:
        areas = areas.current()
    if filters.level:
        areas = areas.filter(level=filters.level)
    if filters.layer:
        areas = areas.filter(layer=filters.layer)
    if filters.parent is not None:
        areas = areas.filter(parent=visible_area(request, filters.parent))
    if filters.q:
        text = filters.q.strip()
        areas = areas.filter(Q(name__icontains=text) | Q(code__startswith=text))
    return areas.order_by("path")


# Declared before /areas/{area_id}, so "tree" is never read as an id.
@router.get(
    "/areas/tree",
    response={200: list[TreeNode], **NOT_FOUND},
    summary="The caller's part of the area tree, nested",
)
def area_tree(request, params: Query[TreeQuery]):
    root = visible_area(request, params.root) if params.root is not None else None
    return selectors.area_tree(request.user, root=root, max_depth=params.max_depth)


# Declared before /areas/{area_id} too.
@router.post(
    "/areas/merge",
    response={201: AreaDetail, **REFUSED},
    summary="Merge sibling areas into a new one or into one of them (areas.edit)",
)
def merge_areas(request, payload: MergeIn):
    sources = [
        visible_or_invalid(Area.objects.all(), request.user, pk, "sources")
        for pk in payload.sources
    ]
    require(request, "areas.edit")
    merged = services.merge_areas(
        sources,
        into_name=payload.into_name,
        into_code=payload.into_code,
        actor=request.user,
        effective_date=payload.effective_date or clock.today(),
    )
    return Status(201, detail(Area.objects.get(pk=merged.pk)))


@router.get("/areas/{area_id}", response={200: AreaDetail, **NOT_FOUND}, summary="One area")
def get_area(request, area_id: int):
    return detail(visible_area(request, area_id))


@router.get(
    "/areas/{area_id}/geojson",
    response={200: Feature, **NOT_FOUND},
    summary="The area's boundary as a GeoJSON Feature",
)
def area_geojson(request, area_id: int):
    area = visible_area(request, area_id)
    return {
        "type": "Feature",
        "id": area.pk,
        "geometry": area.geometry,
        "properties": {
            "id": area.pk,
            "code": area.code,
            "name": area.name,
            "level": area.level,
            "layer": area.layer,
            "priority": area.priority,
            "size_m2": area.size_m2,
        },
    }


@router.get(
    "/areas/{area_id}/children.geojson",
    response={200: FeatureCollection, **NOT_FOUND},
    summary="The area's children (or all its grids) as a GeoJSON FeatureCollection",
)
def children_geojson(request, area_id: int, params: Query[ChildrenQuery]):
    area = visible_area(request, area_id)
    return selectors.grids_geojson(request.user, area, params.layer, all_grids=params.all_grids)


@router.get(
    "/areas/{area_id}/siblings-report",
    response={200: SiblingReportOut, **NOT_FOUND},
    summary="Gaps and overlaps among the area's children, and children sticking out of it",
)
def siblings_report(request, area_id: int, params: Query[ReportQuery]):
    report = validation.sibling_report(visible_area(request, area_id), params.layer)
    return {**report.as_dict(), "ok": report.ok}


@router.post("/areas", response={201: AreaDetail, **REFUSED}, summary="Create an area (areas.edit)")
def create_area(request, payload: AreaCreate):
    parent = None
    if payload.parent is not None:
        parent = visible_or_invalid(Area.objects.all(), request.user, payload.parent, "parent")
    require(request, "areas.edit")
    if parent is None and not scope(request).everything:
        # A top-level area lies outside every subtree but the administrator's.
        raise invalid(
            "parent", "Choose the parent area (only administrators add top levels).", "body"
        )
    area = services.create_area(
        actor=request.user,
        name=payload.name,
        code=payload.code,
        level=payload.level,
        parent=parent,
        layer=payload.layer,
        priority=payload.priority,
        valid_from=payload.valid_from,
        geometry=payload.geometry,
    )
    return Status(201, detail(area))


@router.patch(
    "/areas/{area_id}",
    response={200: AreaDetail, **REFUSED},
    summary="Rename, reshape, re-prioritise or move an area (areas.edit)",
)
def update_area(request, area_id: int, payload: AreaUpdate):
    area = visible_area(request, area_id)
    require(request, "areas.edit")
    changes = payload.model_dump(exclude_unset=True)
    new_parent = None
    if changes.get("parent") is not None:
        new_parent = visible_or_invalid(
            Area.objects.all(), request.user, changes["parent"], "parent"
        )
    elif "parent" in changes:
        raise invalid("parent", "An area cannot be moved to the top level.", "body")
    edits = {k: changes[k] for k in ("name", "priority", "geometry") if k in changes}
    # One request, one outcome: a refused move undoes a rename sent with it.
    with transaction.atomic():
        if edits:
            area = services.update_area(area, actor=request.user, **edits)
        if new_parent is not None and new_parent.pk != area.parent_id:
            area = services.reparent_area(
                area,
                new_parent,
                actor=request.user,
                effective_date=changes.get("effective_date") or clock.today(),
            )
    return detail(Area.objects.get(pk=area.pk))


@router.post(
    "/areas/{area_id}/split",
    response={201: SplitOut, **REFUSED},
    summary="Split an area into new siblings (areas.edit); the original is retired",
)
def split_area(request, area_id: int, payload: SplitIn):
    area = visible_area(request, area_id)
    require(request, "areas.edit")
    result = services.split_area(
        area,
        services.parts_from_geojson(payload.parts),
        actor=request.user,
        effective_date=payload.effective_date or clock.today(),
    )
    return Status(
        201, {"areas": list(result), "placed": result.placed, "unplaced": result.unplaced}
    )


@router.post(
    "/areas/{area_id}/retire",
    response={200: AreaDetail, **REFUSED},
    summary="Retire an area without sub-areas or registry rows (areas.edit)",
)
def retire_area(request, area_id: int, payload: RetireIn):
    area = visible_area(request, area_id)
    require(request, "areas.edit")
    services.retire_area(
        area, actor=request.user, effective_date=payload.effective_date or clock.today()
    )
    return detail(Area.objects.get(pk=area.pk))


@router.get(
    "/locate",
    response={200: LocationOut, 422: ErrorOut},
    summary="Which grid (and community, street, district) a point or an address is in",
)
def locate(request, params: Query[LocateQuery]):
    """Any signed-in user may locate: the answer carries only names and codes of areas."""
    address = (params.address or "").strip()
    if address:
        if params.lat is not None or params.lon is not None:
            raise invalid("address", "Give either an address or lat and lon, not both.")
        found = locator.locate_address(address, layer=params.layer)
    else:
        if params.lat is None:
            raise invalid("lat", "Latitude is required (or give an address).")
        if params.lon is None:
            raise invalid("lon", "Longitude is required (or give an address).")
        found = locator.locate(params.lat, params.lon, layer=params.layer)
    result = found.as_dict()
    result["building"] = (
        {"id": found.building_id, "address": found.matched_address}
        if found.building_id is not None
        else None
    )
    return result
