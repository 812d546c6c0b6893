"""Importing a category tree from a spreadsheet or JSON: rows by level, a plan checked as a\nwhole, a row-level report, all or nothing."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from django.db import transaction
from django.utils.translation import gettext as _

from civicgrid.cases.catalogue.common import (
    CODE_RE,
    COMPLEXITY_WORDS,
    MAX_CATEGORY_LEVEL,
    Action,
    _require,
)
from civicgrid.cases.catalogue.search import search_text_for
from civicgrid.cases.models import (
    Category,
    Taxonomy,
)
from civicgrid.core import audit
from civicgrid.core.errors import ServiceError


@dataclass
class RowError:
    row: int
    field: str
    message: str


@dataclass
class CategoryImportReport:
    """What an import did, or (with errors) why it wrote nothing."""

    rows: int = 0
    created: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict:
        return {
            "rows": self.rows,
            "created": self.created,
            "errors": [e.__dict__ for e in self.errors],
        }


# Column names accepted in an import (English, or the Chinese a spreadsheet would use).
IMPORT_COLUMNS = {
    "code": ("code", "编码", "分类编码"),
    "name": ("name", "名称", "分类名称"),
    "parent": ("parent", "parent_code", "上级编码"),
    "keywords": ("keywords", "关键词"),
    "complexity": ("complexity", "复杂程度"),
}
# The three-column form of a published tree (一级分类,二级分类,三级分类): codes are made up.
LEVEL_COLUMNS = ("一级分类", "二级分类", "三级分类")


def normalise_row(raw: Mapping[str, str]) -> dict[str, str]:
    """A row keyed by our field names, whichever header language the file used."""
    row = {}
    for name, headers in IMPORT_COLUMNS.items():
        value = next((raw[h] for h in headers if raw.get(h) not in (None, "")), "")
        row[name] = str(value).strip()
    return row


def rows_from_levels(raw_rows: Iterable[Mapping[str, str]]) -> list[dict[str, str]]:
    """Rows with codes from a tree given as one path per line (一级分类,二级分类,三级分类):
    level-1 `01`, level-2 `0101`, level-3 `010101`, numbered in order of appearance."""
    codes: dict[tuple[str, ...], str] = {}
    counters: dict[tuple[str, ...], int] = {}
    rows: list[dict[str, str]] = []
    for raw in raw_rows:
        path: tuple[str, ...] = ()
        for header in LEVEL_COLUMNS:
            name = str(raw.get(header) or "").strip()
            if not name:
                break
            parent_path, path = path, (*path, name)
            if path in codes:
                continue
            counters[parent_path] = counters.get(parent_path, 0) + 1
            codes[path] = codes.get(parent_path, "") + f"{counters[parent_path]:02d}"
            rows.append(
                {
                    "code": codes[path],
                    "name": name,
                    "parent": codes.get(parent_path, ""),
                    "keywords": "",
                    "complexity": "",
                }
            )
    return rows


def tree_rows(nodes: Iterable[Mapping], parent: str = "") -> list[dict[str, str]]:
    """Rows for `import_category_tree` from a nested tree (`{"code", "name", "keywords",
    "complexity", "children": [...]}`, the form of cases/data/categories.json)."""
    rows: list[dict[str, str]] = []
    for node in nodes:
        rows.append(
            {
                "code": str(node.get("code", "")),
                "name": str(node.get("name", "")),
                "parent": parent,
                "keywords": str(node.get("keywords", "")),
                "complexity": str(node.get("complexity", "")),
            }
        )
        rows.extend(tree_rows(node.get("children", ()), str(node.get("code", ""))))
    return rows


@dataclass
class CategoryFile:
    rows: list[dict[str, str]]
    first_row: int  # the file's row number of rows[0] (2 below a CSV header)
    version: str = ""  # what a JSON tree says about itself
    name: str = ""


def read_category_file(data: bytes, file_name: str = "") -> CategoryFile:
    """The rows of an uploaded tree: CSV with the columns
    code, name, parent, keywords, complexity (or 编码, 名称, 上级编码, 关键词, 复杂程度), CSV
    with one path per line (一级分类, 二级分类, 三级分类: codes are made up), or the JSON of
    cases/data/categories.json. UTF-8, UTF-16 (Excel's Unicode text) or GBK."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        text = data.decode("utf-16", errors="strict")
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            try:
                text = data.decode("gb18030")
            except UnicodeDecodeError:
                raise ServiceError(_("The file is neither UTF-8 nor GBK text."), "file") from None
    if file_name.lower().endswith(".json") or text.lstrip().startswith("{"):
        try:
            payload = json.loads(text)
        except ValueError:
            raise ServiceError(_("The file is not valid JSON."), "file") from None
        nodes = payload.get("categories") if isinstance(payload, dict) else None
        if not isinstance(nodes, list):
            raise ServiceError(_("The JSON has no list of categories."), "file")
        return CategoryFile(
            tree_rows(nodes), 1, str(payload.get("version", ""))[:32], str(payload.get("name", ""))
        )
    dialect = "excel-tab" if "\t" in text.split("\n", 1)[0] else "excel"
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    headers = {h.strip() for h in reader.fieldnames or () if h}
    raw = [{(k or "").strip(): v for k, v in row.items()} for row in reader]
    if LEVEL_COLUMNS[0] in headers:
        return CategoryFile(rows_from_levels(raw), 2)
    known = {h for names in IMPORT_COLUMNS.values() for h in names}
    if not headers & known:
        raise ServiceError(
            _("The first row must name the columns: code, name, parent, keywords, complexity."),
            "file",
        )
    return CategoryFile(raw, 2)


def import_category_tree(
    taxonomy: Taxonomy, rows: Iterable[Mapping[str, str]], *, actor, first_row: int = 1
) -> CategoryImportReport:
    """Add the categories in `rows` (code, name, parent code, keywords, complexity) to
    `taxonomy`: all of them, or, when any row is wrong, none (the report says which rows and
    why). Parents may come later in the file or exist in the taxonomy already; at most 3
    levels; codes unique in the taxonomy; names unique under one parent."""
    _require(actor)
    report = CategoryImportReport()
    with transaction.atomic():
        taxonomy = Taxonomy.objects.select_for_update().get(pk=taxonomy.pk)
        planned = _plan_import(taxonomy, list(rows), report, first_row)
        if not report.ok:
            return report
        by_code = {c.code: c for c in taxonomy.categories.all()}
        for level in range(1, MAX_CATEGORY_LEVEL + 1):
            batch = [
                Category(
                    taxonomy=taxonomy,
                    code=row["code"],
                    name=row["name"],
                    parent=by_code.get(row["parent"]) if row["parent"] else None,
                    level=level,
                    keywords=row["keywords"],
                    complexity=row["complexity"],
                    search_text=search_text_for(row["name"], row["keywords"]),
                )
                for row in planned
                if row["level"] == level
            ]
            Category.objects.bulk_create(batch, batch_size=500)
            # Re-read the level so the next one links to saved parents on every backend.
            by_code.update((c.code, c) for c in taxonomy.categories.filter(level=level))
        report.created = len(planned)
        audit.record(
            actor,
            Action.IMPORT,
            taxonomy,
            fields={"rows": report.rows, "created": report.created},
        )
    return report


def _plan_import(
    taxonomy: Taxonomy, raw_rows: list[Mapping[str, str]], report: CategoryImportReport, first: int
) -> list[dict]:
    existing = {c.code: (c.level, c.pk) for c in taxonomy.categories.only("code", "level", "pk")}
    rows = [normalise_row(raw) for raw in raw_rows]
    report.rows = len(rows)
    if not rows:
        report.errors.append(RowError(first, "", _("The file holds no categories.")))
        return []

    def fail(index: int, field_name: str, message: str) -> None:
        report.errors.append(RowError(first + index, field_name, message))

    in_file: dict[str, int] = {}
    for i, row in enumerate(rows):
        code = row["code"]
        if not code:
            fail(i, "code", _("The code is missing."))
        elif len(code) > 16 or not CODE_RE.match(code):
            fail(i, "code", _("A code is up to 16 letters, digits, dots, dashes or underscores."))
        elif code in existing:
            fail(i, "code", _("Code %(code)s exists already in this taxonomy.") % {"code": code})
        elif code in in_file:
            fail(
                i,
                "code",
                _("Code %(code)s appears twice (first on row %(row)d).")
                % {"code": code, "row": first + in_file[code]},
            )
        else:
            in_file[code] = i
        if not row["name"]:
            fail(i, "name", _("The name is missing."))
        elif len(row["name"]) > 100:
            fail(i, "name", _("The name is at most 100 characters."))
        if len(row["keywords"]) > 500:
            fail(i, "keywords", _("The keywords are at most 500 characters."))
        complexity = COMPLEXITY_WORDS.get(row["complexity"].lower())
        if complexity is None:
            fail(i, "complexity", _("The complexity is ordinary (普通) or complex (复杂)."))
        else:
            row["complexity"] = complexity.value

    # Levels follow the parents; a row whose parent is missing, too deep or circular fails.
    levels: dict[str, int] = {code: level for code, (level, _pk) in existing.items()}

    def level_of(code: str, seen: frozenset[str] = frozenset()) -> int | None:
        if code in levels:
            return levels[code]
        if code not in in_file or code in seen:
            return None
        parent = rows[in_file[code]]["parent"]
        level = 1 if not parent else level_of(parent, seen | {code})
        if level is None:
            return None
        levels[code] = level if not parent else level + 1
        return levels[code]

    planned = []
    names: set[tuple[str | None, str]] = set(
        taxonomy.categories.values_list("parent__code", "name")
    )
    for i, row in enumerate(rows):
        code, parent = row["code"], row["parent"]
        if in_file.get(code) != i:
            continue  # the code itself was refused above
        if parent and parent not in existing and parent not in in_file:
            fail(
                i,
                "parent",
                _("Parent %(code)s is not in the file or the taxonomy.") % {"code": parent},
            )
            continue
        level = level_of(code)
        if level is None:
            fail(i, "parent", _("The parents of this row go round in a circle."))
            continue
        if level > MAX_CATEGORY_LEVEL:
            fail(
                i,
                "parent",
                _("The tree has at most 3 levels; this row would be on level %(level)d.")
                % {"level": level},
            )
            continue
        key = (parent or None, row["name"])
        if row["name"] and key in names:
            fail(
                i,
                "name",
                _("%(name)s appears twice under the same parent.") % {"name": row["name"]},
            )
            continue
        names.add(key)
        planned.append({**row, "level": level})
    return planned if report.ok else []
