"""Taxonomies (activation replaces the tree; old cases keep their category), categories and tags."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from civicgrid.cases.catalogue.common import CODE_RE, MAX_CATEGORY_LEVEL, Action, _require
from civicgrid.cases.catalogue.search import active_taxonomy, search_text_for
from civicgrid.cases.choices import Complexity
from civicgrid.cases.models import (
    Category,
    Tag,
    Taxonomy,
)
from civicgrid.core import audit
from civicgrid.core.errors import ServiceError

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
