"""The coverage report (格不漏户、户不漏人): proof that every household is in a grid, every
resident in a household, and every grid staffed within the agreed numbers.

The report is a handful of grouped queries over the user's visible part of a subtree (a demo
district has about a thousand grids, so nothing here loops over grids with a query each).
Staffing thresholds come from settings.COVERAGE_MIN_STAFF and COVERAGE_MAX_STAFF.
"""

from __future__ import annotations

import datetime as dt
import io
import statistics
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Count, Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from civicgrid.areas.choices import Level
from civicgrid.areas.models import Area
from civicgrid.core import clock
from civicgrid.core.errors import PermissionDeniedError
from civicgrid.core.masking import mask_id_number, mask_name
from civicgrid.core.scoping import scope_of
from civicgrid.registry.models import GridAssignment, Household, Resident
from civicgrid.registry.selectors import scoped_areas

# The report lists at most this many uncovered households and residents by name; the counts
# are always complete. A page or a spreadsheet with more rows than this is not read anyway.
ROW_LIMIT = 1000
# Histogram bucket widths, smallest first; the first that spans the range from the smallest
# to the largest grid in at most MAX_BUCKETS buckets wins.
NICE_WIDTHS = (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000)
MAX_BUCKETS = 10


@dataclass(frozen=True)
class GridRow:
    id: int
    code: str
    name: str
    community: str
    community_code: str
    households: int
    residents: int
    staff: int


@dataclass(frozen=True)
class Bucket:
    low: int
    high: int  # inclusive
    grids: int

    @property
    def label(self) -> str:
        return str(self.low) if self.low == self.high else f"{self.low}–{self.high}"


@dataclass(frozen=True)
class Distribution:
    """Households per grid across the report's grids."""

    grids: int
    minimum: int
    median: float
    maximum: int
    mean: float
    empty: int  # grids without a household
    buckets: tuple[Bucket, ...]


@dataclass(frozen=True)
class UncoveredHousehold:
    id: int
    address: str
    area_code: str
    area_name: str


@dataclass(frozen=True)
class UncoveredResident:
    id: int
    name: str  # masked
    id_number: str  # masked
    area_code: str
    area_name: str


@dataclass
class CoverageReport:
    area: Area
    generated_at: dt.datetime
    min_staff: int
    max_staff: int
    grids: list[GridRow]
    households: int
    residents: int
    postings: int  # grid assignments (a worker posted to two grids counts twice)
    workers: int  # distinct grid workers
    households_without_grid: int
    residents_without_household: int
    distribution: Distribution
    households_without_grid_rows: list[UncoveredHousehold] = field(default_factory=list)
    residents_without_household_rows: list[UncoveredResident] = field(default_factory=list)

    @property
    def grids_without_staff(self) -> list[GridRow]:
        return [g for g in self.grids if g.staff == 0]

    @property
    def understaffed(self) -> list[GridRow]:
        """Grids with some staff but fewer than the minimum (unstaffed grids are listed apart)."""
        return [g for g in self.grids if 0 < g.staff < self.min_staff]

    @property
    def overstaffed(self) -> list[GridRow]:
        return [g for g in self.grids if g.staff > self.max_staff]

    @property
    def complete(self) -> bool:
        """格不漏户、户不漏人, and no grid without staff."""
        return not (
            self.households_without_grid
            or self.residents_without_household
            or self.grids_without_staff
        )


def distribution(counts: list[int]) -> Distribution:
    """Min/median/max/mean and a histogram of households per grid, in equal-width buckets."""
    if not counts:
        return Distribution(0, 0, 0.0, 0, 0.0, 0, ())
    low, top = min(counts), max(counts)
    # Buckets start at the smallest grid's: no row of empty buckets below the real range.
    width = next(
        (w for w in NICE_WIDTHS if top // w - low // w + 1 <= MAX_BUCKETS), NICE_WIDTHS[-1]
    )
    first = low // width
    tally = [0] * (top // width - first + 1)
    for n in counts:
        tally[n // width - first] += 1
    return Distribution(
        grids=len(counts),
        minimum=low,
        median=float(statistics.median(counts)),
        maximum=top,
        mean=round(sum(counts) / len(counts), 1),
        empty=sum(1 for n in counts if n == 0),
        buckets=tuple(
            Bucket((first + i) * width, (first + i + 1) * width - 1, n) for i, n in enumerate(tally)
        ),
    )


def _check_area(user, area: Area) -> None:
    scope = scope_of(user)
    if not (scope.covers_path(area.path) or any(p.startswith(area.path) for p in scope.area_paths)):
        raise Http404  # neither the area nor anything under it is visible
    if not scope.can("registry.view"):
        raise PermissionDeniedError(_("Your role may not see the household registry."))


def coverage_report(user, area: Area) -> CoverageReport:
    """Coverage of the part of `area`'s subtree that `user` may see.

    Households "without a grid" are those whose area is not a current service grid (a
    community, or a retired grid); residents "without a household" have none. Staff are
    counted from grid assignments. Raises Http404 when nothing under `area` is visible and
    PermissionDeniedError without registry.view.
    """
    _check_area(user, area)
    # By area id, so the counts use the area index (see selectors.in_areas); grouped counts
    # are no slower this way even over the whole tree, so no size test is needed here.
    under = {"area_id__in": scoped_areas(user, area).values("id")}

    grids = list(
        Area.objects.visible_to(user, "registry.view")
        .grids()
        .filter(path__startswith=area.path)
        .order_by("code")
        .values("id", "code", "name", "path")
    )
    grid_ids = {g["id"] for g in grids}
    ancestor_ids = {int(p) for g in grids for p in g["path"].strip("/").split("/")[:-1]}
    communities = {
        a["id"]: a
        for a in Area.objects.filter(id__in=ancestor_ids, level=Level.COMMUNITY).values(
            "id", "code", "name"
        )
    }

    households_by_area = dict(
        Household.objects.visible_to(user)
        .filter(**under)
        .values("area_id")
        .annotate(n=Count("id"))
        .values_list("area_id", "n")
    )
    residents_by_area: dict[int, int] = {}
    homeless = 0
    for area_id, n, without in (
        Resident.objects.visible_to(user)
        .filter(**under)
        .values("area_id")
        .annotate(n=Count("id"), without=Count("id", filter=Q(household__isnull=True)))
        .values_list("area_id", "n", "without")
    ):
        residents_by_area[area_id] = n
        homeless += without
    staff_by_grid = dict(
        GridAssignment.objects.visible_to(user, "registry.view")
        .filter(grid__path__startswith=area.path)
        .values("grid_id")
        .annotate(n=Count("id"))
        .values_list("grid_id", "n")
    )
    workers = (
        GridAssignment.objects.visible_to(user, "registry.view")
        .filter(grid__path__startswith=area.path)
        .aggregate(n=Count("worker", distinct=True))["n"]
    )

    rows = []
    for g in grids:
        ids = [int(p) for p in g["path"].strip("/").split("/")[:-1]]
        community = next((communities[i] for i in reversed(ids) if i in communities), None)
        rows.append(
            GridRow(
                id=g["id"],
                code=g["code"],
                name=g["name"],
                community=community["name"] if community else "",
                community_code=community["code"] if community else "",
                households=households_by_area.get(g["id"], 0),
                residents=residents_by_area.get(g["id"], 0),
                staff=staff_by_grid.get(g["id"], 0),
            )
        )

    outside_ids = [a for a in households_by_area if a not in grid_ids]
    unplaced_rows = [
        UncoveredHousehold(h.pk, h.address, h.area.code, h.area.name)
        for h in Household.objects.visible_to(user)
        .filter(area_id__in=outside_ids)
        .select_related("area")
        .order_by("area__code", "address")[:ROW_LIMIT]
    ]
    homeless_rows = [
        UncoveredResident(
            r.pk, mask_name(r.name), mask_id_number(r.id_number), r.area.code, r.area.name
        )
        for r in Resident.objects.visible_to(user)
        .filter(household__isnull=True, **under)
        .select_related("area")
        .order_by("area__code", "name", "id")[:ROW_LIMIT]
    ]
    return CoverageReport(
        area=area,
        generated_at=clock.now(),
        min_staff=settings.COVERAGE_MIN_STAFF,
        max_staff=settings.COVERAGE_MAX_STAFF,
        grids=rows,
        households=sum(households_by_area.values()),
        residents=sum(residents_by_area.values()),
        postings=sum(staff_by_grid.values()),
        workers=workers,
        households_without_grid=sum(households_by_area[a] for a in outside_ids),
        residents_without_household=homeless,
        distribution=distribution([r.households for r in rows]),
        households_without_grid_rows=unplaced_rows,
        residents_without_household_rows=homeless_rows,
    )


GRID_HEADERS = ["网格编码", "网格名称", "所属社区", "户数", "人数", "网格员数"]


def _grid_cells(row: GridRow) -> list:
    return [row.code, row.name, row.community, row.households, row.residents, row.staff]


def coverage_xlsx(report: CoverageReport) -> bytes:
    """The report as an Excel workbook: one sheet per section, Chinese headers."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    d = report.distribution
    summary = book.create_sheet("概览")
    summary.append(["项目", "数值"])
    for label, value in (
        ("区域", f"{report.area.name}（{report.area.code}）"),
        ("生成时间", timezone.localtime(report.generated_at).strftime("%Y-%m-%d %H:%M")),
        ("网格数", len(report.grids)),
        ("户数", report.households),
        ("人数", report.residents),
        ("网格员人数", report.workers),
        ("网格员岗位数", report.postings),
        ("未入格户数", report.households_without_grid),
        ("未入户人数", report.residents_without_household),
        ("无网格员网格数", len(report.grids_without_staff)),
        (f"网格员不足{report.min_staff}人的网格数", len(report.understaffed)),
        (f"网格员超过{report.max_staff}人的网格数", len(report.overstaffed)),
        ("每格户数·最少", d.minimum),
        ("每格户数·中位数", d.median),
        ("每格户数·最多", d.maximum),
        ("每格户数·平均", d.mean),
        ("无住户网格数", d.empty),
        ("格不漏户、户不漏人", "是" if report.complete else "否"),
    ):
        summary.append([label, value])

    sheet = book.create_sheet("网格明细")
    sheet.append(GRID_HEADERS)
    for row in report.grids:
        sheet.append(_grid_cells(row))

    sheet = book.create_sheet("未入格住户")
    sheet.append(["住户编号", "地址", "所在区域编码", "所在区域"])
    for h in report.households_without_grid_rows:
        sheet.append([h.id, h.address, h.area_code, h.area_name])
    _note_truncated(sheet, report.households_without_grid, report.households_without_grid_rows)

    sheet = book.create_sheet("未入户居民")
    sheet.append(["居民编号", "姓名", "身份证号", "所在区域编码", "所在区域"])
    for r in report.residents_without_household_rows:
        sheet.append([r.id, r.name, r.id_number, r.area_code, r.area_name])
    _note_truncated(
        sheet, report.residents_without_household, report.residents_without_household_rows
    )

    for title, rows in (
        ("无网格员网格", report.grids_without_staff),
        ("网格员不足网格", report.understaffed),
        ("网格员超配网格", report.overstaffed),
    ):
        sheet = book.create_sheet(title)
        sheet.append(GRID_HEADERS)
        for row in rows:
            sheet.append(_grid_cells(row))

    sheet = book.create_sheet("户数分布")
    sheet.append(["每格户数", "网格数"])
    for bucket in d.buckets:
        sheet.append([bucket.label, bucket.grids])

    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _note_truncated(sheet, total: int, rows: list) -> None:
    if total > len(rows):
        sheet.append([f"仅列出前{len(rows)}条，共{total}条"])
