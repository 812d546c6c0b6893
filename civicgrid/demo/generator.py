"""Loading the demo district (`manage.py load_demo`), in one transaction.

1. The real district and its streets come from the national division codes
   (`areas.importers.import_divisions`), imported only when missing.
2. On a fresh district the district and street boundaries are drawn (`plan.outline`);
   communities and grids are partitioned from the stored street boundary (`plan`).
3. Each street not built yet is built: areas in bulk (paths, parent links and the area
   revision kept consistent as the area services keep them), then per community the
   buildings, households, residents, places, facilities and organisations, each row cleaned
   by the registry services' rules (`rows`) and bulk inserted.
4. New grids get their grid workers; the fixed logins are (re)set; one audit row records it.

Running it again builds only the streets still missing, so it never duplicates anything;
`reset=True` first deletes everything below street level in the district.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import ProtectedError
from shapely.geometry.base import BaseGeometry

from civicgrid.accounts.models import RoleAssignment
from civicgrid.areas import services as area_services
from civicgrid.areas.choices import Level
from civicgrid.areas.geometry import to_geojson
from civicgrid.areas.importers import division_code, import_divisions
from civicgrid.areas.models import Area
from civicgrid.cases.models import Case
from civicgrid.core import audit
from civicgrid.core.errors import ServiceError
from civicgrid.demo import cases as demo_cases
from civicgrid.demo import catalogue, plan, staff
from civicgrid.demo.builder import StreetBuilder
from civicgrid.demo.seeding import rng
from civicgrid.registry.models import (
    Building,
    Facility,
    GridAssignment,
    Household,
    ImportJob,
    Organization,
    Place,
    Resident,
)

BELOW_STREET = (Level.GRID, Level.ESTATE, Level.ZONE, Level.COMMUNITY)  # deepest first


class DemoError(Exception):
    """The demo cannot be loaded; the message says why and what to do about it."""


def default_data_dir() -> Path:
    """../shared/data/admin_divisions next to the repository (never copied into it)."""
    return Path(settings.BASE_DIR).parent / "shared" / "data" / "admin_divisions"


@dataclass(frozen=True)
class DemoOptions:
    district: str = "510106"
    scale: float = 0.05  # 1.0: households_per_grid (535 in 金牛区) households per grid
    seed: int = 42
    data_dir: Path | None = None
    streets: int | None = None  # build only the first N streets (by code)
    reset: bool = False
    cases: int = demo_cases.DEFAULT_CASES  # the case history (0: configuration only)


@dataclass
class DemoResult:
    district: str
    built: list[str]  # streets built by this run (empty: the demo was already there)
    counts: dict[str, int]
    seconds: float
    reset: bool = False
    logins_refreshed: bool = False


def load_demo(options: DemoOptions, *, log: Callable[[str], None] | None = None) -> DemoResult:
    """Build the demo district described by `options` (see the module docstring)."""
    log = log or (lambda message: None)
    started = time.monotonic()
    if not options.scale > 0:
        raise DemoError("The scale must be positive (1.0 = about 535 households per grid).")
    if options.streets is not None and options.streets < 1:
        raise DemoError("--streets must be at least 1.")
    catalogue.check()
    catalogue.district_profile(options.district)
    with transaction.atomic():
        district, streets = _divisions(options)
        if options.reset:
            _wipe(district)
            log(f"Reset: deleted the demo below the streets of {district.name}.")
        selected = streets[: options.streets] if options.streets else streets
        built_ids = set(
            Area.objects.current()
            .filter(parent__in=streets)
            .values_list("parent_id", flat=True)
            .distinct()
        )
        todo = [s for s in selected if s.pk not in built_ids]
        units = staff.ensure_units(district, streets)  # writes nothing when up to date
        if not todo and not options.reset:
            if staff.logins_current(_login_targets(district, selected[0], units)):
                # A demo loaded before the request loop existed gets it now.
                _request_loop(district, streets, options, staff.password_hash(), log)
                return DemoResult(district.name, [], district_counts(district), _since(started))
        if not built_ids:  # a fresh district: draw its boundary and its streets'
            outline, parts = plan.outline(district.code, [s.code for s in streets], options.seed)
            for area, polygon in [(district, outline), *zip(streets, parts, strict=True)]:
                _set_boundary(area, polygon)
        street_plans = {
            p.code: p
            for p in plan.communities(
                district.code, [(s.code, s.name) for s in streets], options.seed
            )
        }
        password = staff.password_hash()
        builder = StreetBuilder(district, scale=options.scale, seed=options.seed, log=log)
        for street in todo:
            builder.build_street(street, street_plans[street.code])
        targets = _login_targets(district, selected[0], units)
        staff.ensure_logins(password, targets)
        posted = staff.staff_grids(
            rng(options.seed, "staffing"),
            builder.new_grids,
            names=builder.names,
            password=password,
            fixed_grid_code=targets.grid.code,
        )
        area_services.bump_revision()
        _request_loop(district, streets, options, password, log)
        counts = district_counts(district)
        seconds = _since(started)
        audit.record(
            None,
            audit.AuditEntry.Action.IMPORT,
            district,
            fields={
                "demo": True,
                "scale": options.scale,
                "seed": options.seed,
                "reset": options.reset,
                "streets": [s.code for s in todo],
                "grid_workers_posted": posted,
                "counts": counts,
                "seconds": round(seconds, 1),
            },
            reason="manage.py load_demo",
        )
    return DemoResult(
        district.name, [s.name for s in todo], counts, seconds, options.reset, logins_refreshed=True
    )


def _request_loop(district, streets, options: DemoOptions, password: str, log) -> None:
    """Categories, units, the dispatch catalogue, time limits and the case history."""
    demo_cases.load_case_config(district, streets, log=log)
    _open311_partner(district, log)
    if options.cases:
        demo_cases.load_case_history(
            district, seed=options.seed, password=password, count=options.cases, log=log
        )


# The demo's Open311 partner system: its key is known so `demo_logins` can print it.
DEMO_PARTNER_NAME = "演示对接系统"
DEMO_PARTNER_KEY = "o311_demo-civicgrid-partner-key"


def _open311_partner(district: Area, log) -> None:
    from civicgrid.accounts.models import PartnerSystem
    from civicgrid.open311 import partners

    if not PartnerSystem.objects.filter(name=DEMO_PARTNER_NAME).exists():
        partners.register_partner(
            name=DEMO_PARTNER_NAME,
            jurisdiction=district,
            rate_limit_per_minute=120,
            key=DEMO_PARTNER_KEY,
        )
        log(f"Open311 partner system {DEMO_PARTNER_NAME} over {district.name}.")


def district_counts(district: Area) -> dict[str, int]:
    """How much the district holds, level by level and in the registry."""
    path = district.path
    areas = Area.objects.current().filter(path__startswith=path)
    return {
        "streets": areas.filter(level=Level.STREET).count(),
        "communities": areas.filter(level=Level.COMMUNITY).count(),
        "grids": areas.filter(level=Level.GRID).count(),
        "buildings": Building.objects.filter(grid__path__startswith=path).count(),
        "households": Household.objects.filter(area__path__startswith=path).count(),
        "residents": Resident.objects.filter(area__path__startswith=path).count(),
        "places": Place.objects.filter(grid__path__startswith=path).count(),
        "facilities": Facility.objects.filter(grid__path__startswith=path).count(),
        "organisations": Organization.objects.filter(area__path__startswith=path).count(),
        "grid staffing": GridAssignment.objects.filter(grid__path__startswith=path).count(),
        "cases": Case.objects.filter(area_path__startswith=path).count(),
    }


def _since(started: float) -> float:
    return time.monotonic() - started


def _divisions(options: DemoOptions) -> tuple[Area, list[Area]]:
    """The district and its streets, imported from the national codes when missing."""

    def find() -> tuple[Area | None, list[Area]]:
        district = (
            Area.objects.current()
            .filter(code=division_code(options.district), level=Level.DISTRICT)
            .select_related("parent")
            .first()
        )
        if district is None:
            return None, []
        streets = Area.objects.current().filter(parent=district, level=Level.STREET)
        return district, list(streets.order_by("code"))

    district, streets = find()
    if district is None or not streets:
        data_dir = Path(options.data_dir or default_data_dir())
        try:
            report = import_divisions(data_dir, root_code=options.district, actor=None)
        except ServiceError as exc:
            raise DemoError(f"{exc} (give the national code files with --data-dir)") from None
        if not report.ok:
            first = "; ".join(f"{e.file}:{e.line} {e.message}" for e in report.errors[:5])
            raise DemoError(f"The division codes could not be imported: {first}")
        district, streets = find()
        if district is None or not streets:
            raise DemoError(f"District {options.district} has no streets in {data_dir}.")
    return district, streets


def _set_boundary(area: Area, polygon: BaseGeometry) -> None:
    area_services.apply_geometry(area, to_geojson(polygon))
    area.save(update_fields=["geometry", "min_lon", "min_lat", "max_lon", "max_lat", "size_m2"])


def _wipe(district: Area) -> None:
    """Delete everything below street level in `district`: registry rows, staffing, areas."""
    below = Area.objects.filter(path__startswith=district.path, level__in=BELOW_STREET)
    demo_cases.wipe_case_history(district)
    GridAssignment.objects.filter(grid__in=below).delete()
    RoleAssignment.objects.filter(area__in=below).delete()
    for model, lookup in (
        (Resident, "area__in"),
        (Household, "area__in"),
        (Building, "grid__in"),
        (Place, "grid__in"),
        (Facility, "grid__in"),
        (Organization, "area__in"),
        (ImportJob, "area__in"),
    ):
        model.objects.filter(**{lookup: below}).delete()
    try:
        for level in BELOW_STREET:
            Area.objects.filter(path__startswith=district.path, level=level).delete()
    except ProtectedError as exc:
        kinds = sorted({obj._meta.verbose_name_plural for obj in exc.protected_objects})
        raise DemoError(
            f"--reset cannot delete the demo areas: {len(exc.protected_objects)} other records "
            f"still refer to them ({', '.join(map(str, kinds))}). Delete those first."
        ) from None
    staff.retire_staff(district)
    area_services.bump_revision()


def _login_targets(district: Area, street: Area, units) -> staff.LoginTargets:
    community = (
        Area.objects.current().filter(parent=street, level=Level.COMMUNITY).order_by("code").first()
    )
    grid = (
        Area.objects.current().filter(parent=community, level=Level.GRID).order_by("code").first()
    )
    if community is None or grid is None:
        raise DemoError(f"{street.name} has no community with a grid for the demo logins.")
    return staff.LoginTargets(district, street, community, grid, units)
