"""Excel exports shared by the apps: the response, the area an export's audit row belongs to,
and the export of the audit log itself.

Every export writes an EXPORT audit row (who, how many rows, which filters) in the same
transaction that read the rows, with the deepest area path the rows share, so the auditors of
that subtree see that the list left the system.
"""

from __future__ import annotations

import io
import json
import os

from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpResponse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from civicgrid.core import audit
from civicgrid.core.errors import PermissionDeniedError, ServiceError
from civicgrid.core.models import AuditEntry
from civicgrid.core.scoping import scope_of

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# A worksheet holds 1,048,576 rows; one is the header.
MAX_ROWS = 1_048_575

AUDIT_EXPORT_HEADERS = [
    "时间",
    "操作人",
    "用户名",
    "操作",
    "对象类型",
    "对象编号",
    "对象",
    "区域路径",
    "原因",
    "字段",
]


def xlsx_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"  # lists of people and places: never in a shared cache
    return response


class CommonPath:
    """The deepest area path shared by every exported row: where the audit row belongs."""

    def __init__(self):
        self.common: str | None = None

    def add(self, path: str) -> None:
        if self.common is None:
            self.common = path
        elif not path.startswith(self.common):
            prefix = os.path.commonprefix([self.common, path])
            self.common = prefix[: prefix.rfind("/") + 1]

    @property
    def value(self) -> str:
        return self.common or ""


def workbook_bytes(book) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def check_row_count(count: int) -> None:
    if count > MAX_ROWS:
        raise ServiceError(
            _("%(count)d rows are more than one worksheet holds (%(max)d); narrow the search.")
            % {"count": count, "max": MAX_ROWS}
        )


@transaction.atomic
def export_audit_xlsx(user, queryset: QuerySet, *, filters: dict | None = None) -> bytes:
    """The audit entries of `queryset` that `user` may see, newest first, as .xlsx bytes.

    Needs audit.view (PermissionDeniedError otherwise). A resident's name in the object
    column is masked, on older rows too; the services never write personal data into the
    fields. Audited as EXPORT with the row count and the `filters` used.
    """
    from openpyxl import Workbook

    if not scope_of(user).can("audit.view"):
        raise PermissionDeniedError(_("Your role may not read the audit log."))
    rows = queryset.visible_to(user).select_related("actor").order_by("-at", "-id")
    check_row_count(rows.count())
    with translation.override("zh-hans"):
        actions = {code: str(label) for code, label in AuditEntry.Action.choices}
    book = Workbook(write_only=True)
    sheet = book.create_sheet("审计日志")
    sheet.append(AUDIT_EXPORT_HEADERS)
    paths = CommonPath()
    count = 0
    for entry in rows.iterator(chunk_size=2000):
        count += 1
        paths.add(entry.area_path)
        actor = entry.actor
        sheet.append(
            [
                # Excel has no time zones: the local (Asia/Shanghai) time, as the page shows.
                timezone.localtime(entry.at).replace(tzinfo=None),
                str(actor) if actor else "系统",
                actor.username if actor else "",
                actions.get(entry.action, entry.action),
                entry.object_type,
                entry.object_id,
                entry.shown_repr,
                entry.area_path,
                entry.reason,
                json.dumps(entry.fields, ensure_ascii=False, sort_keys=True)
                if entry.fields
                else "",
            ]
        )
    data = workbook_bytes(book)
    audit.record(
        user,
        AuditEntry.Action.EXPORT,
        object_type=AuditEntry._meta.label_lower,
        object_repr=_("%d rows") % count,
        area_path=paths.value,
        fields={"rows": count, "filters": filters or {}},
    )
    return data
