"""Category search by pinyin, initials and keywords (占道经营 by `zdjy` or `zhandao`), and the\nactive taxonomy."""

from __future__ import annotations

import re

from django.db.models import Case as SqlCase
from django.db.models import IntegerField, Q, Value, When
from pypinyin import Style, lazy_pinyin

from civicgrid.cases.models import (
    Category,
    Taxonomy,
)

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
