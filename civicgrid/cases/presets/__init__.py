"""Time-limit presets: JSON files beside this module, loaded into SlaPolicy and SlaRule rows.

A preset names a policy (`code`, `name`, `description`, `near_due_fraction`) and its rules.
Each rule has optional matchers (`kind`, `urgency`, `complexity`, `category_codes`) and two
limits, `respond` and `resolve`, each `[value, unit]` with unit `hours`, `calendar_days` or
`working_days`. A rule with `category_codes` becomes one rule per code found in the active
taxonomy; when none is found it falls back to the matchers in `fallback` (e.g. an urgency).

Loading is idempotent: rules are matched on their matchers, changed in place, and rules no
longer in the file are removed. Cases keep pointing at their policy, never at a rule.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction

from civicgrid.cases.choices import Complexity, Kind, TimeUnit, Urgency
from civicgrid.cases.models import Category, SlaPolicy, SlaRule, Taxonomy
from civicgrid.core import audit
from civicgrid.core.errors import ServiceError
from civicgrid.core.models import AuditEntry

PRESETS_DIR = Path(__file__).resolve().parent
_MATCHERS = {"kind": Kind, "urgency": Urgency, "complexity": Complexity}


@dataclass
class LoadResult:
    policy: SlaPolicy
    created: int = 0
    updated: int = 0
    deleted: int = 0
    notes: list[str] = field(default_factory=list)


def available() -> list[str]:
    """Codes of the presets shipped with the app."""
    return sorted(p.stem for p in PRESETS_DIR.glob("*.json"))


def _limit(rule: dict, name: str, where: str) -> tuple[int, str]:
    try:
        value, unit = rule[name]
    except (KeyError, TypeError, ValueError):
        raise ServiceError(f"{where}: {name} must be [value, unit].", field=name) from None
    if not isinstance(value, int) or value < 0 or unit not in TimeUnit.values:
        raise ServiceError(
            f"{where}: {name} must be a whole number and one of {', '.join(TimeUnit.values)}.",
            field=name,
        )
    return value, unit


def _matchers(spec: dict, where: str) -> dict:
    found = {}
    for name, choices in _MATCHERS.items():
        value = spec.get(name, "")
        if value and value not in choices.values:
            raise ServiceError(f"{where}: unknown {name} {value!r}.", field=name)
        found[name] = value
    return found


def _expand(spec: dict, where: str, taxonomy: Taxonomy | None, notes: list[str]) -> list[dict]:
    """The rows one rule of the file becomes: {kind, urgency, complexity, category, limits}."""
    base = _matchers(spec, where)
    respond = _limit(spec, "respond", where)
    resolve = _limit(spec, "resolve", where)
    limits = {
        "respond_value": respond[0],
        "respond_unit": respond[1],
        "resolve_value": resolve[0],
        "resolve_unit": resolve[1],
    }
    codes = spec.get("category_codes") or []
    if not codes:
        return [{**base, "category": None, **limits}]
    categories = (
        list(Category.objects.filter(taxonomy=taxonomy, code__in=codes).order_by("code"))
        if taxonomy is not None
        else []
    )
    if categories:
        return [{**base, "category": c, **limits} for c in categories]
    fallback = _matchers(spec.get("fallback") or {}, f"{where} fallback")
    if not any(fallback.values()):
        notes.append(f"{where}: no category {', '.join(codes)} in the active taxonomy; skipped")
        return []
    notes.append(
        f"{where}: no category {', '.join(codes)} in the active taxonomy; "
        f"matching {', '.join(f'{k}={v}' for k, v in fallback.items() if v)} instead"
    )
    return [{**base, **{k: v for k, v in fallback.items() if v}, "category": None, **limits}]


def read(code: str) -> dict:
    path = PRESETS_DIR / f"{code}.json"
    if not path.is_file():
        raise ServiceError(
            f"No preset {code!r}; available: {', '.join(available())}.", field="code"
        )
    return json.loads(path.read_text(encoding="utf-8"))


@transaction.atomic
def load(data: dict, *, actor=None) -> LoadResult:
    """Create or update the policy described by `data` (a parsed preset file)."""
    code = data.get("code")
    if not code:
        raise ServiceError("A preset needs a code.", field="code")
    fraction = float(data.get("near_due_fraction", 0.2))
    if not 0 <= fraction < 1:
        raise ServiceError("near_due_fraction must be at least 0 and below 1.", field="code")
    policy, created = SlaPolicy.objects.update_or_create(
        code=code,
        defaults={
            "name": data.get("name", code),
            "description": data.get("description", ""),
            "near_due_fraction": fraction,
        },
    )
    result = LoadResult(policy)
    taxonomy = Taxonomy.objects.filter(is_active=True).first()
    wanted: dict[tuple, dict] = {}
    for index, spec in enumerate(data.get("rules", [])):
        where = f"{code} rule {index + 1} ({spec.get('label', '')})"
        for row in _expand(spec, where, taxonomy, result.notes):
            key = (row["kind"], row["urgency"], row["complexity"], row["category"])
            wanted[key] = row
    existing = {
        (r.kind, r.urgency, r.complexity, r.category): r
        for r in SlaRule.objects.filter(policy=policy).select_related("category")
    }
    limit_fields = ("respond_value", "respond_unit", "resolve_value", "resolve_unit")
    for key, row in wanted.items():
        rule = existing.pop(key, None)
        if rule is None:
            SlaRule.objects.create(policy=policy, **row)
            result.created += 1
        elif any(getattr(rule, f) != row[f] for f in limit_fields):
            for f in limit_fields:
                setattr(rule, f, row[f])
            rule.save(update_fields=list(limit_fields))
            result.updated += 1
    for rule in existing.values():
        rule.delete()
        result.deleted += 1
    audit.record(
        actor,
        AuditEntry.Action.IMPORT,
        policy,
        fields={
            "preset": code,
            "policy_created": created,
            "rules_created": result.created,
            "rules_updated": result.updated,
            "rules_deleted": result.deleted,
        },
    )
    return result
