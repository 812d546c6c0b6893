"""Excel exports of residents, households and buildings; people masked unless the user may
and does reveal.

The columns use the import's Chinese headers (plus a few derived ones the importer ignores),
so an unmasked export can be corrected and imported again. Every export writes an EXPORT
audit row with the row count; an unmasked one also writes a REVEAL row with the reason.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Count, QuerySet
from django.utils.translation import gettext as _

from civicgrid.areas.choices import Level
from civicgrid.core import audit, clock
from civicgrid.core.errors import PermissionDeniedError, ServiceError
from civicgrid.core.exports import CommonPath, check_row_count, workbook_bytes
from civicgrid.core.masking import mask_id_number, mask_name, mask_phone
from civicgrid.core.models import AuditEntry
from civicgrid.core.scoping import Scope, scope_of
from civicgrid.registry.choices import (
    ELDERLY_ZH,
    GENDER_ZH,
    HOUSEHOLD_TYPE_ZH,
    POPULATION_TYPE_ZH,
    RELATION_ZH,
    TAG_ZH,
    zh_name,
)
from civicgrid.registry.selectors import visible_tags

Action = AuditEntry.Action

RESIDENT_EXPORT_HEADERS = [
    "姓名",
    "身份证号",
    "性别",
    "年龄",
    "联系电话",
    "民族",
    "与户主关系",
    "人口类型",
    "标签",
    "地址",
    "区域编码",
    "所属区域",
]
BUILDING_EXPORT_HEADERS = [
    "楼栋地址",
    "小区",
    "楼号",
    "层数",
    "纬度",
    "经度",
    "网格编码",
    "所属网格",
    "户数",
]
HOUSEHOLD_EXPORT_HEADERS = [
    "地址",
    "楼栋地址",
    "单元",
    "房号",
    "住房用途",
    "联系人",
    "联系电话",
    "网格编码",
    "所属区域",
    "人数",
]


def _check(user, reveal: bool, reason: str) -> Scope:
    scope = scope_of(user)
    if not scope.can("registry.export"):
        raise PermissionDeniedError(_("Your role may not export the registry."))
    if reveal:
        if not scope.can("registry.reveal"):
            raise PermissionDeniedError(_("Your role may not export unmasked personal data."))
        if not reason.strip():
            raise ServiceError(_("Say why the unmasked list is needed."), "reason")
    return scope


def _tag_names(codes: list[str]) -> str:
    names = [ELDERLY_ZH[0] if c == "elderly_60" else zh_name(TAG_ZH, c) for c in codes]
    return "、".join(names)


def _audit(user, model, rows: int, paths: CommonPath, reveal: bool, reason: str) -> None:
    fields = {"rows": rows, "revealed": reveal}
    label = model._meta.label_lower
    audit.record(
        user,
        Action.EXPORT,
        object_type=label,
        object_repr=_("%d rows") % rows,
        area_path=paths.value,
        fields=fields,
        reason=reason.strip(),
    )
    if reveal:
        audit.record(
            user,
            Action.REVEAL,
            object_type=label,
            object_repr=_("%d rows (export)") % rows,
            area_path=paths.value,
            fields=fields,
            reason=reason.strip(),
        )


@transaction.atomic
def export_residents_xlsx(
    user, queryset: QuerySet, *, reveal: bool = False, reason: str = ""
) -> bytes:
    """The residents of `queryset` that `user` may see, as an .xlsx workbook.

    Needs registry.export. ID numbers, phones and names are masked, and sensitive tags left
    out, unless `reveal` is set, the user holds registry.reveal and gives a `reason`
    (PermissionDeniedError / ServiceError otherwise). Audited as EXPORT (and REVEAL).
    """
    from openpyxl import Workbook

    scope = _check(user, reveal, reason)
    today = clock.today()
    rows = (
        queryset.visible_to(user)
        .select_related("household", "area")
        .order_by("area__path", "name", "id")
    )
    book = Workbook(write_only=True)
    sheet = book.create_sheet("居民")
    sheet.append(RESIDENT_EXPORT_HEADERS)
    paths = CommonPath()
    count = 0
    for r in rows.iterator(chunk_size=2000):
        count += 1
        paths.add(r.area.path)
        sheet.append(
            [
                r.name if reveal else mask_name(r.name),
                r.id_number if reveal else mask_id_number(r.id_number),
                GENDER_ZH.get(r.gender, r.gender),
                r.age_on(today),
                r.phone if reveal else mask_phone(r.phone),
                r.ethnicity,
                zh_name(RELATION_ZH, r.relation),
                zh_name(POPULATION_TYPE_ZH, r.population_type),
                _tag_names(visible_tags(r, scope, today)),
                r.household.address if r.household_id else "",
                r.area.code,
                r.area.name,
            ]
        )
    data = workbook_bytes(book)
    _audit(user, rows.model, count, paths, reveal, reason)
    return data


@transaction.atomic
def export_households_xlsx(
    user, queryset: QuerySet, *, reveal: bool = False, reason: str = ""
) -> bytes:
    """The households of `queryset` that `user` may see, as an .xlsx workbook, with the
    number of residents of each. Contact names and phones are masked unless revealed, on the
    same terms as `export_residents_xlsx`."""
    from openpyxl import Workbook

    _check(user, reveal, reason)
    rows = (
        queryset.visible_to(user)
        .select_related("area", "building")
        .annotate(resident_count=Count("residents"))
        .order_by("area__path", "address", "id")
    )
    book = Workbook(write_only=True)
    sheet = book.create_sheet("住户")
    sheet.append(HOUSEHOLD_EXPORT_HEADERS)
    paths = CommonPath()
    count = 0
    for h in rows.iterator(chunk_size=2000):
        count += 1
        paths.add(h.area.path)
        sheet.append(
            [
                h.address,
                h.building.address if h.building_id else "",
                h.entrance,
                h.room,
                zh_name(HOUSEHOLD_TYPE_ZH, h.household_type),
                h.contact_name if reveal else mask_name(h.contact_name),
                h.contact_phone if reveal else mask_phone(h.contact_phone),
                h.area.code if h.area.level == Level.GRID else "",
                h.area.name,
                h.resident_count,
            ]
        )
    data = workbook_bytes(book)
    _audit(user, rows.model, count, paths, reveal, reason)
    return data


@transaction.atomic
def export_buildings_xlsx(user, queryset: QuerySet) -> bytes:
    """The buildings of `queryset` that `user` may see, as an .xlsx workbook, with the number
    of households registered in each. Buildings hold no personal data, so nothing is masked;
    it still needs registry.export and is audited as EXPORT (the list says where people live).
    """
    from openpyxl import Workbook

    _check(user, False, "")
    rows = (
        queryset.visible_to(user)
        .select_related("grid")
        .annotate(household_total=Count("households"))
        .order_by("grid__path", "address", "id")
    )
    check_row_count(rows.count())
    book = Workbook(write_only=True)
    sheet = book.create_sheet("楼栋")
    sheet.append(BUILDING_EXPORT_HEADERS)
    paths = CommonPath()
    count = 0
    for b in rows.iterator(chunk_size=2000):
        count += 1
        paths.add(b.grid.path)
        sheet.append(
            [
                b.address,
                b.estate,
                b.number,
                b.floors,
                b.lat,
                b.lon,
                b.grid.code,
                b.grid.name,
                b.household_total,
            ]
        )
    data = workbook_bytes(book)
    _audit(user, rows.model, count, paths, False, "")
    return data
