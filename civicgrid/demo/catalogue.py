"""The demo's data files (`civicgrid/demo/data/*.json`), read once and checked against the
model choices, so a typo in the data stops the load with a message instead of writing rows
no form would accept."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from civicgrid.accounts.choices import Role, UnitKind
from civicgrid.registry.choices import (
    HouseholdType,
    OrganizationRating,
    PlaceKind,
    Relation,
    ResidentTag,
)

DATA_DIR = Path(__file__).resolve().parent / "data"


class DemoDataError(ValueError):
    """A data file is missing, malformed, or names a value the models do not know."""


@cache
def load(name: str) -> dict:
    """The parsed `data/<name>.json`."""
    path = DATA_DIR / f"{name}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DemoDataError(f"Demo data file {path} is missing.") from None
    except json.JSONDecodeError as exc:
        raise DemoDataError(f"Demo data file {path} is not valid JSON: {exc}") from None


def district_profile(code: str) -> dict:
    """The generation parameters of one district (districts.json)."""
    districts = load("districts")
    if code not in districts:
        known = ", ".join(k for k in districts if not k.startswith("_"))
        raise DemoDataError(
            f"No demo outline for district {code} in {DATA_DIR / 'districts.json'} "
            f"(known: {known})."
        )
    return districts[code]


def check() -> None:
    """Raise DemoDataError when a data file names a tag, kind, role ... the models lack."""
    profile, catalogue, logins = load("profile"), load("catalogue"), load("logins")
    problems: list[str] = []

    def expect(values, allowed, what: str) -> None:
        for value in values:
            if value not in allowed:
                problems.append(f"unknown {what} {value!r}")

    expect(profile["households"]["use_weights"], HouseholdType.values, "housing use")
    expect(profile["households"]["floating_share"], HouseholdType.values, "housing use")
    expect([t["tag"] for t in profile["tags"]], ResidentTag.values, "resident tag")
    for composition in profile["compositions"]:
        expect(composition.get("tags", []), ResidentTag.values, "resident tag")
        expect(composition["members"], Relation.values, "relation")
        expect(composition["members"], profile["member_ages"], "member age rule for")
    expect(profile["places_per_grid"], PlaceKind.values, "place kind")
    expect(profile["places_per_community"], PlaceKind.values, "place kind")
    expect(profile["organisations"]["rating_weights"], OrganizationRating.values, "rating")
    expect([u["kind"] for u in catalogue["units"]], UnitKind.values, "unit kind")
    expect([catalogue["street_unit"]["kind"]], UnitKind.values, "unit kind")
    expect([u["role"] for u in logins["users"]], Role.values, "role")
    missing_roles = set(Role.values) - {u["role"] for u in logins["users"]}
    if missing_roles:
        problems.append(f"no demo login for roles {sorted(missing_roles)}")
    unit_codes = {u["code"] for u in catalogue["units"]}
    for user in logins["users"]:
        scope = user["scope"]
        if scope.startswith("unit:"):
            expect([scope[5:]], unit_codes, "unit code")
        else:
            expect([scope], {"everything", "district", "street", "community", "grid"}, "scope")
    for category in catalogue["facility_categories"]:
        if not (len(category["code"]) == 5 and category["code"].isdigit()):
            problems.append(f"facility category code {category['code']!r} is not 5 digits")
    if problems:
        raise DemoDataError("Demo data: " + "; ".join(problems) + ".")
