"""Reading a CSV of messages into mining docs (the `mine_topics --csv` path)."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from django.utils import timezone

from civicgrid.insights.mining import Doc, clean, heat

TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d", "%Y-%m-%d")


class CsvError(ValueError):
    """A CSV the command cannot mine; `field` names the offending option."""

    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.field = field


def parse_time(value: str) -> dt.datetime | None:
    value = clean(value)
    for fmt in TIME_FORMATS:
        try:
            return timezone.make_aware(dt.datetime.strptime(value, fmt))
        except ValueError:
            continue
    return None


def read_docs(
    path: Path,
    *,
    text_cols: Sequence[str],
    time_col: str,
    id_col: str = "",
    reporter_col: str = "",
    likes_col: str = "",
    dislikes_col: str = "",
) -> tuple[list[Doc], int]:
    """(docs, rows skipped for a missing or unreadable time). The first text column is the
    title. Raises CsvError naming the option when a column is missing."""
    if not path.is_file():
        raise CsvError(f"No such file: {path}", "csv")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        for option, names in (
            ("text-cols", list(text_cols)),
            ("time-col", [time_col]),
            ("id-col", [id_col] if id_col else []),
            ("reporter-col", [reporter_col] if reporter_col else []),
            ("likes-col", [likes_col] if likes_col else []),
            ("dislikes-col", [dislikes_col] if dislikes_col else []),
        ):
            missing = [n for n in names if n not in header]
            if missing:
                raise CsvError(
                    f"--{option}: no column {', '.join(missing)} (columns: {', '.join(header)})",
                    option,
                )
        docs, skipped = [], 0
        for number, row in enumerate(reader, start=1):
            at = parse_time(row.get(time_col) or "")
            if at is None:
                skipped += 1
                continue
            title = clean(row.get(text_cols[0]) or "")
            body = " ".join(clean(row.get(c) or "") for c in text_cols[1:])
            docs.append(
                Doc(
                    id=clean(row.get(id_col) or "") if id_col else str(number),
                    title=title,
                    text=body,
                    at=at,
                    heat=heat(_number(row.get(likes_col)), _number(row.get(dislikes_col))),
                    reporter=clean(row.get(reporter_col) or "") if reporter_col else "",
                )
            )
    return docs, skipped


def _number(value) -> float:
    try:
        return float(value or 0)
    except (TypeError, ValueError):
        return 0.0
