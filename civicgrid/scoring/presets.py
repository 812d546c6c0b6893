"""Scorecard presets: versioned rules as data (`scoring/presets/<code>.json`).

A preset is a list of components (a metric, its points, and either linear scoring or
thresholds), the weights of partly solved / basically satisfied answers and of co-handled
cases, and the bonus and deduction rules. `validate` checks a definition; `sync` stores each
shipped file as a `ScorecardPreset` version once; a file whose content changed without a new
version number is refused, so a stored version never changes meaning.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.db import transaction
from django.utils.translation import gettext as _

from civicgrid.core.errors import ServiceError
from civicgrid.scoring.models import ScorecardPreset

PRESETS_DIR = Path(__file__).resolve().parent / "presets"

# metric -> (numerator, denominator) description, for validation and the docs; the formulas
# are in scorecards.rates.
METRICS = (
    "response_rate",
    "resolution_rate",
    "satisfaction_rate",
    "on_time_acceptance",
    "first_contact",
    "resolved_on_time",
    "return_rate",
    "redo_rate",
)
LOWER_IS_BETTER = frozenset({"return_rate", "redo_rate"})


def _number(value, field: str, *, low: float = 0.0, high: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ServiceError(_("%s must be a number.") % field, field)
    if value < low or (high is not None and value > high):
        raise ServiceError(_("%s is out of range.") % field, field)
    return float(value)


def validate(definition: dict) -> dict:
    """The definition, checked; raises ServiceError naming the bad field."""
    if not isinstance(definition, dict):
        raise ServiceError(_("A preset is a JSON object."), "definition")
    for field in ("code", "name"):
        if not str(definition.get(field) or "").strip():
            raise ServiceError(_("The preset needs a %s.") % field, field)
    version = definition.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ServiceError(_("version must be a whole number from 1."), "version")
    for field in ("partly_solved_weight", "basic_satisfied_weight", "co_handler_weight"):
        _number(definition.get(field, 0), field, high=1)
    _number(definition.get("min_cases", 1), "min_cases")
    _number(definition.get("list_size", 5), "list_size", low=1)
    components = definition.get("components")
    if not isinstance(components, list) or not components:
        raise ServiceError(_("The preset needs at least one component."), "components")
    seen = set()
    for i, c in enumerate(components):
        field = f"components[{i}]"
        if not isinstance(c, dict) or c.get("metric") not in METRICS:
            raise ServiceError(
                _("Unknown metric; choose from %s.") % ", ".join(METRICS), f"{field}.metric"
            )
        if c["metric"] in seen:
            raise ServiceError(_("A metric appears twice."), f"{field}.metric")
        seen.add(c["metric"])
        points = _number(c.get("points"), f"{field}.points")
        better = c.get("better", "lower" if c["metric"] in LOWER_IS_BETTER else "higher")
        if better not in {"higher", "lower"}:
            raise ServiceError(_("better is 'higher' or 'lower'."), f"{field}.better")
        thresholds = c.get("thresholds")
        if thresholds is not None:
            if not isinstance(thresholds, list) or not thresholds:
                raise ServiceError(_("Thresholds are a list of [rate, score]."), field)
            for t in thresholds:
                if not isinstance(t, list) or len(t) != 2:
                    raise ServiceError(_("Thresholds are a list of [rate, score]."), field)
                _number(t[0], f"{field}.thresholds", high=1)
                _number(t[1], f"{field}.thresholds", high=points)
    for section, key in (
        ("bonus", "per_proactive_resolved"),
        ("deductions", "per_unjustified_return"),
    ):
        rules = definition.get(section, {})
        if not isinstance(rules, dict):
            raise ServiceError(_("%s must be an object.") % section, section)
        _number(rules.get(key, 0), f"{section}.{key}")
        _number(rules.get("max", 0), f"{section}.max")
    return definition


def shipped() -> list[dict]:
    """The presets shipped with the app, parsed and validated."""
    return [
        validate(json.loads(path.read_text(encoding="utf-8")))
        for path in sorted(PRESETS_DIR.glob("*.json"))
    ]


@transaction.atomic
def store(definition: dict) -> ScorecardPreset:
    """Store one preset version (idempotent); a changed definition needs a new version."""
    definition = validate(definition)
    existing = ScorecardPreset.objects.filter(
        code=definition["code"], version=definition["version"]
    ).first()
    if existing is not None:
        if existing.definition != definition:
            raise ServiceError(
                _(
                    "Preset %(code)s version %(version)s already exists with other rules: "
                    "give the new rules a new version."
                )
                % {"code": definition["code"], "version": definition["version"]},
                "version",
            )
        return existing
    return ScorecardPreset.objects.create(
        code=definition["code"],
        version=definition["version"],
        name=definition["name"],
        description=definition.get("description", ""),
        definition=definition,
    )


def sync() -> list[ScorecardPreset]:
    """Store every shipped preset version that is not stored yet."""
    return [store(d) for d in shipped()]


def latest() -> list[ScorecardPreset]:
    """The newest version of each preset (storing the shipped ones first if none is)."""
    if not ScorecardPreset.objects.exists():
        sync()
    newest: dict[str, ScorecardPreset] = {}
    for preset in ScorecardPreset.objects.order_by("code", "-version"):
        newest.setdefault(preset.code, preset)
    return list(newest.values())


def get(code: str, version: int | None = None) -> ScorecardPreset:
    """One preset version (the newest when `version` is None); ServiceError if unknown."""
    if not ScorecardPreset.objects.exists():
        sync()
    qs = ScorecardPreset.objects.filter(code=code)
    if version is not None:
        qs = qs.filter(version=version)
    preset = qs.order_by("-version").first()
    if preset is None:
        raise ServiceError(_("Unknown scorecard preset."), "preset")
    return preset
