"""Imports into the area tree: national division codes, and boundary files (GeoJSON).

Both are all-or-nothing: any row or feature in error means nothing is written, and the
report says which and why. Both are idempotent: running the same file twice creates nothing
the second time.

Division codes (统计用区划代码) are stored as 12-digit statistical codes, the file's code
padded with zeros (province 11 -> 110000000000, street 110101001 -> 110101001000). Three
prefecture-level cities have no districts (东莞 4419, 中山 4420, 儋州 4604); the code list
gives each a zero-suffix district (441900 东莞市) whose padded code would equal the city's;
likewise 金门县 350527 has a zero-suffix street 350527000. Such an entry keeps the padded
code with a letter for its level: C city, D district, S street (441900000000D,
350527000000S). The tree always has a district between a city and its streets, so
zero-suffix entries are kept rather than skipped.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import CharField, ExpressionWrapper, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Cast, Concat
from shapely.geometry import shape

from civicgrid.areas import services, validation
from civicgrid.areas.choices import ChangeKind, GridLayer, Level
from civicgrid.areas.geometry import GeometryError, metres_to_degrees, parse_geometry
from civicgrid.areas.models import Area, AreaChange, AreaParentLink
from civicgrid.areas.services import AreaError
from civicgrid.core import audit, clock

CODE_LENGTH = 12

# (file, level, digits in the file's code, column naming the parent's code)
DIVISION_FILES: tuple[tuple[str, str, int, str | None], ...] = (
    ("provinces.csv", Level.PROVINCE, 2, None),
    ("cities.csv", Level.CITY, 4, "provinceCode"),
    ("areas.csv", Level.DISTRICT, 6, "cityCode"),
    ("streets.csv", Level.STREET, 9, "areaCode"),
)


# A code that only adds zeros to its parent's (the zero-suffix district 441900 under the
# city 4419, the zero-suffix street 350527000 under the county 350527) pads to its parent's
# 12-digit code; it keeps that code with a letter for its level instead.
ZERO_SUFFIX_LETTER = {2: "", 4: "C", 6: "D", 9: "S"}


def division_code(raw: str) -> str:
    """The stored code of a code from the national files (see the module docstring)."""
    padded = raw.ljust(CODE_LENGTH, "0")
    parent_digits = {4: 2, 6: 4, 9: 6}.get(len(raw))
    if parent_digits and set(raw[parent_digits:]) == {"0"}:
        return padded + ZERO_SUFFIX_LETTER[len(raw)]
    return padded


@dataclass
class LevelCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: int = 0


@dataclass(frozen=True)
class RowError:
    file: str
    line: int
    code: str
    message: str


@dataclass
class DivisionReport:
    """What `import_divisions` did (or, with errors or a dry run, would have done)."""

    root_code: str | None
    dry_run: bool
    levels: dict[str, LevelCounts] = field(
        default_factory=lambda: {level: LevelCounts() for _, level, _, _ in DIVISION_FILES}
    )
    errors: list[RowError] = field(default_factory=list)
    written: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors

    def total(self, what: str) -> int:
        return sum(getattr(counts, what) for counts in self.levels.values())

    def as_dict(self) -> dict:
        return {
            "root_code": self.root_code,
            "dry_run": self.dry_run,
            "written": self.written,
            "levels": {level: vars(counts) for level, counts in self.levels.items()},
            "errors": [vars(e) for e in self.errors],
        }


@dataclass
class _Division:
    file: str
    line: int
    level: str
    raw: str
    code: str
    name: str
    parent_code: str | None


def import_divisions(
    data_dir: Path,
    *,
    root_code: str | None = None,
    actor=None,
    dry_run: bool = False,
    valid_from: dt.date | None = None,
) -> DivisionReport:
    """Import the national division codes from `data_dir` (provinces.csv, cities.csv,
    areas.csv, streets.csv) as provinces, cities, districts and streets.

    `root_code` (2, 4, 6 or 9 digits) limits the import to that division, its ancestors and
    everything under it. Existing areas are matched by code: a changed name is updated, the
    rest is left alone. Any row error means nothing is written; so does `dry_run`. New areas
    are valid from `valid_from` (default today). A run that changes something writes one
    audit row; `report.written` says whether anything was written.
    Raises AreaError for a bad `root_code` or a missing file.
    """
    data_dir = Path(data_dir)
    if root_code is not None:
        root_code = root_code.strip()
        if not root_code.isdigit() or len(root_code) not in (2, 4, 6, 9):
            raise AreaError("The root code must have 2, 4, 6 or 9 digits.", "root_code")
    report = DivisionReport(root_code=root_code, dry_run=dry_run)
    rows = _read_divisions(data_dir, root_code, report)
    if root_code is not None and not any(r.raw == root_code for r in rows):
        raise AreaError(f"No division with code {root_code} in {data_dir}.", "root_code")
    plan = _plan_divisions(rows, report)
    if report.errors or dry_run or not (plan.creates or plan.renames):
        return report
    _write_divisions(plan, report, actor, valid_from or clock.today())
    report.written = True
    return report


def _read_divisions(data_dir: Path, root: str | None, report: DivisionReport) -> list[_Division]:
    rows: list[_Division] = []
    for file_name, level, digits, parent_column in DIVISION_FILES:
        path = data_dir / file_name
        if not path.is_file():
            raise AreaError(f"{path} is missing.", "data_dir")
        with path.open(encoding="utf-8-sig", newline="") as handle:
            for line, record in enumerate(csv.DictReader(handle), start=2):
                raw = (record.get("code") or "").strip()
                if root is not None and not (raw.startswith(root) or root.startswith(raw)):
                    continue
                name = (record.get("name") or "").strip()
                parent_raw = (record.get(parent_column) or "").strip() if parent_column else None

                def fail(message: str, raw=raw, line=line, file_name=file_name, level=level):
                    report.errors.append(RowError(file_name, line, raw, message))
                    report.levels[level].errors += 1

                if not raw.isdigit() or len(raw) != digits:
                    fail(f"The code must have {digits} digits.")
                elif not name:
                    fail("The name is empty.")
                elif len(name) > Area._meta.get_field("name").max_length:
                    fail("The name is too long.")
                elif parent_column and not (parent_raw and raw.startswith(parent_raw)):
                    fail(f"{parent_column} {parent_raw!r} is not a prefix of the code.")
                else:
                    rows.append(
                        _Division(
                            file_name,
                            line,
                            level,
                            raw,
                            division_code(raw),
                            name,
                            division_code(parent_raw) if parent_raw else None,
                        )
                    )
    return rows


@dataclass
class _Plan:
    creates: list[_Division] = field(default_factory=list)
    renames: dict[int, str] = field(default_factory=dict)  # existing area id -> new name


def _plan_divisions(rows: list[_Division], report: DivisionReport) -> _Plan:
    # Every area, not only divisions: a code taken by a grid is a clash too.
    existing = {
        a["code"]: a
        for a in Area.objects.values("id", "code", "name", "level", "parent_id", "valid_to")
    }
    code_of_id = {a["id"]: code for code, a in existing.items()}
    # Names in use under each parent: current areas of any level, so a hand-made area with
    # the same name is a conflict reported here rather than an IntegrityError at write time.
    taken: dict[tuple[str | None, str], str] = {}
    for parent_code, name, code in Area.objects.current().values_list(
        "parent__code", "name", "code"
    ):
        taken[(parent_code, name)] = code
    plan = _Plan()
    accepted: set[str] = set()
    seen: dict[str, _Division] = {}

    for row in rows:
        counts = report.levels[row.level]

        def fail(message: str, row=row, counts=counts) -> None:
            report.errors.append(RowError(row.file, row.line, row.raw, message))
            counts.errors += 1

        if row.code in seen:
            first = seen[row.code]
            fail(
                f"Its code {row.code} is also that of {first.raw} ({first.file} line {first.line})."
            )
            continue
        seen[row.code] = row
        if row.parent_code is not None and row.parent_code not in accepted:
            fail(f"Its parent {row.parent_code} is missing or has errors.")
            continue
        current = existing.get(row.code)
        if current is not None:
            parent_code = code_of_id.get(current["parent_id"])
            if current["level"] != row.level:
                fail(f"Code {row.code} is already used by a {current['level']}.")
            elif current["valid_to"] is not None:
                fail(f"Code {row.code} belongs to an area retired on {current['valid_to']}.")
            elif parent_code != row.parent_code:
                fail(f"{row.code} exists under {parent_code}, not under {row.parent_code}.")
            elif current["name"] == row.name:
                counts.unchanged += 1
                accepted.add(row.code)
            elif taken.get((row.parent_code, row.name), row.code) != row.code:
                fail(f"{row.parent_code} already has an area named {row.name}.")
            else:
                plan.renames[current["id"]] = row.name
                taken.pop((row.parent_code, current["name"]), None)
                taken[(row.parent_code, row.name)] = row.code
                counts.updated += 1
                accepted.add(row.code)
            continue
        if (row.parent_code, row.name) in taken:
            fail(f"{row.parent_code or 'The top level'} already has an area named {row.name}.")
            continue
        taken[(row.parent_code, row.name)] = row.code
        plan.creates.append(row)
        counts.created += 1
        accepted.add(row.code)
    return plan


@transaction.atomic
def _write_divisions(plan: _Plan, report: DivisionReport, actor, valid_from: dt.date) -> None:
    services.bump_revision()
    id_of = dict(
        Area.objects.filter(
            code__in={r.parent_code for r in plan.creates if r.parent_code}
        ).values_list("code", "id")
    )
    created: list[Area] = []
    for _, level, _, _ in DIVISION_FILES:
        batch = [
            Area(
                code=r.code,
                name=r.name,
                level=r.level,
                layer=GridLayer.SERVICE,
                parent_id=id_of.get(r.parent_code) if r.parent_code else None,
                path="",
                valid_from=valid_from,
            )
            for r in plan.creates
            if r.level == level
        ]
        if not batch:
            continue
        Area.objects.bulk_create(batch, batch_size=500)
        fill_paths(level)
        id_of.update((a.code, a.pk) for a in batch)
        created.extend(batch)
    AreaParentLink.objects.bulk_create(
        [AreaParentLink(area=a, parent_id=a.parent_id, valid_from=valid_from) for a in created],
        batch_size=500,
    )
    if plan.renames:
        renamed = list(Area.objects.filter(pk__in=list(plan.renames)))
        for area in renamed:
            area.name = plan.renames[area.pk]
        Area.objects.bulk_update(renamed, ["name"], batch_size=500)
        _change(ChangeKind.RENAME, actor, f"Division codes: {len(renamed)} renamed", renamed)
    if created:
        _change(ChangeKind.CREATE, actor, f"Division codes: {len(created)} created", created)
    audit.record(
        actor,
        audit.AuditEntry.Action.IMPORT,
        object_type="areas.area",
        object_repr=f"division codes {report.root_code or 'all'}",
        fields={
            level: vars(counts)
            for level, counts in report.levels.items()
            if any(vars(counts).values())
        },
    )


def fill_paths(level: str) -> int:
    """Set `path` and `depth` of the areas of `level` saved with an empty path, from their
    parents' (which must be filled already). Two UPDATEs, however many rows: bulk creators
    save rows with `path=""` level by level, then call this."""
    pending = Area.objects.filter(level=level, path="")
    own_id = Cast("id", CharField())
    roots = pending.filter(parent__isnull=True).update(
        path=Concat(Value("/"), own_id, Value("/"), output_field=CharField()), depth=0
    )
    parent = Area.objects.filter(pk=OuterRef("parent_id"))
    return roots + pending.filter(parent__isnull=False).update(
        path=Concat(
            Subquery(parent.values("path")[:1]), own_id, Value("/"), output_field=CharField()
        ),
        depth=ExpressionWrapper(
            Subquery(parent.values("depth")[:1]) + 1, output_field=IntegerField()
        ),
    )


def _change(kind: str, actor, description: str, areas: Iterable[Area]) -> None:
    change = AreaChange.objects.create(
        kind=kind,
        effective_date=clock.today(),
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        description=description,
    )
    through = AreaChange.targets.through
    through.objects.bulk_create(
        [through(areachange_id=change.pk, area_id=a.pk) for a in areas], batch_size=500
    )


# --- boundaries ----------------------------------------------------------------------------


class Status:
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    ERROR = "error"


@dataclass
class FeatureResult:
    index: int  # position in the file's feature list, from 0
    name: str
    code: str
    status: str
    message: str = ""


@dataclass
class BoundaryReport:
    """Per-feature outcome of `import_boundaries`, file-level errors, and the sibling report
    (gaps and overlaps among the parent's children after the import, or as they would be)."""

    parent_code: str
    level: str
    layer: str
    dry_run: bool
    features: list[FeatureResult] = field(default_factory=list)
    file_errors: list[str] = field(default_factory=list)
    written: bool = False
    siblings: validation.SiblingReport | None = None

    @property
    def ok(self) -> bool:
        return not self.file_errors and not any(f.status == Status.ERROR for f in self.features)

    def count(self, status: str) -> int:
        return sum(1 for f in self.features if f.status == status)

    def as_dict(self) -> dict:
        return {
            "parent": self.parent_code,
            "level": self.level,
            "layer": self.layer,
            "dry_run": self.dry_run,
            "written": self.written,
            "ok": self.ok,
            "file_errors": list(self.file_errors),
            "features": [vars(f) for f in self.features],
            "siblings": self.siblings.as_dict() if self.siblings else None,
        }


def import_boundaries(
    path_or_geojson,
    *,
    level: str,
    parent_code: str,
    name_field: str,
    code_field: str | None = None,
    actor=None,
    dry_run: bool = False,
    layer: str = GridLayer.SERVICE,
) -> BoundaryReport:
    """Create or update one area of `level` per feature of a GeoJSON file, under the current
    area with code `parent_code`.

    `path_or_geojson` is a path, a parsed dict, JSON text/bytes or an open file. The name
    comes from the property `name_field`. With `code_field`, a feature is matched to an
    existing area by code: a value starting with the parent's code is the full code, any
    other value is a local number appended to the parent's code (digits padded to 3:
    nc_id 47 under 900000000001 -> 900000000001047). Without it, features match existing
    children by name, and new ones get the parent's code plus the next free 3-digit number
    (numbers are never reused, retired areas included).

    All-or-nothing: one feature in error (bad geometry such as a self-intersecting polygon,
    no name, a duplicate code or name, outside the parent) and nothing is written. A dry run
    reports what would happen. Every report ends with the sibling gaps/overlaps check.
    """
    report = BoundaryReport(parent_code=parent_code, level=level, layer=layer, dry_run=dry_run)
    features = _load_features(path_or_geojson, report)
    parent = Area.objects.current().filter(code=(parent_code or "").strip()).first()
    if parent is None:
        report.file_errors.append(f"No current area has the code {parent_code!r}.")
    elif layer not in GridLayer.values:
        report.file_errors.append(f"Unknown grid type {layer!r}.")
    else:
        try:
            services._check_level(parent, level)
        except AreaError as exc:
            report.file_errors.append(exc.message)
    if report.file_errors or features is None:
        return report
    planned = _plan_features(features, parent, level, layer, name_field, code_field, report)
    if not report.ok:
        return report
    if dry_run:
        report.siblings = _projected_siblings(parent, level, layer, planned)
        return report
    try:
        _write_features(planned, parent, level, layer, actor, report)
    except (AreaError, IntegrityError) as exc:
        # Only a concurrent change can get here (the plan checked everything else).
        report.file_errors.append(f"Nothing was written: {getattr(exc, 'message', exc)}")
        return report
    report.written = True
    report.siblings = validation.sibling_report(parent, layer)
    return report


def _load_features(source, report: BoundaryReport) -> list | None:
    try:
        if isinstance(source, dict):
            data = source
        elif isinstance(source, (str, Path)) and not str(source).lstrip().startswith("{"):
            path = Path(source)
            if path.stat().st_size > settings.IMPORT_MAX_BYTES:
                report.file_errors.append(
                    f"The file is larger than {settings.IMPORT_MAX_BYTES:,} bytes."
                )
                return None
            data = json.loads(path.read_text(encoding="utf-8-sig"))
        else:
            text = source.read() if hasattr(source, "read") else source
            if isinstance(text, bytes):
                text = text.decode("utf-8-sig")
            data = json.loads(text)
    except FileNotFoundError:
        report.file_errors.append(f"No such file: {source}.")
        return None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        report.file_errors.append(f"Not valid GeoJSON (JSON error: {exc}).")
        return None
    if isinstance(data, dict) and data.get("type") == "Feature":
        return [data]
    if (
        not isinstance(data, dict)
        or data.get("type") != "FeatureCollection"
        or not isinstance(data.get("features"), list)
    ):
        report.file_errors.append("Not a GeoJSON FeatureCollection.")
        return None
    if not data["features"]:
        report.file_errors.append("The file holds no features.")
        return None
    return data["features"]


@dataclass
class _Planned:
    result: FeatureResult
    geometry: dict
    geom: object
    existing: Area | None


def _plan_features(
    features: list,
    parent: Area,
    level: str,
    layer: str,
    name_field: str,
    code_field: str | None,
    report: BoundaryReport,
) -> list[_Planned]:
    siblings = list(Area.objects.current().filter(parent=parent))
    by_name = {a.name: a for a in siblings}
    if parent.geometry:
        outer = shape(parent.geometry)
        tolerance = metres_to_degrees(settings.AREA_CONTAINMENT_TOLERANCE_M, outer.centroid.y)
        outer = outer.buffer(tolerance)
    else:
        outer = None
    planned: list[_Planned] = []
    codes: dict[str, int] = {}
    names: dict[str, int] = {}
    for index, feature in enumerate(features):
        result = FeatureResult(index=index, name="", code="", status=Status.ERROR)
        report.features.append(result)
        props = feature.get("properties") if isinstance(feature, dict) else None
        props = props if isinstance(props, dict) else {}
        result.name = str(props.get(name_field) or "").strip()
        raw_code = props.get(code_field) if code_field else None
        if code_field and raw_code not in (None, ""):
            result.code = _feature_code(parent.code, str(raw_code).strip())
        problem = ""
        try:
            geom = parse_geometry(feature.get("geometry") if isinstance(feature, dict) else None)
        except GeometryError as exc:
            problem, geom = str(exc), None
        if not result.name:
            problem = problem or f"No {name_field!r} property."
        elif code_field and not result.code:
            problem = problem or f"No {code_field!r} property."
        elif result.name in names:
            problem = problem or f"Same name as feature {names[result.name]}."
        elif result.code and result.code in codes:
            problem = problem or f"Same code as feature {codes[result.code]}."
        elif outer is not None and geom is not None and not outer.covers(geom):
            problem = f"Lies partly outside {parent.name}."
        names.setdefault(result.name, index)
        if result.code:
            codes.setdefault(result.code, index)
        existing = None
        if not problem:
            existing, problem = _match(result, parent, level, layer, by_name, code_field)
        if problem:
            result.message = problem
            continue
        geometry = feature["geometry"]
        if existing is None:
            result.status = Status.CREATED
        elif existing.name != result.name or existing.geometry != geometry:
            result.status = Status.UPDATED
            result.code = existing.code
        else:
            result.status = Status.UNCHANGED
            result.code = existing.code
        planned.append(_Planned(result, geometry, geom, existing))
    _number_new_features(parent, [p for p in planned if not p.result.code])
    return planned


def _feature_code(parent_code: str, value: str) -> str:
    if value.startswith(parent_code) and len(value) > len(parent_code):
        return value
    return parent_code + (value.zfill(3) if value.isdigit() else value)


def _match(result, parent, level, layer, by_name, code_field) -> tuple[Area | None, str]:
    """The existing area this feature updates (or None), or why it cannot be written."""
    if code_field:
        existing = Area.objects.filter(code=result.code).first()
        named = by_name.get(result.name)
        if named is not None and (existing is None or named.pk != existing.pk):
            return None, f"{parent.name} already has another area named {result.name}."
    else:
        existing = by_name.get(result.name)
    if existing is None:
        return None, ""
    if existing.valid_to is not None:
        return None, f"Code {existing.code} belongs to an area retired on {existing.valid_to}."
    if existing.parent_id != parent.pk:
        return None, f"Code {existing.code} belongs to an area under another parent."
    if existing.level != level or existing.layer != layer:
        return None, f"{existing.code} is a {existing.level} ({existing.layer}), not a {level}."
    return existing, ""


def _number_new_features(parent: Area, planned: list[_Planned]) -> None:
    if not planned:
        return
    width = len(parent.code) + 3
    used = [
        int(code[len(parent.code) :])
        for code in Area.objects.filter(code__startswith=parent.code).values_list("code", flat=True)
        if len(code) == width and code[len(parent.code) :].isdigit()
    ]
    number = max(used, default=0)
    for item in planned:
        number += 1
        if number > 999:
            item.result.status = Status.ERROR
            item.result.message = f"{parent.name} has no free 3-digit numbers left."
        else:
            item.result.code = f"{parent.code}{number:03d}"


@transaction.atomic
def _write_features(planned, parent, level, layer, actor, report: BoundaryReport) -> None:
    for item in planned:
        result = item.result
        if result.status == Status.CREATED:
            services.create_area(
                actor=actor,
                name=result.name,
                level=level,
                code=result.code,
                parent=parent,
                geometry=item.geometry,
                layer=layer,
            )
        elif result.status == Status.UPDATED:
            services.update_area(
                item.existing, actor=actor, name=result.name, geometry=item.geometry
            )
    audit.record(
        actor,
        audit.AuditEntry.Action.IMPORT,
        parent,
        object_repr=f"boundaries under {parent.code}",
        fields={
            "level": level,
            "layer": layer,
            "created": report.count(Status.CREATED),
            "updated": report.count(Status.UPDATED),
            "unchanged": report.count(Status.UNCHANGED),
        },
    )


def _projected_siblings(parent, level, layer, planned) -> validation.SiblingReport:
    """The sibling report as it would be after the import (for a dry run)."""
    replaced = {item.existing.pk for item in planned if item.existing is not None}
    others = (
        Area.objects.current()
        .filter(parent=parent)
        .exclude(pk__in=replaced)
        .exclude(level=Level.GRID, layer__in=[v for v in GridLayer.values if v != layer])
        .values_list("code", "geometry")
    )
    children = [(code, shape(g)) for code, g in others if g]
    children += [(item.result.code, item.geom) for item in planned]
    return validation.sibling_report_for(
        parent.code,
        shape(parent.geometry) if parent.geometry else None,
        children,
        layer=layer,
        without_geometry=[code for code, g in others if not g],
    )
