"""Bulk import of work orders from a legacy hotline system (CSV, UTF-8 or GBK).

Every row goes through `intake.receive_case`, the same path as a case typed in by hand, so the
rules are the intake's. The import is all or nothing: the rows run inside one transaction, and
if any row is refused (or it is a dry run) the transaction is rolled back and the report lists
every refusal as (row, column, message), with row numbers as a spreadsheet shows them (the
header is row 1).

Imported cases keep their original received time (受理时间), which also dates their number,
and the legacy number (工单编号) on their RECEIVE event (`data["legacy_number"]`). The legacy
number also makes the import idempotent: each row's idempotency key is
`legacy:<channel>:<number>`, so running the same file again adds nothing and reports the rows
as already imported.

Columns (Chinese headers, in any order; * = required):
    工单编号*  受理时间*  诉求类型*  标题*  内容*  分类编码  地址  经度  纬度  来电人  联系电话
    紧急程度  是否保密
A location needs 经度 and 纬度, or 地址 (or both).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from civicgrid.cases import intake
from civicgrid.cases.choices import Kind, Urgency
from civicgrid.cases.models import Case, Category, Taxonomy
from civicgrid.core import audit
from civicgrid.core.errors import PermissionDeniedError, ServiceError
from civicgrid.core.models import AuditEntry
from civicgrid.core.scoping import scope_of

COLUMNS = {
    "工单编号": "legacy_number",
    "受理时间": "received_at",
    "诉求类型": "kind",
    "分类编码": "category",
    "标题": "title",
    "内容": "description",
    "地址": "address",
    "经度": "lon",
    "纬度": "lat",
    "来电人": "reporter_name",
    "联系电话": "reporter_phone",
    "紧急程度": "urgency",
    "是否保密": "anonymous",
}
REQUIRED = ("工单编号", "受理时间", "诉求类型", "标题", "内容")
HEADER_ALIASES = {
    "编号": "工单编号",
    "工单号": "工单编号",
    "来电时间": "受理时间",
    "受理日期": "受理时间",
    "类型": "诉求类型",
    "诉求内容": "内容",
    "问题描述": "内容",
    "事发地址": "地址",
    "来电人姓名": "来电人",
    "联系人": "来电人",
    "来电号码": "联系电话",
    "手机号码": "联系电话",
}
# Column of the file that holds each intake field, to place the intake's refusals.
FIELD_COLUMNS = {value: key for key, value in COLUMNS.items()} | {"idempotency_key": "工单编号"}
KIND_ZH = {
    "咨询": Kind.INQUIRY,
    "求助": Kind.HELP,
    "投诉": Kind.COMPLAINT,
    "举报": Kind.REPORT,
    "建议": Kind.SUGGESTION,
    "表扬": Kind.PRAISE,
}
URGENCY_ZH = {"普通": Urgency.NORMAL, "一般": Urgency.NORMAL, "紧急": Urgency.URGENT}
URGENCY_ZH |= {"特急": Urgency.EMERGENCY, "特别紧急": Urgency.EMERGENCY}
YES = {"是", "1", "true", "yes", "y", "保密"}
NO = {"", "否", "0", "false", "no", "n"}
TIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%Y年%m月%d日 %H:%M",
    "%Y年%m月%d日%H:%M",
)
MAX_REPORTED_ERRORS = 1000


@dataclass
class RowError:
    row: int
    column: str
    message: str


@dataclass
class ImportReport:
    rows: int = 0
    imported: int = 0
    already: int = 0
    dry_run: bool = False
    errors: list[RowError] = field(default_factory=list)
    numbers: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


class _Rollback(Exception):
    """Raised inside the import's transaction to undo every row (dry run or a refused row)."""


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), else GB 18030 (a superset of GBK, what Excel writes)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return data.decode("gb18030")
        except UnicodeDecodeError:
            raise ServiceError(_("The file is neither UTF-8 nor GBK text."), "file") from None


def read_rows(text: str) -> tuple[list[str], list[dict[str, str]]]:
    """The header (canonical names) and the rows as {header: cell}; refuses a bad header."""
    reader = csv.reader(io.StringIO(text))
    try:
        raw_header = next(reader)
    except StopIteration:
        raise ServiceError(_("The file is empty."), "file") from None
    header = [HEADER_ALIASES.get(h.strip(), h.strip()) for h in raw_header]
    missing = [h for h in REQUIRED if h not in header]
    if missing:
        raise ServiceError(
            _("Missing columns: %(columns)s.") % {"columns": "、".join(missing)}, "file"
        )
    if not ({"地址"} & set(header) or {"经度", "纬度"} <= set(header)):
        raise ServiceError(_("The file needs 地址 or both 经度 and 纬度."), "file")
    rows = []
    for cells in reader:
        if not any(c.strip() for c in cells):
            continue
        rows.append({h: (cells[i].strip() if i < len(cells) else "") for i, h in enumerate(header)})
    return header, rows


def _parse_time(text: str) -> dt.datetime | None:
    for fmt in TIME_FORMATS:
        try:
            value = dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
        return timezone.make_aware(value)  # the project's time zone (Asia/Shanghai)
    return None


def _parse_row(cells: dict[str, str], line: int, categories: dict[str, Category], errors) -> dict:
    def bad(column: str, message: str) -> None:
        errors.append(RowError(line, column, message))

    values: dict = {"legacy_number": cells.get("工单编号", "")}
    for column in REQUIRED:
        if not cells.get(column):
            bad(column, _("Required."))
    received = cells.get("受理时间", "")
    if received:
        values["received_at"] = _parse_time(received)
        if values["received_at"] is None:
            bad("受理时间", _("Use a date and time such as 2024-05-01 08:30."))
    kind = cells.get("诉求类型", "")
    if kind:
        values["kind"] = KIND_ZH.get(kind) or (kind if kind in Kind.values else None)
        if values["kind"] is None:
            bad("诉求类型", _("One of: %(kinds)s.") % {"kinds": "、".join(KIND_ZH)})
    code = cells.get("分类编码", "")
    if code:
        values["category"] = categories.get(code)
        if values["category"] is None:
            bad("分类编码", _("No category with this code in the active taxonomy."))
    urgency = cells.get("紧急程度", "")
    values["urgency"] = URGENCY_ZH.get(urgency) or (urgency or Urgency.NORMAL)
    secret = cells.get("是否保密", "").lower()
    if secret not in YES | NO:
        bad("是否保密", _("是 or 否."))
    values["anonymous"] = secret in YES
    for column, name in (("经度", "lon"), ("纬度", "lat")):
        text = cells.get(column, "")
        values[name] = None
        if text:
            try:
                values[name] = float(text)
            except ValueError:
                bad(column, _("Not a number."))
    for column in ("标题", "内容", "地址", "来电人", "联系电话"):
        values[COLUMNS[column]] = cells.get(column, "")
    return values


def import_cases(
    data: bytes, *, actor, channel: str, dry_run: bool = False, file_name: str = ""
) -> ImportReport:
    """Check every row, then take them all in (or none). See the module docstring."""
    caller = scope_of(actor)
    if not caller.can("cases.intake"):
        raise PermissionDeniedError(_("Your roles do not allow taking in cases."))
    _header, rows = read_rows(decode(data))
    report = ImportReport(rows=len(rows), dry_run=dry_run)
    taxonomy = Taxonomy.objects.filter(is_active=True).first()
    codes = {r.get("分类编码", "") for r in rows} - {""}
    categories = {c.code: c for c in Category.objects.filter(taxonomy=taxonomy, code__in=codes)}
    parsed = []
    seen: dict[str, int] = {}
    for index, cells in enumerate(rows, start=2):
        values = _parse_row(cells, index, categories, report.errors)
        number = values["legacy_number"]
        if number and number in seen:
            report.errors.append(
                RowError(
                    index, "工单编号", _("Same number as row %(row)d.") % {"row": seen[number]}
                )
            )
        seen.setdefault(number, index)
        parsed.append((index, values))
    keys = {f"legacy:{channel}:{v['legacy_number']}" for _i, v in parsed}
    existing = set(
        Case.objects.filter(idempotency_key__in=keys).values_list("idempotency_key", flat=True)
    )
    try:
        with transaction.atomic():
            refused = {e.row for e in report.errors}
            for index, values in parsed:
                if index in refused:
                    continue
                key = f"legacy:{channel}:{values.pop('legacy_number')}"
                try:
                    case = intake.receive_case(
                        actor=actor,
                        channel=channel,
                        idempotency_key=key,
                        legacy_number=key.split(":", 2)[2],
                        **values,
                    )
                except PermissionDeniedError:
                    raise
                except ServiceError as exc:
                    for name, message in (exc.errors or {"": exc.message}).items():
                        column = FIELD_COLUMNS.get(name, name)
                        report.errors.append(RowError(index, column, message))
                    continue
                if key in existing:
                    report.already += 1
                else:
                    report.imported += 1
                    report.numbers.append(case.number)
            if report.errors or dry_run:
                raise _Rollback
            audit.record(
                actor,
                AuditEntry.Action.IMPORT,
                object_type="cases.case",
                object_repr=file_name[:200],
                fields={"channel": channel, "rows": report.rows, "imported": report.imported},
            )
    except _Rollback:
        # Nothing was kept: the numbers taken inside the transaction are void.
        report.numbers = []
        if report.errors:
            report.imported = report.already = 0
    report.errors.sort(key=lambda e: (e.row, e.column))
    report.errors = report.errors[:MAX_REPORTED_ERRORS]
    return report


def import_file(path: Path, **kwargs) -> ImportReport:
    return import_cases(path.read_bytes(), file_name=path.name, **kwargs)
