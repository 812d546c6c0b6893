"""Training data: a labelled CSV, unlabelled CSVs, or the platform's own closed cases.

A bad CSV is refused with a message that says what is wrong and where (a missing column, a
row without text, a single label), before anything is trained.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from django.utils.translation import gettext as _

from civicgrid.core.errors import ServiceError

# Rows with an empty text are refused, not skipped, up to this many are named in the message.
SHOWN_ROWS = 10


@dataclass
class Dataset:
    """(title, description) pairs and their labels, and where they came from."""

    texts: list[tuple[str, str]]
    labels: list[str]
    origin: str
    skipped: dict = field(default_factory=dict)

    def summary(self) -> dict:
        counts: dict[str, int] = {}
        for label in self.labels:
            counts[label] = counts.get(label, 0) + 1
        return {
            "origin": self.origin,
            "rows": len(self.labels),
            "labels": dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))),
            **({"skipped": self.skipped} if self.skipped else {}),
        }

    def extended(self, other: Dataset) -> Dataset:
        """This dataset and `other`'s rows after it (counts of skipped rows added up)."""
        skipped = dict(self.skipped)
        for key, value in other.skipped.items():
            both_counts = isinstance(value, int) and isinstance(skipped.get(key), int)
            skipped[key] = skipped[key] + value if both_counts else value
        return Dataset(
            self.texts + other.texts,
            self.labels + other.labels,
            origin=f"{self.origin}, {other.origin}",
            skipped=skipped,
        )


def _decode(raw: bytes) -> str:
    # Exports from Chinese office software are often GBK; UTF-8 (with or without a BOM) first.
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ServiceError(_("The file is neither UTF-8 nor GBK text."), field="csv")


def _rows(source: str | Path | bytes) -> tuple[list[str], list[dict]]:
    if isinstance(source, bytes):
        raw, name = source, "CSV"
    else:
        path = Path(source)
        if not path.is_file():
            raise ServiceError(_("No such file: %(path)s.") % {"path": path}, field="csv")
        raw, name = path.read_bytes(), path.name
    reader = csv.DictReader(io.StringIO(_decode(raw)))
    columns = [c.strip() for c in reader.fieldnames or []]
    if not columns:
        raise ServiceError(_("%(name)s is empty.") % {"name": name}, field="csv")
    reader.fieldnames = columns
    return columns, list(reader)


def _require_columns(columns: list[str], wanted: list[str]) -> None:
    missing = [c for c in wanted if c not in columns]
    if missing:
        raise ServiceError(
            _("Missing column(s) %(missing)s; the file has: %(found)s.")
            % {"missing": ", ".join(missing), "found": ", ".join(columns)},
            field="csv",
        )


def _text(row: dict, text_cols: list[str]) -> tuple[str, str]:
    """The first column is the title, the others together the description."""
    values = [(row.get(c) or "").strip() for c in text_cols]
    return values[0], "\n".join(values[1:])


def read_labelled(source: str | Path | bytes, text_cols: list[str], label_col: str) -> Dataset:
    """Labelled rows of a CSV. Refuses missing columns, rows without text or label, and a file
    with fewer than two labels."""
    if not text_cols:
        raise ServiceError(_("Name at least one text column."), field="text_cols")
    columns, rows = _rows(source)
    _require_columns(columns, [*text_cols, label_col])
    texts, labels, empty_text, empty_label = [], [], [], []
    for number, row in enumerate(rows, start=2):  # line 1 is the header
        title, description = _text(row, text_cols)
        label = (row.get(label_col) or "").strip()
        if not (title or description).strip():
            empty_text.append(number)
        if not label:
            empty_label.append(number)
        texts.append((title, description))
        labels.append(label)
    if empty_text:
        raise ServiceError(
            _("%(n)d row(s) have no text in %(cols)s: line(s) %(lines)s.")
            % {
                "n": len(empty_text),
                "cols": ", ".join(text_cols),
                "lines": ", ".join(map(str, empty_text[:SHOWN_ROWS])),
            },
            field="csv",
        )
    if empty_label:
        raise ServiceError(
            _("%(n)d row(s) have no label in %(col)s: line(s) %(lines)s.")
            % {
                "n": len(empty_label),
                "col": label_col,
                "lines": ", ".join(map(str, empty_label[:SHOWN_ROWS])),
            },
            field="csv",
        )
    distinct = sorted(set(labels))
    if len(distinct) < 2:
        raise ServiceError(
            _("A classifier needs at least two labels; %(col)s has %(found)s.")
            % {"col": label_col, "found": ", ".join(distinct) or _("none")},
            field="csv",
        )
    origin = source if isinstance(source, (str, Path)) else "upload"
    return Dataset(texts, labels, origin=str(Path(origin).name) if origin != "upload" else origin)


def read_unlabelled(source: str | Path, text_cols: list[str]) -> list[tuple[str, str]]:
    """The texts of a CSV without labels (rows without text are left out)."""
    columns, rows = _rows(source)
    _require_columns(columns, text_cols)
    texts = [_text(row, text_cols) for row in rows]
    return [t for t in texts if (t[0] or t[1]).strip()]


def unit_label(answer: str) -> str | None:
    """The label of the unit that `answer` names most (see `units`), or None: no unit of the
    table named, a body of another label named as often or more, or two labels tied."""
    pattern, label_of = _unit_pattern()
    counts = Counter(label_of[m] for m in pattern.findall(answer or ""))
    if not counts:
        return None
    (top, n), *rest = counts.most_common()
    if rest and rest[0][1] == n:
        return None
    return top


@cache
def _unit_pattern() -> tuple[re.Pattern, dict[str, str | None]]:
    from civicgrid.classifier.units import UNIT_LABELS

    label_of = {w: label for label, words in UNIT_LABELS.items() for w in words}
    longest_first = sorted(label_of, key=lambda w: (-len(w), w))
    return re.compile("|".join(map(re.escape, longest_first))), label_of


def distant_labels(source: str | Path | bytes, text_cols: list[str], unit_col: str) -> Dataset:
    """Messages labelled by the unit that answered them (`unit_col`, e.g. 答复意见): the rows
    whose answer names a unit of `units.UNIT_LABELS` clearly; only their text (`text_cols`) is
    kept, never the answer. Noisier than a person's labels: the training summary says how many
    rows were labelled and how many left out, and why."""
    from civicgrid.classifier.units import UNIT_TABLE_VERSION

    columns, rows = _rows(source)
    _require_columns(columns, [*text_cols, unit_col])
    texts, labels = [], []
    no_answer = unclear = 0
    for row in rows:
        title, description = _text(row, text_cols)
        answer = (row.get(unit_col) or "").strip()
        if not (title or description).strip():
            continue
        if not answer:
            no_answer += 1
            continue
        label = unit_label(answer)
        if label is None:
            unclear += 1
            continue
        texts.append((title, description))
        labels.append(label)
    name = Path(source).name if isinstance(source, (str, Path)) else "upload"
    if not labels:
        raise ServiceError(
            _("No row of %(name)s names a unit of a known label in %(col)s.")
            % {"name": name, "col": unit_col},
            field="distant_csv",
        )
    return Dataset(
        texts,
        labels,
        origin=name,
        skipped={
            "no_answer": no_answer,
            "unit_of_no_label_or_unclear": unclear,
            "unit_table": UNIT_TABLE_VERSION,
        },
    )


def from_cases() -> Dataset:
    """Closed cases whose category was confirmed: the case went the whole loop (closed, not
    merged or closed as invalid) under a category of the active taxonomy. The label is the
    category's code."""
    from civicgrid.cases.choices import State
    from civicgrid.cases.models import Case

    rows = (
        Case.objects.filter(
            state=State.CLOSED,
            category__isnull=False,
            category__taxonomy__is_active=True,
        )
        .order_by("pk")
        .values_list("title", "description", "category__code")
    )
    texts, labels = [], []
    for title, description, code in rows.iterator(chunk_size=2000):
        texts.append((title, description))
        labels.append(code)
    distinct = set(labels)
    if len(distinct) < 2:
        raise ServiceError(
            _(
                "Training from cases needs closed cases in at least two categories of the "
                "active taxonomy; found %(n)d case(s) in %(k)d category(ies)."
            )
            % {"n": len(labels), "k": len(distinct)},
            field="csv",
        )
    return Dataset(texts, labels, origin="cases")
