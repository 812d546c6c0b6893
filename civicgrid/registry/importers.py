"""Spreadsheet import of households and residents (.xlsx; CSV in UTF-8 or GBK; Excel's
UTF-16 "Unicode text").

Two steps, so a page can show progress and nothing is ever half-written:

1. `create_import_job` checks the actor, the area, the file's size, format and header row,
   and records a pending `ImportJob`. It refuses a bad file with a ServiceError before any
   row is read.
2. `run_import` parses and validates every row (against the file itself and the database),
   committing `processed_rows` as it goes. If any row is bad, or the job is a dry run, it
   writes nothing and ends CHECKED or FAILED with a report of every bad cell:
   `{"row": 7, "column": "身份证号", "message": "..."}` (row numbers as the spreadsheet shows
   them, the header being row 1). Otherwise it inserts every row in one transaction (one
   executemany, see `insert_rows`), together with one IMPORT audit row, and ends SUCCEEDED.

The column headers are in Chinese (see RESIDENT_COLUMNS and HOUSEHOLD_COLUMNS; a few common
spellings are accepted through HEADER_ALIASES). Values are checked by the same rules as the
services (GB 11643 ID numbers, phone patterns, tag names).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import re
import threading
from collections.abc import Iterator
from pathlib import PurePath

from django.conf import settings
from django.db import connection, transaction
from django.utils.translation import gettext as _

from civicgrid.areas.choices import Level
from civicgrid.areas.locator import normalise_address
from civicgrid.areas.models import Area
from civicgrid.core import audit, clock
from civicgrid.core.errors import ServiceError
from civicgrid.core.models import AuditEntry
from civicgrid.registry.choices import (
    ELDERLY_TAG,
    ELDERLY_ZH,
    HOUSEHOLD_TYPE_ZH,
    POPULATION_TYPE_ZH,
    RELATION_ZH,
    TAG_ZH,
    HouseholdType,
    ImportKind,
    ImportStatus,
    PopulationType,
    Relation,
    ResidentTag,
    zh_lookup,
)
from civicgrid.registry.idnumbers import InvalidIdentifier, normalise_phone, parse_id_number
from civicgrid.registry.models import Building, Household, ImportJob, Resident
from civicgrid.registry.services import check_capability

logger = logging.getLogger(__name__)

# Column header -> model field. Required headers must be present (their cells may still be
# reported blank row by row); the others may be left out.
RESIDENT_COLUMNS = {
    "姓名": "name",
    "身份证号": "id_number",
    "联系电话": "phone",
    "与户主关系": "relation",
    "人口类型": "population_type",
    "标签": "tags",
    "地址": "address",
    "民族": "ethnicity",
}
RESIDENT_REQUIRED = ("姓名", "身份证号", "地址")
HOUSEHOLD_COLUMNS = {
    "地址": "address",
    "楼栋地址": "building",
    "单元": "entrance",
    "房号": "room",
    "住房用途": "household_type",
    "联系人": "contact_name",
    "联系电话": "contact_phone",
    "网格编码": "grid",
}
HOUSEHOLD_REQUIRED = ("地址",)
HEADER_ALIASES = {
    "身份证号码": "身份证号",
    "公民身份号码": "身份证号",
    "手机号码": "联系电话",
    "手机号": "联系电话",
    "电话": "联系电话",
    "户主关系": "与户主关系",
    "住址": "地址",
    "楼栋": "楼栋地址",
    "单元号": "单元",
    "房间号": "房号",
    "联系人电话": "联系电话",
}
# Columns a person adds for reading (序号) or that our own exports carry but that are derived
# from other columns (gender and age from the ID number, the grid from the household): read
# and ignored, so an export can be edited and imported again.
IGNORED_HEADERS = {
    ImportKind.RESIDENTS: {
        "序号",
        "性别",
        "出生日期",
        "年龄",
        "区域编码",
        "所属区域",
        "网格编码",
        "所属网格",
    },
    ImportKind.HOUSEHOLDS: {"序号", "所属区域", "所属网格", "人数"},
}
COLUMNS = {ImportKind.RESIDENTS: RESIDENT_COLUMNS, ImportKind.HOUSEHOLDS: HOUSEHOLD_COLUMNS}
REQUIRED = {ImportKind.RESIDENTS: RESIDENT_REQUIRED, ImportKind.HOUSEHOLDS: HOUSEHOLD_REQUIRED}

# The report keeps the first errors; the count in the message is always complete.
MAX_REPORTED_ERRORS = 1000
# Progress is committed every 1% of the rows, but not more often than every PROGRESS_ROWS.
PROGRESS_ROWS = 500
# Rows per lookup of existing values in the database; progress is checked after each lookup.
LOOKUP_BATCH = 500

_TAG_SEPARATORS = re.compile(r"[、,，;；\s]+")
_EXCEL_FLOAT = re.compile(r"^\d(\.\d+)?[eE]\+?\d+$")
_XLSX_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"

RELATIONS = zh_lookup(RELATION_ZH) | {code: code for code in Relation.values}
POPULATION_TYPES = zh_lookup(POPULATION_TYPE_ZH) | {c: c for c in PopulationType.values}
HOUSEHOLD_TYPES = zh_lookup(HOUSEHOLD_TYPE_ZH) | {c: c for c in HouseholdType.values}
TAGS = zh_lookup(TAG_ZH) | {code: code for code in ResidentTag.values}
TAG_ORDER = {code: i for i, code in enumerate(ResidentTag.values)}
ELDERLY_NAMES = set(ELDERLY_ZH) | {ELDERLY_TAG}


# --- files -------------------------------------------------------------------------------


def check_size(size: int) -> None:
    """Refuse an empty file, or one over settings.IMPORT_MAX_BYTES, before reading it.

    Views may call this with the upload's declared size before reading the upload.
    """
    limit = settings.IMPORT_MAX_BYTES
    if size <= 0:
        raise ServiceError(_("The file is empty."), "file")
    if size > limit:
        raise ServiceError(
            _(
                "The file is %(size).1f MB; the limit is %(limit).1f MB. Split it into smaller files."
            )
            % {"size": size / 1024 / 1024, "limit": limit / 1024 / 1024},
            "file",
        )


def detect_format(file_name: str, data: bytes) -> str:
    """ "xlsx" or "csv", from the name and the first bytes; anything else is refused."""
    suffix = PurePath(file_name or "").suffix.lower()
    if data[:4] == _XLSX_MAGIC and suffix in (".xlsx", ".xlsm", ""):
        return "xlsx"
    if data[:4] == _OLE_MAGIC or suffix == ".xls":
        raise ServiceError(
            _("Old Excel files (.xls) cannot be read: save as .xlsx or CSV."), "file"
        )
    if suffix in (".xlsx", ".xlsm"):
        raise ServiceError(_("The file is not a valid .xlsx workbook."), "file")
    if suffix in (".csv", ".txt"):
        return "csv"
    raise ServiceError(_("Unknown file format: upload an .xlsx workbook or a .csv file."), "file")


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        # Excel keeps numbers as doubles: 13812345678.0 is a phone number, but an 18-digit ID
        # number typed as a number has already lost its last digits (shown as 5.1e+17).
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def _xlsx_rows(data: bytes) -> Iterator[list[str]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises a zoo of types for broken archives
        raise ServiceError(_("The workbook cannot be read (%s).") % exc, "file") from None
    try:
        if not book.worksheets:
            raise ServiceError(_("The workbook has no sheet."), "file")
        for row in book.worksheets[0].iter_rows(values_only=True):
            yield [_cell(v) for v in row]
    finally:
        book.close()


def _decode(data: bytes) -> str:
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        # Excel's "Unicode text" (.txt): UTF-16 with a byte-order mark, tab-separated.
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise ServiceError(_("The text file is damaged UTF-16."), "file") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        # Excel on Chinese Windows saves CSV in GBK; GB 18030 is its superset.
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise ServiceError(_("The CSV file is neither UTF-8 nor GBK text."), "file") from None


def _csv_rows(data: bytes) -> Iterator[list[str]]:
    text = _decode(data)
    first = text[: text.find("\n")] if "\n" in text else text
    delimiter = "\t" if first.count("\t") > first.count(",") else ","
    for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
        yield [c.strip() for c in row]


def iter_rows(fmt: str, data: bytes) -> Iterator[tuple[int, list[str]]]:
    """(spreadsheet row number, cells) for every non-blank row, the header row included."""
    rows = _xlsx_rows(data) if fmt == "xlsx" else _csv_rows(data)
    for number, cells in enumerate(rows, start=1):
        if any(cells):
            yield number, cells


def map_headers(kind: str, header: list[str]) -> dict[str, int]:
    """Column name -> index, after checking for unknown, repeated and missing headers."""
    columns, ignored = COLUMNS[kind], IGNORED_HEADERS[kind]
    found: dict[str, int] = {}
    unknown, repeated = [], []
    for index, raw in enumerate(header):
        name = HEADER_ALIASES.get(raw.replace(" ", ""), raw.replace(" ", ""))
        if not name or name in ignored:
            continue
        if name not in columns:
            unknown.append(raw)
        elif name in found:
            repeated.append(raw)
        else:
            found[name] = index
    problems = []
    if unknown:
        problems.append(_("unknown columns: %s") % "、".join(unknown))
    if repeated:
        problems.append(_("repeated columns: %s") % "、".join(repeated))
    missing = [name for name in REQUIRED[kind] if name not in found]
    if missing:
        problems.append(_("missing columns: %s") % "、".join(missing))
    if problems:
        raise ServiceError(
            _("The first row must hold the column headers; %(problems)s. Expected: %(expected)s.")
            % {"problems": "; ".join(problems), "expected": "、".join(columns)},
            "file",
        )
    return found


def _read_header(fmt: str, data: bytes, kind: str) -> dict[str, int]:
    rows = iter_rows(fmt, data)
    first = next(rows, None)
    if first is None:
        raise ServiceError(_("The file is empty."), "file")
    columns = map_headers(kind, first[1])
    if next(rows, None) is None:
        raise ServiceError(_("The file has a header row but no data rows."), "file")
    return columns


# --- jobs --------------------------------------------------------------------------------


def create_import_job(
    *, actor, kind: str, area: Area, file_name: str, data: bytes, dry_run: bool
) -> ImportJob:
    """Check the actor (registry.edit over `area`), the file's size, format and headers, and
    record a pending job. Nothing is read beyond the header row and the first data row."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        raise ServiceError(_("An import is made by a signed-in user."), "user")
    if kind not in ImportKind.values:
        raise ServiceError(_("Unknown import kind %r.") % kind, "kind")
    if area is None or area.valid_to is not None:
        raise ServiceError(_("Choose a current area."), "area")
    check_capability(actor, "registry.edit", area)
    check_size(len(data))
    fmt = detect_format(file_name, data)
    _read_header(fmt, data, kind)
    return ImportJob.objects.create(
        kind=kind,
        area=area,
        file_name=PurePath(file_name).name[:255],
        dry_run=dry_run,
        created_by=actor,
    )


class _Report:
    """Collects row errors and commits progress as validation advances."""

    def __init__(self, job: ImportJob, total: int):
        self.job = job
        self.errors: list[dict] = []
        self.count = 0
        self.bad_rows: set[int] = set()
        self.step = max(PROGRESS_ROWS, -(-total // 100))
        self.next_at = self.step

    def add(self, row: int, column: str, message: str) -> None:
        self.count += 1
        self.bad_rows.add(row)
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append({"row": row, "column": column, "message": str(message)})

    def progress(self, done: int) -> None:
        if done >= self.next_at:
            # Outside any transaction this commits at once, so a polling page sees it.
            ImportJob.objects.filter(pk=self.job.pk).update(processed_rows=done)
            self.job.processed_rows = done
            self.next_at = done + self.step

    def summary(self) -> str:
        if not self.count:
            return ""
        text = _("%(errors)d errors in %(rows)d rows; nothing was written.") % {
            "errors": self.count,
            "rows": len(self.bad_rows),
        }
        if self.count > len(self.errors):
            text += " " + _("The first %d are listed.") % len(self.errors)
        return text


class _Rows:
    """Shared by the row validators: cell positions and the checks every kind uses.

    Rows arrive padded one cell past the header, so a column the file lacks reads as "" from
    that last position without a check per cell. A valid row becomes a tuple of values for
    `fields` (attribute names of `model`); the other fields take their defaults on insert.
    """

    model: type
    fields: tuple[str, ...]

    def __init__(self, job: ImportJob, columns: dict[str, int], width: int, report: _Report):
        self.area = job.area
        self.report = report
        self.pending: list[tuple[int, str]] = []  # (row, key) to look up in the database
        self.at = {name: columns.get(name, width) for name in COLUMNS[job.kind]}

    def too_long(self, row: int, column: str, value: str, limit: int) -> bool:
        if len(value) > limit:
            self.report.add(row, column, _("At most %d characters.") % limit)
            return True
        return False

    def choice(self, row: int, column: str, value: str, table: dict, default: str):
        """The code for a Chinese name (or code) in `table`; None after reporting a bad one."""
        if not value:
            return default
        code = table.get(value)
        if code is None:
            allowed = "/".join(dict.fromkeys(k for k in table if not k.isascii()))
            self.report.add(
                row,
                column,
                _("Unknown value %(value)s; allowed: %(allowed)s.")
                % {"value": value, "allowed": allowed},
            )
        return code


class _ResidentRows(_Rows):
    """Validates resident rows into value tuples for Resident."""

    model = Resident
    fields = (
        "area_id",
        "household_id",
        "name",
        "gender",
        "id_number",
        "birth_date",
        "ethnicity",
        "phone",
        "relation",
        "population_type",
        "tags",
    )

    def __init__(self, job, columns, width, report):
        super().__init__(job, columns, width, report)
        self.today = clock.today()
        self.seen: dict[str, int] = {}  # ID number -> first row
        self.households: dict[str, tuple[int, int] | None] = {}
        for pk, address, area_id in Household.objects.filter(
            area__path__startswith=self.area.path
        ).values_list("id", "address", "area_id"):
            key = normalise_address(address)
            # Two households at one address cannot be told apart: say so instead of guessing.
            self.households[key] = None if key in self.households else (pk, area_id)

    def validate(self, row: int, cells: list[str]) -> tuple | None:
        at, add = self.at, self.report.add
        ok = True
        name = cells[at["姓名"]]
        if not name:
            add(row, "姓名", _("This field is required."))
            ok = False
        elif self.too_long(row, "姓名", name, 64):
            ok = False
        number, birth, gender = self._id_number(row, cells[at["身份证号"]])
        if number is None:
            ok = False
        phone = cells[at["联系电话"]]
        if phone:
            try:
                phone = normalise_phone(phone)
            except InvalidIdentifier as exc:
                add(row, "联系电话", _(str(exc)))
                ok = False
        relation = self.choice(
            row, "与户主关系", cells[at["与户主关系"]], RELATIONS, Relation.OTHER
        )
        population = self.choice(
            row, "人口类型", cells[at["人口类型"]], POPULATION_TYPES, PopulationType.REGISTERED
        )
        tags = self._tags(row, cells[at["标签"]])
        ethnicity = cells[at["民族"]]
        if self.too_long(row, "民族", ethnicity, 16):
            ok = False
        household = self._household(row, cells[at["地址"]])
        if not ok or None in (relation, population, tags, household):
            return None
        return (
            household[1],
            household[0],
            name,
            gender,
            number,
            birth,
            ethnicity,
            phone,
            relation,
            population,
            tags,
        )

    def _id_number(self, row: int, raw: str) -> tuple:
        add = self.report.add
        if not raw:
            add(row, "身份证号", _("This field is required."))
        elif _EXCEL_FLOAT.match(raw):
            add(
                row,
                "身份证号",
                _(
                    "Excel stored this ID number as a number and lost its last digits; "
                    "format the column as text and type it again."
                ),
            )
        else:
            try:
                number, birth, gender = parse_id_number(raw, self.today)
            except InvalidIdentifier as exc:
                add(row, "身份证号", _(str(exc)))
            else:
                first = self.seen.setdefault(number, row)
                if first == row:
                    self.pending.append((row, number))
                    return number, birth, gender
                add(row, "身份证号", _("The same ID number is on row %d.") % first)
        return None, None, None

    def _household(self, row: int, raw: str) -> tuple[int, int] | None:
        address = normalise_address(raw)
        if not address:
            self.report.add(row, "地址", _("This field is required."))
            return None
        household = self.households.get(address, False)
        if household is False:
            self.report.add(
                row,
                "地址",
                _("No household at this address in %s; import the households first.")
                % self.area.name,
            )
            return None
        if household is None:
            self.report.add(
                row, "地址", _("Several households have this address; tell them apart first.")
            )
        return household

    def _tags(self, row: int, value: str) -> str | None:
        if not value:
            return ""
        codes, bad = set(), []
        for name in _TAG_SEPARATORS.split(value):
            if not name:
                continue
            if name in ELDERLY_NAMES:
                self.report.add(
                    row, "标签", _("60+ is derived from the birth date; remove %s.") % name
                )
                return None
            code = TAGS.get(name)
            if code is None:
                bad.append(name)
            else:
                codes.add(code)
        if bad:
            known = "、".join(names[0] for names in TAG_ZH.values())
            self.report.add(
                row,
                "标签",
                _("Unknown tags: %(bad)s; known: %(known)s.")
                % {"bad": "、".join(bad), "known": known},
            )
            return None
        ordered = sorted(codes, key=TAG_ORDER.__getitem__)
        return f",{','.join(ordered)}," if ordered else ""

    def check_database(self) -> None:
        """Report rows whose ID number is already registered (anywhere: it is unique)."""
        numbers = [number for _row, number in self.pending]
        existing = set(
            Resident.objects.filter(id_number__in=numbers).values_list("id_number", flat=True)
        )
        self.pending, pending = [], self.pending
        for row, number in pending:
            if number in existing:
                self.report.add(
                    row, "身份证号", _("A resident with this ID number is already registered.")
                )


class _HouseholdRows(_Rows):
    """Validates household rows into value tuples for Household."""

    model = Household
    fields = (
        "area_id",
        "building_id",
        "entrance",
        "room",
        "address",
        "household_type",
        "contact_name",
        "contact_phone",
    )

    def __init__(self, job, columns, width, report):
        super().__init__(job, columns, width, report)
        self.default_area_id = (
            self.area.pk if self.area.level in (Level.GRID, Level.COMMUNITY) else None
        )
        under = self.area.path
        self.grids = dict(
            Area.objects.grids().filter(path__startswith=under).values_list("code", "id")
        )
        self.buildings = {
            normalise_address(address): (pk, grid_id)
            for pk, address, grid_id in Building.objects.filter(
                grid__path__startswith=under
            ).values_list("id", "address", "grid_id")
        }
        self.rooms = set(
            Household.objects.filter(building__grid__path__startswith=under).values_list(
                "building_id", "entrance", "room"
            )
        )
        self.seen_addresses: dict[str, int] = {}
        self.seen_rooms: dict[tuple, int] = {}

    def validate(self, row: int, cells: list[str]) -> tuple | None:
        at, add = self.at, self.report.add
        ok = True
        address = normalise_address(cells[at["地址"]])
        if not address:
            add(row, "地址", _("This field is required."))
            ok = False
        elif self.too_long(row, "地址", address, 255):
            ok = False
        else:
            first = self.seen_addresses.setdefault(address, row)
            if first != row:
                add(row, "地址", _("The same address is on row %d.") % first)
                ok = False
            else:
                self.pending.append((row, address))
        entrance, room, contact = cells[at["单元"]], cells[at["房号"]], cells[at["联系人"]]
        for column, value, limit in (
            ("单元", entrance, 16),
            ("房号", room, 16),
            ("联系人", contact, 64),
        ):
            if self.too_long(row, column, value, limit):
                ok = False
        phone = cells[at["联系电话"]]
        if phone:
            try:
                phone = normalise_phone(phone)
            except InvalidIdentifier as exc:
                add(row, "联系电话", _(str(exc)))
                ok = False
        household_type = self.choice(
            row, "住房用途", cells[at["住房用途"]], HOUSEHOLD_TYPES, HouseholdType.OWNER
        )
        building_id = grid_id = None
        building_address = normalise_address(cells[at["楼栋地址"]])
        if building_address:
            found = self.buildings.get(building_address)
            if found is None:
                add(row, "楼栋地址", _("No building with this address in %s.") % self.area.name)
                ok = False
            else:
                building_id, grid_id = found
                key = (building_id, entrance, room)
                first = self.seen_rooms.setdefault(key, row)
                if key in self.rooms:
                    add(row, "房号", _("This room of the building is already registered."))
                    ok = False
                elif first != row:
                    add(row, "房号", _("The same room is on row %d.") % first)
                    ok = False
        code = cells[at["网格编码"]]
        if code:
            coded = self.grids.get(code)
            if coded is None:
                add(row, "网格编码", _("No current grid with this code in %s.") % self.area.name)
                ok = False
            elif grid_id is not None and coded != grid_id:
                add(row, "网格编码", _("The building lies in another grid."))
                ok = False
            grid_id = coded
        area_id = grid_id or self.default_area_id
        if area_id is None and ok:
            add(
                row,
                "网格编码",
                _("Give the grid code: %s is neither a grid nor a community.") % self.area.name,
            )
            ok = False
        if not ok or household_type is None:
            return None
        return (
            area_id,
            building_id,
            entrance,
            room,
            address,
            household_type,
            contact,
            phone,
        )

    def check_database(self) -> None:
        """Report rows whose address is already a registered household."""
        addresses = [address for _row, address in self.pending]
        existing = set(
            Household.objects.filter(address__in=addresses).values_list("address", flat=True)
        )
        self.pending, pending = [], self.pending
        for row, address in pending:
            if address in existing:
                self.report.add(
                    row, "地址", _("A household at this address is already registered.")
                )


VALIDATORS: dict[str, type[_Rows]] = {
    ImportKind.RESIDENTS: _ResidentRows,
    ImportKind.HOUSEHOLDS: _HouseholdRows,
}


def _finish(job: ImportJob, status: str, message: str = "", errors: list | None = None) -> None:
    job.status = status
    job.message = message[:500]
    job.errors = errors or []
    job.finished_at = clock.now()
    job.save(
        update_fields=[
            "status",
            "message",
            "errors",
            "finished_at",
            "processed_rows",
            "total_rows",
            "written_rows",
        ]
    )


def run_import(job: ImportJob, data: bytes) -> ImportJob:
    """Validate every row of `data`, then (unless a dry run or any row is bad) write them all
    in one transaction. Returns the job in its final state: CHECKED, FAILED or SUCCEEDED.

    Call it outside a transaction, so the progress it commits is visible to other requests.
    A job runs once: a second call on it raises ServiceError.
    """
    claimed = ImportJob.objects.filter(pk=job.pk, status=ImportStatus.PENDING).update(
        status=ImportStatus.RUNNING
    )
    if not claimed:
        raise ServiceError(_("This import has already been run."))
    job.status = ImportStatus.RUNNING
    try:
        rows = _validate(job, data)
    except ServiceError as exc:
        _finish(job, ImportStatus.FAILED, exc.message)
        return job
    except Exception as exc:
        logger.exception("Import %s failed while reading", job.pk)
        _finish(job, ImportStatus.FAILED, _("The file could not be read: %s") % exc)
        return job
    if rows is None:
        return job
    if job.dry_run:
        _finish(job, ImportStatus.CHECKED, _("%d rows are ready to import.") % len(rows))
        return job
    try:
        with transaction.atomic():
            _write(job, rows)
    except Exception as exc:
        # Nothing of the import survives the rollback; the job says why it failed.
        logger.exception("Import %s failed while writing", job.pk)
        job.written_rows = 0
        _finish(job, ImportStatus.FAILED, _("Writing failed, nothing was written: %s") % exc)
    return job


def _validate(job: ImportJob, data: bytes) -> list | None:
    """The validated rows (value tuples), or None after finishing the job as FAILED with the
    row report."""
    fmt = detect_format(job.file_name, data)
    rows = iter_rows(fmt, data)
    header = next(rows, None)
    if header is None:
        raise ServiceError(_("The file is empty."), "file")
    columns = map_headers(job.kind, header[1])
    width = len(header[1])
    body = list(rows)
    job.total_rows = len(body)
    job.processed_rows = 0
    ImportJob.objects.filter(pk=job.pk).update(total_rows=job.total_rows, processed_rows=0)

    report = _Report(job, len(body))
    validator = VALIDATORS[job.kind](job, columns, width, report)
    valid: list[tuple] = []
    for start in range(0, len(body), LOOKUP_BATCH):
        for row, cells in body[start : start + LOOKUP_BATCH]:
            # Exactly one past the header: absent columns and short rows read as "", and
            # cells beyond the last header (no column to belong to) are dropped.
            del cells[width:]
            cells.extend([""] * (width + 1 - len(cells)))
            values = validator.validate(row, cells)
            if values is not None:
                valid.append(values)
        # Rows with other errors are looked up too, so the report is complete in one pass.
        validator.check_database()
        report.progress(min(start + LOOKUP_BATCH, len(body)))
    job.processed_rows = len(body)
    if report.count:
        report.errors.sort(key=lambda e: e["row"])  # stable: columns stay in file order
        _finish(job, ImportStatus.FAILED, report.summary(), report.errors)
        return None
    return valid


# Field types whose validated Python values every backend takes as they are; values of any
# other field go through the field's own get_db_prep_save (dates, times, JSON ...).
_PASS_THROUGH = {"CharField", "TextField", "ForeignKey", "IntegerField", "BigIntegerField"}


def insert_rows(model, fields: tuple[str, ...], rows: list[tuple]) -> int:
    """INSERT `rows` (values for the attribute names `fields`) into `model`'s table with one
    executemany, in the caller's transaction; return the number of rows.

    The other concrete fields (but the primary key) take their default, evaluated once, so a
    `created_at` is the same instant for every row. This is the import's write path: the same
    rows through bulk_create cost about four times a raw executemany on SQLite (per-value SQL
    compilation), which left no room for validation within the import's 5x budget; see
    docs/registry.md and bench/import.py.
    """
    if not rows:
        return 0
    by_name = {f.attname: f for f in model._meta.concrete_fields if not f.primary_key}
    unknown = set(fields) - set(by_name)
    if unknown:
        raise ValueError(f"{model.__name__} has no fields {sorted(unknown)}")
    rest = [f for name, f in by_name.items() if name not in fields]
    defaults = tuple(f.get_db_prep_save(f.get_default(), connection) for f in rest)
    adapt = [
        (i, by_name[name])
        for i, name in enumerate(fields)
        if by_name[name].get_internal_type() not in _PASS_THROUGH
    ]
    if adapt:
        prepared = []
        for row in rows:
            values = list(row)
            for i, field in adapt:
                values[i] = field.get_db_prep_save(values[i], connection)
            prepared.append((*values, *defaults))
    else:
        prepared = [(*row, *defaults) for row in rows]
    quote = connection.ops.quote_name
    columns = [by_name[name].column for name in fields] + [f.column for f in rest]
    sql = "INSERT INTO {} ({}) VALUES ({})".format(
        quote(model._meta.db_table),
        ", ".join(quote(c) for c in columns),
        ", ".join(["%s"] * len(columns)),
    )
    with connection.cursor() as cursor:
        # One prepared statement for every row: SQLite's fastest path. On PostgreSQL it costs
        # what the baseline costs; multi-row INSERTs were slower there, because Django's
        # psycopg backend binds parameters on the client.
        cursor.executemany(sql, prepared)
    return len(prepared)


def _write(job: ImportJob, rows: list[tuple]) -> None:
    validator = VALIDATORS[job.kind]
    model = validator.model
    written = insert_rows(model, validator.fields, rows)
    audit.record(
        job.created_by,
        AuditEntry.Action.IMPORT,
        object_type=model._meta.label_lower,
        object_id=str(job.pk),
        object_repr=job.file_name,
        area_path=job.area.path,
        fields={"job": job.pk, "kind": job.kind, "rows": written, "file": job.file_name},
    )
    job.written_rows = written
    _finish(job, ImportStatus.SUCCEEDED, _("%d rows imported.") % written)


def run_import_in_background(job: ImportJob, data: bytes) -> threading.Thread:
    """Run the import on a daemon thread (for the web page, which polls the job).

    The thread starts when the current transaction commits (at once outside one), so it
    always sees the job row, and closes its own database connection when it ends.
    """

    def work() -> None:
        try:
            run_import(job, data)
        except Exception:
            logger.exception("Import %s failed", job.pk)
        finally:
            connection.close()

    thread = threading.Thread(target=work, name=f"import-{job.pk}", daemon=True)
    transaction.on_commit(thread.start)
    return thread
