"""Service attributes (GeoReport v2 service definitions), kept as data.

Categories have no field for them, so they live in `data/attributes.json`, keyed by category
code; the file `settings.OPEN311_ATTRIBUTES_FILE` names replaces it when set. A category
listed there is served with metadata=true. `clean_attributes` checks what a client posted
against the definitions.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from django.conf import settings
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from civicgrid.core.errors import ServiceError

DEFAULT_FILE = Path(__file__).parent / "data" / "attributes.json"
DATATYPES = frozenset({"string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"})
MAX_VALUE = 1000  # characters of one answer


@cache
def _load(path: str) -> dict[str, list[dict]]:
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    table: dict[str, list[dict]] = {}
    for code, items in raw.items():
        if code.startswith("_"):
            continue
        rows = []
        for order, item in enumerate(items, start=1):
            if item.get("datatype") not in DATATYPES or not item.get("code"):
                raise ValueError(f"{path}: category {code}: bad attribute {item!r}")
            rows.append(
                {
                    "variable": bool(item.get("variable", True)),
                    "code": str(item["code"]),
                    "datatype": item["datatype"],
                    "required": bool(item.get("required", False)),
                    "datatype_description": item.get("datatype_description", ""),
                    "order": int(item.get("order", order)),
                    "description": item.get("description", ""),
                    "values": [
                        {"key": str(v["key"]), "name": str(v["name"])}
                        for v in item.get("values", ())
                    ],
                }
            )
        table[code] = sorted(rows, key=lambda r: r["order"])
    return table


def definitions() -> dict[str, list[dict]]:
    """{category code: [attribute, ...]}, each attribute as GeoReport v2 names its fields."""
    path = getattr(settings, "OPEN311_ATTRIBUTES_FILE", "") or str(DEFAULT_FILE)
    return _load(path)


def for_category(code: str) -> list[dict]:
    return definitions().get(code, [])


def clean_attributes(code: str, posted: dict[str, list[str]]) -> dict[str, str | list[str]]:
    """The answers to `code`'s attributes from `posted` ({attribute code: [values]}).

    Raises ServiceError with one message per attribute (`attribute[code]`) for a missing
    required answer, an unknown attribute, a value not in the list, or a malformed number or
    date.
    """
    errors: dict[str, str] = {}
    known = {a["code"]: a for a in for_category(code)}
    answers: dict[str, str | list[str]] = {}
    for name in posted:
        if name not in known:
            errors[f"attribute[{name}]"] = _("This service has no attribute %(code)s.") % {
                "code": name
            }
    for name, attribute in known.items():
        field = f"attribute[{name}]"
        values = [v.strip() for v in posted.get(name, []) if v and v.strip()]
        if not values:
            if attribute["required"]:
                errors[field] = _("Answer %(description)s.") % {
                    "description": attribute["description"] or name
                }
            continue
        if any(len(v) > MAX_VALUE for v in values):
            errors[field] = _("An answer may have at most %(n)d characters.") % {"n": MAX_VALUE}
            continue
        datatype = attribute["datatype"]
        keys = {v["key"] for v in attribute["values"]}
        if datatype == "multivaluelist":
            wrong = [v for v in values if v not in keys]
            if wrong:
                errors[field] = _("Not among the choices: %(values)s.") % {
                    "values": ", ".join(wrong)
                }
            answers[name] = sorted(set(values))
            continue
        if len(values) > 1:
            errors[field] = _("Give one answer.")
            continue
        value = values[0]
        if datatype == "singlevaluelist" and value not in keys:
            errors[field] = _("Not among the choices: %(values)s.") % {"values": value}
        elif datatype == "number":
            try:
                number = float(value)
                if number != number or number in (float("inf"), float("-inf")):
                    raise ValueError
            except ValueError:
                errors[field] = _("Give a number.")
        elif datatype == "datetime" and not _is_date(value):
            errors[field] = _("Give a date and time such as 2026-01-31T09:30:00+08:00.")
        answers[name] = value
    if errors:
        raise ServiceError(next(iter(errors.values())), errors=errors)
    return answers


def _is_date(value: str) -> bool:
    try:
        return parse_datetime(value) is not None or parse_date(value) is not None
    except ValueError:  # well formed but no such day (2026-02-30)
        return False
