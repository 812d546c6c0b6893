"""Configuration of the request loop: category trees, tags, handling units, the dispatch
catalogue (派单目录), time-limit policy activation and calendar overrides.

Every write takes the acting user, needs `cases.configure`, runs in one transaction and writes
its audit row in it. Categories saved here carry `search_text` (full pinyin and initials of the
name and keywords), which is what lets an operator find 占道经营 by typing `zdjy` or `zhandao`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Case as SqlCase
from django.db.models import IntegerField, Q, Value, When
from django.utils.translation import gettext as _
from pypinyin import Style, lazy_pinyin

from civicgrid.accounts.choices import UnitKind
from civicgrid.accounts.models import Unit
from civicgrid.areas.models import Area
from civicgrid.cases.choices import Complexity
from civicgrid.cases.models import (
    CalendarDay,
    Category,
    DispatchRule,
    SlaPolicy,
    Tag,
    Taxonomy,
)
from civicgrid.core import audit
from civicgrid.core.errors import PermissionDeniedError, ServiceError
from civicgrid.core.models import AuditEntry
from civicgrid.core.scoping import scope_of

MAX_CATEGORY_LEVEL = 3
MAX_UNIT_DEPTH = 3
CODE_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]*$")
# Spreadsheet words for the complexity column, besides the stored values.
COMPLEXITY_WORDS = {
    "": Complexity.ORDINARY,
    "普通": Complexity.ORDINARY,
    "一般": Complexity.ORDINARY,
    "复杂": Complexity.COMPLEX,
    "疑难": Complexity.COMPLEX,
    Complexity.ORDINARY.value: Complexity.ORDINARY,
    Complexity.COMPLEX.value: Complexity.COMPLEX,
}
Action = AuditEntry.Action


def _require(actor) -> None:
    # `actor=None` is the system itself (management commands, the demo loader): trusted code
    # with no user behind it, audited without an actor. Views always pass the signed-in user.
    if actor is None:
        return
    if not scope_of(actor).can("cases.configure"):
        raise PermissionDeniedError(_("You may not change the case configuration."))


def _require_area(actor, area: Area, field_name: str = "area") -> None:
    if actor is not None and not scope_of(actor).covers_path(area.path, "cases.configure"):
        # An area outside the scope is as good as missing.
        raise ServiceError(_("Choose an area in your scope."), field_name)


def _covers_all(actor, areas: Iterable[Area]) -> bool:
    if actor is None:
        return True
    scope = scope_of(actor)
    return all(scope.covers_path(a.path, "cases.configure") for a in areas)


# --- pinyin search ---------------------------------------------------------------------------


def search_text_for(name: str, keywords: str = "") -> str:
    """Full pinyin and initials of the name and of each keyword, lower case, space separated.

    `占道经营` gives `zhandaojingying zdjy`, so both a prefix of the syllables and the
    initials match with one `icontains`.
    """
    parts: list[str] = []
    for text in [name, *split_keywords(keywords)]:
        syllables = [s.lower() for s in lazy_pinyin(text) if s.strip()]
        initials = [s.lower()[:1] for s in lazy_pinyin(text, style=Style.FIRST_LETTER) if s]
        parts.append("".join(syllables))
        parts.append("".join(initials))
    text = " ".join(p for p in parts if p)
    return text[:1000]


def split_keywords(keywords: str) -> list[str]:
    return [k for k in re.split(r"[\s,，、;；]+", keywords or "") if k]


def active_taxonomy() -> Taxonomy | None:
    """The taxonomy new cases are filed under (at most one is active)."""
    return Taxonomy.objects.filter(is_active=True).first()


def search_categories(q: str, *, limit: int = 20, taxonomy: Taxonomy | None = None):
    """Active categories of `taxonomy` (default: the active one) matching `q` by name,
    keyword, code, full pinyin or pinyin initials; leaves (level 3) first, then by code."""
    taxonomy = taxonomy or active_taxonomy()
    q = (q or "").strip()
    if taxonomy is None or not q:
        return []
    folded = re.sub(r"\s+", "", q).lower()
    match = (
        Q(name__icontains=q)
        | Q(keywords__icontains=q)
        | Q(code__startswith=q)
        | Q(search_text__icontains=folded)
    )
    rows = (
        Category.objects.filter(taxonomy=taxonomy, is_active=True)
        .filter(match)
        .select_related("parent__parent")
        .annotate(
            exact=SqlCase(
                When(name=q, then=Value(0)), default=Value(1), output_field=IntegerField()
            )
        )
        .order_by("-level", "exact", "code")
    )
    return list(rows[:limit])


def category_path(category: Category) -> str:
    """`城乡建设 › 城市管理 › 占道经营`: the names from the top."""
    names = []
    node: Category | None = category
    while node is not None:
        names.append(node.name)
        node = node.parent
    return " › ".join(reversed(names))


# --- taxonomies and categories ---------------------------------------------------------------


@transaction.atomic
def create_taxonomy(version: str, name: str, *, actor) -> Taxonomy:
    """A new, inactive, empty category tree."""
    _require(actor)
    version, name = (version or "").strip(), (name or "").strip()
    errors = {}
    if not version:
        errors["version"] = _("Give the taxonomy a version.")
    elif len(version) > 32:
        errors["version"] = _("The version is at most 32 characters.")
    elif Taxonomy.objects.filter(version=version).exists():
        errors["version"] = _("A taxonomy with this version exists already.")
    if not name:
        errors["name"] = _("Give the taxonomy a name.")
    if errors:
        field_name, message = next(iter(errors.items()))
        raise ServiceError(message, field_name, errors)
    taxonomy = Taxonomy.objects.create(version=version, name=name[:100])
    audit.record(actor, Action.CREATE, taxonomy)
    return taxonomy


@transaction.atomic
def activate_taxonomy(taxonomy: Taxonomy, *, actor) -> Taxonomy:
    """Make `taxonomy` the one new cases use. Cases filed earlier keep their categories (they
    point at rows of the old tree, which stays as it is)."""
    _require(actor)
    taxonomy = Taxonomy.objects.select_for_update().get(pk=taxonomy.pk)
    if not taxonomy.categories.filter(level=MAX_CATEGORY_LEVEL, is_active=True).exists():
        raise ServiceError(_("A taxonomy without leaf categories cannot be activated."), "taxonomy")
    previous = active_taxonomy()
    if previous is not None and previous.pk == taxonomy.pk:
        return taxonomy
    Taxonomy.objects.filter(is_active=True).update(is_active=False)
    taxonomy.is_active = True
    taxonomy.save(update_fields=["is_active"])
    audit.record(
        actor,
        Action.UPDATE,
        taxonomy,
        fields={"is_active": True, "previous": previous.version if previous else None},
    )
    return taxonomy


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


def _category_errors(taxonomy: Taxonomy, *, name: str, keywords: str, complexity: str) -> dict:
    errors = {}
    if not name:
        errors["name"] = _("The name is missing.")
    elif len(name) > 100:
        errors["name"] = _("The name is at most 100 characters.")
    if len(keywords) > 500:
        errors["keywords"] = _("The keywords are at most 500 characters.")
    if complexity not in Complexity.values:
        errors["complexity"] = _("The complexity is ordinary (普通) or complex (复杂).")
    return errors


def _raise(errors: dict[str, str]) -> None:
    if errors:
        field_name, message = next(iter(errors.items()))
        raise ServiceError(message, field_name, errors)


@transaction.atomic
def create_category(
    taxonomy: Taxonomy,
    *,
    actor,
    code: str,
    name: str,
    parent: Category | None = None,
    keywords: str = "",
    complexity: str = Complexity.ORDINARY,
) -> Category:
    """One category under `parent` (or at the top) of `taxonomy`."""
    _require(actor)
    code, name, keywords = code.strip(), name.strip(), keywords.strip()
    errors = _category_errors(taxonomy, name=name, keywords=keywords, complexity=complexity)
    if not code or len(code) > 16 or not CODE_RE.match(code):
        errors["code"] = _("A code is up to 16 letters, digits, dots, dashes or underscores.")
    elif taxonomy.categories.filter(code=code).exists():
        errors["code"] = _("Code %(code)s exists already in this taxonomy.") % {"code": code}
    if parent is not None and parent.taxonomy_id != taxonomy.pk:
        errors["parent"] = _("The parent belongs to another taxonomy.")
    elif parent is not None and parent.level >= MAX_CATEGORY_LEVEL:
        errors["parent"] = _("The tree has at most 3 levels.")
    if "name" not in errors and taxonomy.categories.filter(parent=parent, name=name).exists():
        errors["name"] = _("%(name)s appears twice under the same parent.") % {"name": name}
    _raise(errors)
    category = Category.objects.create(
        taxonomy=taxonomy,
        code=code,
        name=name,
        parent=parent,
        level=parent.level + 1 if parent else 1,
        keywords=keywords,
        complexity=complexity,
        search_text=search_text_for(name, keywords),
    )
    audit.record(actor, Action.CREATE, category)
    return category


@transaction.atomic
def update_category(
    category: Category,
    *,
    actor,
    name: str | None = None,
    keywords: str | None = None,
    complexity: str | None = None,
    is_active: bool | None = None,
) -> Category:
    """Rename, re-keyword, re-rate or (de)activate a category; its search text follows."""
    _require(actor)
    category = Category.objects.select_for_update().get(pk=category.pk)
    new = {
        "name": category.name if name is None else name.strip(),
        "keywords": category.keywords if keywords is None else keywords.strip(),
        "complexity": category.complexity if complexity is None else complexity,
        "is_active": category.is_active if is_active is None else is_active,
    }
    errors = _category_errors(
        category.taxonomy, name=new["name"], keywords=new["keywords"], complexity=new["complexity"]
    )
    clash = Category.objects.filter(
        taxonomy=category.taxonomy_id, parent=category.parent_id, name=new["name"]
    ).exclude(pk=category.pk)
    if "name" not in errors and clash.exists():
        errors["name"] = _("%(name)s appears twice under the same parent.") % {"name": new["name"]}
    _raise(errors)
    changed = {k: v for k, v in new.items() if getattr(category, k) != v}
    if not changed:
        return category
    for key, value in changed.items():
        setattr(category, key, value)
    category.search_text = search_text_for(category.name, category.keywords)
    category.save(update_fields=[*changed, "search_text"])
    audit.record(actor, Action.UPDATE, category, fields=changed)
    return category


# --- tags -----------------------------------------------------------------------------------


@transaction.atomic
def create_tag(*, actor, code: str, name: str) -> Tag:
    _require(actor)
    code, name = code.strip(), name.strip()
    errors = {}
    if not code or len(code) > 32 or not CODE_RE.match(code):
        errors["code"] = _("A code is up to 32 letters, digits, dots, dashes or underscores.")
    elif Tag.objects.filter(code=code).exists():
        errors["code"] = _("A tag with this code exists already.")
    if not name or len(name) > 64:
        errors["name"] = _("Give the tag a name of at most 64 characters.")
    _raise(errors)
    tag = Tag.objects.create(code=code, name=name)
    audit.record(actor, Action.CREATE, tag)
    return tag


# --- handling units --------------------------------------------------------------------------


def unit_depth(unit: Unit | None) -> int:
    """1 for a top unit, 2 for its sub-unit, and so on (0 for None)."""
    depth = 0
    while unit is not None:
        depth += 1
        unit = unit.parent
    return depth


def units_below(unit: Unit) -> list[Unit]:
    """The unit's sub-units at every depth (the hierarchy is at most 3 deep)."""
    found, frontier = [], [unit]
    while frontier:
        children = list(Unit.objects.filter(parent__in=frontier))
        found.extend(children)
        frontier = children
    return found


@transaction.atomic
def create_unit(
    *,
    actor,
    code: str,
    name: str,
    kind: str,
    parent: Unit | None = None,
    areas: Iterable[Area] = (),
) -> Unit:
    """A handling unit under `parent` (3 levels at most) covering `areas` (in the actor's
    scope)."""
    _require(actor)
    code, name, areas = code.strip(), name.strip(), list(areas)
    errors = {}
    if not code or len(code) > 32 or not CODE_RE.match(code):
        errors["code"] = _("A code is up to 32 letters, digits, dots, dashes or underscores.")
    elif Unit.objects.filter(code=code).exists():
        errors["code"] = _("A unit with this code exists already.")
    if not name or len(name) > 100:
        errors["name"] = _("Give the unit a name of at most 100 characters.")
    elif Unit.objects.filter(parent=parent, name=name).exists():
        errors["name"] = _("A unit of this name exists already at this place.")
    if kind not in UnitKind.values:
        errors["kind"] = _("Choose a kind of unit.")
    if parent is not None and unit_depth(parent) >= MAX_UNIT_DEPTH:
        errors["parent"] = _("Units are at most 3 levels deep.")
    if not _covers_all(actor, areas):
        errors["areas"] = _("Choose areas in your scope.")
    _raise(errors)
    unit = Unit.objects.create(code=code, name=name, kind=kind, parent=parent)
    if areas:
        unit.areas.set(areas)
    audit.record(
        actor,
        Action.CREATE,
        unit,
        fields={
            "kind": kind,
            "parent": parent.code if parent else None,
            "areas": [a.code for a in areas],
        },
    )
    return unit


@transaction.atomic
def set_unit_areas(unit: Unit, areas: Iterable[Area], *, actor) -> Unit:
    """Replace the areas `unit` covers (the areas its handlers see)."""
    _require(actor)
    areas = list(areas)
    if not _covers_all(actor, areas):
        raise ServiceError(_("Choose areas in your scope."), "areas")
    before = sorted(unit.areas.values_list("code", flat=True))
    unit.areas.set(areas)
    audit.record(
        actor,
        Action.UPDATE,
        unit,
        fields={"areas": sorted(a.code for a in areas), "before": before},
    )
    return unit


# --- the dispatch catalogue ------------------------------------------------------------------


def unit_covers(unit: Unit, area: Area) -> bool:
    """True when the unit covers `area` (one of its areas is the area or above it)."""
    return any(area.path.startswith(a.path) for a in unit.areas.all())


@transaction.atomic
def set_dispatch_rule(
    *, actor, category: Category, area: Area, unit: Unit, auto_dispatch: bool = False
) -> DispatchRule:
    """Say that `unit` handles `category` in `area` (created, or its auto-dispatch flag
    changed). Two rules at the same closeness make routing ambiguous on purpose: a dispatcher
    then chooses."""
    _require(actor)
    errors = {}
    if not _covers_all(actor, [area]):
        errors["area"] = _("Choose an area in your scope.")
    elif area.valid_to is not None:
        errors["area"] = _("This area no longer exists.")
    if not category.is_active:
        errors["category"] = _("This category is not in use.")
    if not unit.is_active:
        errors["unit"] = _("This unit is not active.")
    elif "area" not in errors and not unit_covers(unit, area):
        errors["unit"] = _("%(unit)s does not cover %(area)s.") % {"unit": unit, "area": area.name}
    _raise(errors)
    rule, created = DispatchRule.objects.select_for_update().get_or_create(
        category=category, area=area, unit=unit, defaults={"auto_dispatch": auto_dispatch}
    )
    if not created and rule.auto_dispatch == auto_dispatch:
        return rule
    if not created:
        rule.auto_dispatch = auto_dispatch
        rule.save(update_fields=["auto_dispatch"])
    audit.record(
        actor,
        Action.CREATE if created else Action.UPDATE,
        rule,
        area_path=area.path,
        fields={
            "category": category.code,
            "area": area.code,
            "unit": unit.code,
            "auto_dispatch": auto_dispatch,
        },
    )
    return rule


@transaction.atomic
def remove_dispatch_rule(rule: DispatchRule, *, actor) -> None:
    _require(actor)
    rule = DispatchRule.objects.select_related("area", "category", "unit").get(pk=rule.pk)
    _require_area(actor, rule.area)
    audit.record(
        actor,
        Action.DELETE,
        rule,
        area_path=rule.area.path,
        fields={"category": rule.category.code, "area": rule.area.code, "unit": rule.unit.code},
    )
    rule.delete()


def rules_visible_to(user):
    """Dispatch rules on areas in the user's scope (the catalogue page, the admin)."""
    from civicgrid.core.scoping import scope_filter

    rows = DispatchRule.objects.select_related("category", "area", "unit")
    q = scope_filter(scope_of(user), "area__path")
    return rows if q is None else rows.filter(q)


# --- time-limit policies and the calendar ----------------------------------------------------


@transaction.atomic
def activate_policy(policy: SlaPolicy, *, actor) -> SlaPolicy:
    """Make `policy` the one new cases get. Cases keep the policy they were given."""
    _require(actor)
    policy = SlaPolicy.objects.select_for_update().get(pk=policy.pk)
    if policy.is_active:
        return policy
    if not policy.rules.exists():
        raise ServiceError(_("A policy without rules cannot be activated."), "policy")
    previous = SlaPolicy.objects.filter(is_active=True).first()
    SlaPolicy.objects.filter(is_active=True).update(is_active=False)
    policy.is_active = True
    policy.save(update_fields=["is_active"])
    audit.record(
        actor,
        Action.UPDATE,
        policy,
        fields={"is_active": True, "previous": previous.code if previous else None},
    )
    return policy


@transaction.atomic
def set_calendar_day(*, actor, day: dt.date, is_workday: bool, note: str = "") -> CalendarDay:
    """Override the official calendar for one day (a local closure, or an extra working day)."""
    _require(actor)
    note = (note or "").strip()
    if len(note) > 200:
        raise ServiceError(_("The note is at most 200 characters."), "note")
    entry, created = CalendarDay.objects.select_for_update().update_or_create(
        day=day, defaults={"is_workday": is_workday, "note": note}
    )
    audit.record(
        actor,
        Action.CREATE if created else Action.UPDATE,
        entry,
        fields={"day": day.isoformat(), "is_workday": is_workday, "note": note},
    )
    return entry


@transaction.atomic
def remove_calendar_day(entry: CalendarDay, *, actor) -> None:
    _require(actor)
    audit.record(
        actor,
        Action.DELETE,
        entry,
        fields={"day": entry.day.isoformat(), "is_workday": entry.is_workday},
    )
    entry.delete()
