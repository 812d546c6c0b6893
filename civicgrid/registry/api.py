"""The registry API: buildings, households and residents (masked), audited reveals, writes
through the services, grid staffing, coverage, Excel exports and imports.

Handlers fetch through the caller's scope (`visible_to`, `get_visible_or_404`) and hand the
work to `selectors` (reads, masking) and `services` (audited writes); they hold no rules.
"""

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.http import Http404
from ninja import File, Form, Query, Router, Status, UploadedFile
from ninja.pagination import paginate

from civicgrid.areas.choices import Level
from civicgrid.areas.models import Area
from civicgrid.core.api import (
    XLSX_RESPONSE,
    ErrorOut,
    Mapped,
    Page,
    invalid,
    require,
    scope,
    visible_or_invalid,
)
from civicgrid.core.exports import xlsx_response
from civicgrid.core.scoping import get_visible_or_404
from civicgrid.registry import exports, importers, selectors, services
from civicgrid.registry.choices import ImportKind
from civicgrid.registry.coverage import coverage_report, coverage_xlsx
from civicgrid.registry.models import Building, GridAssignment, Household, ImportJob, Resident
from civicgrid.registry.schemas import (
    BuildingCreate,
    BuildingFilter,
    BuildingOut,
    CoverageOut,
    CoverageQuery,
    HouseholdCreate,
    HouseholdDetail,
    HouseholdExportFilter,
    HouseholdFilter,
    HouseholdOut,
    HouseholdUpdate,
    ImportJobOut,
    ResidentCreate,
    ResidentExportFilter,
    ResidentFilter,
    ResidentOut,
    ResidentUpdate,
    RevealedHousehold,
    RevealedResident,
    RevealIn,
    StaffIn,
    StaffOut,
    WorkerRef,
)

router = Router(tags=["registry"])

NOT_FOUND = {404: ErrorOut}
REFUSED = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}


def area_filter(request, area_id: int | None) -> Area | None:
    """The area a list is narrowed to; a hidden one is a 404 like a missing one."""
    if area_id is None:
        return None
    return get_visible_or_404(Area.objects.all(), request.user, pk=area_id)


# --- buildings ------------------------------------------------------------------------------


def _buildings(request):
    return (
        Building.objects.visible_to(request.user)
        .select_related("grid")
        .annotate(household_count=Count("households"))
    )


def _filtered_buildings(request, filters: BuildingFilter):
    buildings = _buildings(request)
    area = area_filter(request, filters.grid)
    if area is not None:
        buildings = buildings.filter(grid__path__startswith=area.path)
    if filters.q:
        text = filters.q.strip()
        buildings = buildings.filter(Q(address__icontains=text) | Q(estate__icontains=text))
    return buildings.order_by("address")


@router.get("/buildings", response=list[BuildingOut], summary="Buildings of the caller's scope")
@paginate(Page)
def list_buildings(request, filters: Query[BuildingFilter]):
    return _filtered_buildings(request, filters)


@router.get(
    "/buildings.xlsx",
    response={200: None, **REFUSED},
    summary="Buildings as an Excel workbook (needs registry.export; audited)",
    openapi_extra=XLSX_RESPONSE,
)
def buildings_workbook(request, filters: Query[BuildingFilter]):
    data = exports.export_buildings_xlsx(request.user, _filtered_buildings(request, filters))
    return xlsx_response(data, "buildings.xlsx")


@router.get(
    "/buildings/{building_id}", response={200: BuildingOut, **NOT_FOUND}, summary="One building"
)
def get_building(request, building_id: int):
    return get_visible_or_404(_buildings(request), request.user, pk=building_id)


@router.post(
    "/buildings",
    response={201: BuildingOut, **REFUSED},
    summary="Register a building (needs registry.edit); without a grid, located from lat/lon",
)
def create_building(request, payload: BuildingCreate):
    grid = None
    if payload.grid is not None:
        grid = visible_or_invalid(Area.objects.all(), request.user, payload.grid, "grid")
    building = services.create_building(
        actor=request.user,
        grid=grid,
        address=payload.address,
        estate=payload.estate,
        number=payload.number,
        floors=payload.floors,
        lat=payload.lat,
        lon=payload.lon,
    )
    return Status(201, _buildings(request).get(pk=building.pk))


# --- households -----------------------------------------------------------------------------


@router.get("/households", response=list[HouseholdOut], summary="Households (contact masked)")
@paginate(Page)
def list_households(request, filters: Query[HouseholdFilter]):
    caller = scope(request)
    households = selectors.search_households(
        request.user, filters.q or "", area_filter(request, filters.area)
    )
    return Mapped(households, lambda h: selectors.masked_household(h, caller))


@router.get(
    "/households/{household_id}",
    response={200: HouseholdDetail, **NOT_FOUND},
    summary="One household and its members (masked)",
)
def get_household(request, household_id: int):
    caller = scope(request)
    household = get_visible_or_404(Household.objects.all(), request.user, pk=household_id)
    body = selectors.masked_household(household, caller)
    body["residents"] = [
        selectors.masked_resident(r, caller)
        for r in selectors.residents_of(household, request.user).select_related("household")
    ]
    return body


@router.post(
    "/households/{household_id}/reveal",
    response={200: RevealedHousehold, **REFUSED},
    summary="The unmasked contact of one household (needs registry.reveal; audited)",
)
def reveal_household(request, household_id: int, payload: RevealIn):
    household = get_visible_or_404(Household.objects.all(), request.user, pk=household_id)
    revealed = services.reveal_household(household, actor=request.user, reason=payload.reason)
    return {"id": household.pk, **revealed}


@router.post(
    "/households",
    response={201: HouseholdOut, **REFUSED},
    summary="Register a household (needs registry.edit), in a grid, a community or a building",
)
def create_household(request, payload: HouseholdCreate):
    area = building = None
    if payload.area is not None:
        area = visible_or_invalid(Area.objects.all(), request.user, payload.area, "area")
    if payload.building is not None:
        building = visible_or_invalid(
            Building.objects.all(), request.user, payload.building, "building"
        )
    household = services.create_household(
        actor=request.user,
        area=area,
        building=building,
        **payload.model_dump(exclude={"area", "building"}),
    )
    return Status(201, selectors.masked_household(household, scope(request)))


@router.patch(
    "/households/{household_id}",
    response={200: HouseholdOut, **REFUSED},
    summary="Change a household (needs registry.edit); only the fields sent change",
)
def update_household(request, household_id: int, payload: HouseholdUpdate):
    household = get_visible_or_404(Household.objects.all(), request.user, pk=household_id)
    changes = payload.model_dump(exclude_unset=True)
    for name in ("address", "household_type"):
        if name in changes and changes[name] is None:
            raise invalid(name, "This field may not be null.", "body")
    for name in ("entrance", "room", "contact_name", "contact_phone"):
        if name in changes and changes[name] is None:
            changes[name] = ""
    if changes.get("area") is not None:
        changes["area"] = visible_or_invalid(
            Area.objects.all(), request.user, changes["area"], "area"
        )
    if changes.get("building") is not None:
        changes["building"] = visible_or_invalid(
            Building.objects.all(), request.user, changes["building"], "building"
        )
    household = services.update_household(household, actor=request.user, **changes)
    return selectors.masked_household(household, scope(request))


# --- residents ------------------------------------------------------------------------------


@router.get("/residents", response=list[ResidentOut], summary="Residents (masked)")
@paginate(Page)
def list_residents(request, filters: Query[ResidentFilter]):
    caller = scope(request)
    residents = selectors.search_residents(
        request.user,
        filters.q or "",
        area_filter(request, filters.area),
        filters.tag,
        filters.population_type,
    )
    return Mapped(residents, lambda r: selectors.masked_resident(r, caller))


@router.get(
    "/residents/{resident_id}",
    response={200: ResidentOut, **NOT_FOUND},
    summary="One resident (masked)",
)
def get_resident(request, resident_id: int):
    resident = get_visible_or_404(
        Resident.objects.select_related("household"), request.user, pk=resident_id
    )
    return selectors.masked_resident(resident, scope(request))


@router.post(
    "/residents/{resident_id}/reveal",
    response={200: RevealedResident, **REFUSED},
    summary="The unmasked ID number, phone and name of one resident (needs registry.reveal; "
    "audited)",
)
def reveal_resident(request, resident_id: int, payload: RevealIn):
    resident = get_visible_or_404(Resident.objects.all(), request.user, pk=resident_id)
    revealed = services.reveal_resident(resident, actor=request.user, reason=payload.reason)
    return {"id": resident.pk, **revealed}


@router.post(
    "/residents",
    response={201: ResidentOut, **REFUSED},
    summary="Register a resident (needs registry.edit)",
)
def create_resident(request, payload: ResidentCreate):
    household = area = None
    if payload.household is not None:
        household = visible_or_invalid(
            Household.objects.all(), request.user, payload.household, "household"
        )
    if payload.area is not None:
        area = visible_or_invalid(Area.objects.all(), request.user, payload.area, "area")
    resident = services.create_resident(
        actor=request.user,
        name=payload.name,
        id_number=payload.id_number,
        household=household,
        area=area,
        phone=payload.phone,
        relation=payload.relation,
        population_type=payload.population_type,
        tags=payload.tags,
        ethnicity=payload.ethnicity,
        arrived_on=payload.arrived_on,
    )
    return Status(201, selectors.masked_resident(resident, scope(request)))


@router.patch(
    "/residents/{resident_id}",
    response={200: ResidentOut, **REFUSED},
    summary="Change a resident (needs registry.edit); only the fields sent change",
)
def update_resident(request, resident_id: int, payload: ResidentUpdate):
    resident = get_visible_or_404(Resident.objects.all(), request.user, pk=resident_id)
    changes = payload.model_dump(exclude_unset=True)
    moving = "household" in changes
    household_id = changes.pop("household", None)
    household = None
    if household_id is not None:
        household = visible_or_invalid(
            Household.objects.all(), request.user, household_id, "household"
        )
    # One request, one outcome: a refused move undoes the field changes and vice versa.
    with transaction.atomic():
        resident = services.update_resident(resident, actor=request.user, **changes)
        if moving:
            resident = services.move_resident(resident, household, actor=request.user)
    resident = Resident.objects.select_related("household").get(pk=resident.pk)
    return selectors.masked_resident(resident, scope(request))


# --- grid staffing --------------------------------------------------------------------------


def visible_grid(request, grid_id: int) -> Area:
    return get_visible_or_404(Area.objects.filter(level=Level.GRID), request.user, pk=grid_id)


@router.get(
    "/grids/{grid_id}/staff",
    response={200: list[StaffOut], **NOT_FOUND},
    summary="The grid's staff with their A/B posts",
)
def grid_staff(request, grid_id: int):
    grid = visible_grid(request, grid_id)
    return (
        GridAssignment.objects.visible_to(request.user)
        .filter(grid=grid)
        .select_related("worker")
        .order_by("post", "worker__username")
    )


@router.get(
    "/grids/{grid_id}/staff/candidates",
    response={200: list[WorkerRef], **REFUSED},
    summary="Who the caller may post to the grid (needs staff.assign)",
)
def staff_candidates(request, grid_id: int):
    grid = visible_grid(request, grid_id)
    require(request, "staff.assign")
    posted = GridAssignment.objects.filter(grid=grid).values("worker_id")
    return services.postable_workers(request.user, grid).exclude(pk__in=posted)


@router.post(
    "/grids/{grid_id}/staff",
    response={201: StaffOut, **REFUSED},
    summary="Post a grid worker to the grid (needs staff.assign)",
)
def assign_staff(request, grid_id: int, payload: StaffIn):
    grid = visible_grid(request, grid_id)
    require(request, "staff.assign")
    # Someone the caller may not post (another street's worker, a resident) reads as missing.
    worker = services.postable_workers(request.user, grid).filter(pk=payload.worker).first()
    if worker is None:
        raise invalid("worker", "Not found.", "body")
    assignment = services.assign_grid_worker(
        actor=request.user, grid=grid, worker=worker, post=payload.post
    )
    return Status(201, assignment)


@router.delete(
    "/grids/{grid_id}/staff/{assignment_id}",
    response={204: None, **REFUSED},
    summary="End a posting (needs staff.assign)",
)
def unassign_staff(request, grid_id: int, assignment_id: int):
    grid = visible_grid(request, grid_id)
    assignment = get_visible_or_404(
        GridAssignment.objects.filter(grid=grid).select_related("grid"),
        request.user,
        pk=assignment_id,
    )
    require(request, "staff.assign")
    services.unassign_grid_worker(assignment, actor=request.user)
    return Status(204, None)


# --- coverage -------------------------------------------------------------------------------


def report_area(area_id: int) -> Area:
    """The area a coverage report is asked for. It may lie above the caller's scope (a grid
    worker may ask for their district and gets their own part of it); the report itself
    answers 404 when nothing under it is visible."""
    area = Area.objects.filter(pk=area_id).first()
    if area is None:
        raise Http404
    return area


@router.get(
    "/coverage",
    response={200: CoverageOut, **REFUSED},
    summary="The coverage report (格不漏户、户不漏人) of an area",
)
def coverage(request, params: Query[CoverageQuery]):
    return coverage_report(request.user, report_area(params.area))


@router.get(
    "/coverage.xlsx",
    response={200: None, **REFUSED},
    summary="The coverage report as an Excel workbook",
    openapi_extra=XLSX_RESPONSE,
)
def coverage_workbook(request, params: Query[CoverageQuery]):
    report = coverage_report(request.user, report_area(params.area))
    return xlsx_response(coverage_xlsx(report), f"coverage-{report.area.code}.xlsx")


# --- exports --------------------------------------------------------------------------------


@router.get(
    "/residents.xlsx",
    response={200: None, **REFUSED},
    summary="Residents as an Excel workbook (needs registry.export; masked unless reveal)",
    openapi_extra=XLSX_RESPONSE,
)
def residents_workbook(request, filters: Query[ResidentExportFilter]):
    residents = selectors.search_residents(
        request.user,
        filters.q or "",
        area_filter(request, filters.area),
        filters.tag,
        filters.population_type,
    )
    data = exports.export_residents_xlsx(
        request.user, residents, reveal=filters.reveal, reason=filters.reason
    )
    return xlsx_response(data, "residents.xlsx")


@router.get(
    "/households.xlsx",
    response={200: None, **REFUSED},
    summary="Households as an Excel workbook (needs registry.export; masked unless reveal)",
    openapi_extra=XLSX_RESPONSE,
)
def households_workbook(request, filters: Query[HouseholdExportFilter]):
    households = selectors.search_households(
        request.user, filters.q or "", area_filter(request, filters.area)
    )
    data = exports.export_households_xlsx(
        request.user, households, reveal=filters.reveal, reason=filters.reason
    )
    return xlsx_response(data, "households.xlsx")


# --- imports --------------------------------------------------------------------------------


@router.post(
    "/imports",
    response={201: ImportJobOut, 202: ImportJobOut, **REFUSED},
    summary="Import households or residents from .xlsx or .csv (needs registry.edit)",
)
def create_import(
    request,
    kind: Form[ImportKind],
    area: Form[int],
    file: File[UploadedFile],
    dry_run: Form[bool] = True,
):
    """A file up to `IMPORT_SYNC_MAX_BYTES` is imported within the request: the answer (201)
    is the finished job. A larger one is queued (202): poll `GET /imports/{id}`."""
    target = visible_or_invalid(Area.objects.all(), request.user, area, "area")
    importers.check_size(file.size or 0)  # before reading a too-large upload into memory
    data = file.read()
    job = importers.create_import_job(
        actor=request.user,
        kind=kind,
        area=target,
        file_name=file.name or "",
        data=data,
        dry_run=dry_run,
    )
    if len(data) <= settings.IMPORT_SYNC_MAX_BYTES:
        return Status(201, importers.run_import(job, data))
    importers.run_import_in_background(job, data)
    return Status(202, job)


@router.get(
    "/imports/{job_id}",
    response={200: ImportJobOut, **NOT_FOUND},
    summary="An import's status, progress and row errors",
)
def get_import(request, job_id: int):
    return get_visible_or_404(ImportJob.objects.all(), request.user, pk=job_id)
