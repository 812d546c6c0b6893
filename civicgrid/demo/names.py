"""Names for generated people, communities, estates and organisations, from data/names.json
and data/places.json."""

from __future__ import annotations

import random
from collections.abc import Iterable

from civicgrid.demo import catalogue
from civicgrid.demo.seeding import Weighted


class PersonNames:
    """Chinese personal names in the fashion of the birth year, phones and ethnicities."""

    def __init__(self):
        data = catalogue.load("names")
        self.surnames = Weighted(data["surnames"])
        self.given = {
            gender: sorted(
                (
                    (era["born_before"], era["single_share"], era["first"], era["second"])
                    for era in eras
                ),
                key=lambda era: era[0],
            )
            for gender, eras in data["given"].items()
        }
        self.ethnicities = Weighted(data["ethnicities"])
        self.mobile_prefixes = data["mobile_prefixes"]

    def surname(self, r: random.Random) -> str:
        return self.surnames.pick(r)

    def given_name(self, r: random.Random, gender: str, birth_year: int) -> str:
        eras = self.given[gender]
        _, single_share, first, second = next(
            (era for era in eras if birth_year < era[0]), eras[-1]
        )
        if r.random() < single_share:
            return r.choice(second)
        return r.choice(first) + r.choice(second)

    def full_name(self, r: random.Random, gender: str, birth_year: int, surname: str = "") -> str:
        return (surname or self.surname(r)) + self.given_name(r, gender, birth_year)

    def mobile(self, r: random.Random) -> str:
        return r.choice(self.mobile_prefixes) + f"{r.randrange(10**8):08d}"

    def ethnicity(self, r: random.Random) -> str:
        return self.ethnicities.pick(r)


def strip_suffix(name: str, suffixes: Iterable[str]) -> str:
    for suffix in suffixes:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


class PlaceNames:
    """Community, estate, organisation and place names; unique where the tree needs it."""

    def __init__(self):
        data = catalogue.load("places")
        self.data = data
        self.roads: list[str] = data["roads"]
        self.roots: list[str] = data["roots"]
        self.community_suffix: str = data["community"]["suffix"]

    def community_names(
        self, r: random.Random, street_names: list[str], counts: list[int]
    ) -> list[list[str]]:
        """Names for every community of the district, unique across it. A street's first
        community is named after the street (西安路街道 -> 西安路社区), as is common; the others
        after a place or a road, one name per stem (no 金仙桥社区 beside 金仙桥路社区)."""
        rules = self.data["community"]
        suffix = self.community_suffix

        def stem(name: str) -> str:
            return strip_suffix(strip_suffix(name, (suffix,)), rules["road_suffixes"])

        own = [strip_suffix(n, rules["street_suffixes"]) + suffix for n in street_names]
        used = {stem(name) for name in own}
        roads = [
            road
            for road in self.roads
            if not any(part in road for part in rules["skip_roads_containing"])
        ]
        plain = [root + suffix for root in self.roots] + [road + suffix for road in roads]
        variants = [
            root + variant + suffix
            for root in self.roots
            for variant in rules["variants"]
            if variant
        ]
        r.shuffle(plain)
        r.shuffle(variants)
        pool = iter(plain + variants)
        result = []
        for own_name, count in zip(own, counts, strict=True):
            names = [own_name][:count]
            while len(names) < count:
                try:
                    name = next(pool)
                except StopIteration:
                    raise catalogue.DemoDataError(
                        "places.json has too few roots and roads to name every community."
                    ) from None
                if stem(name) not in used:
                    names.append(name)
                    used.add(stem(name))
            result.append(names)
        return result

    def roads_for_street(self, r: random.Random, count: int) -> list[str]:
        return r.sample(self.roads, min(count, len(self.roads)))

    def estate_name(self, r: random.Random, *, work_unit_share: float, used: set[str]) -> str:
        estate = self.data["estate"]
        for _ in range(50):
            if r.random() < work_unit_share:
                name = r.choice(estate["work_units"]) + r.choice(estate["work_unit_suffixes"])
            else:
                name = r.choice(estate["prefixes"] + self.roots) + r.choice(estate["suffixes"])
            if name not in used:
                used.add(name)
                return name
        name = f"{name}{len(used) + 1}期"
        used.add(name)
        return name

    def business_name(self, r: random.Random) -> tuple[str, bool]:
        """(name, is an individual business)."""
        b = self.data["business"]
        form = r.choice(b["forms"])
        words = "".join(r.sample(b["words"], 2))
        return f"{r.choice(b['cities'])}{words}{r.choice(b['trades'])}{form}", form == "个体工商户"

    def property_company(self, r: random.Random) -> str:
        p = self.data["property"]
        return r.choice(p["templates"]).format(word=r.choice(p["words"]))

    def social_organisation(self, r: random.Random, **context: str) -> str:
        return r.choice(self.data["social"]["templates"]).format(**context)

    def party_organisation(self, level: str, **context: str) -> str:
        return self.data["party"][level].format(**context)

    def place_name(self, r: random.Random, kind: str, **context: str) -> str:
        return r.choice(self.data["place_templates"][kind]).format(**context)
