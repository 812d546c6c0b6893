"""Generated households and residents (pure: no database), drawn from data/profile.json.

A household is drawn as a composition (a couple with a child, an elderly person living
alone, three generations ...) whose members' ages follow the head's; the ID number encodes
the birth date and gender, so both are drawn first and the number is issued for them.
"""

from __future__ import annotations

import bisect
import datetime as dt
import random
from dataclasses import dataclass

from civicgrid.demo import catalogue
from civicgrid.demo.names import PersonNames
from civicgrid.demo.seeding import Weighted
from civicgrid.registry.choices import (
    Gender,
    HouseholdType,
    PopulationType,
    Relation,
)
from civicgrid.registry.idnumbers import make_id_number

ID_SEQUENCES = 500  # make_id_number's sequence range per birth date and gender


@dataclass(slots=True)
class Person:
    name: str
    gender: str
    birth_date: dt.date
    id_number: str
    ethnicity: str
    phone: str
    relation: str
    population_type: str
    tags: str
    arrived_on: dt.date | None


class IdNumbers:
    """Issues valid ID numbers (GB 11643) for one region, never the same twice.

    Each (birth date, gender) has 500 sequence numbers; when they run out the birth date
    moves back a day, so the number always matches the person's stored birth date.
    """

    def __init__(self, region: str, taken: set[str], r: random.Random):
        self.region = region
        self.taken = taken
        self.r = r
        self.state: dict[tuple[dt.date, str], list[int]] = {}

    def issue(self, birth: dt.date, gender: str) -> tuple[str, dt.date]:
        while True:
            key = (birth, gender)
            state = self.state.get(key)
            if state is None:  # [next sequence, how many tried]
                state = self.state[key] = [self.r.randrange(ID_SEQUENCES), 0]
            while state[1] < ID_SEQUENCES:
                number = make_id_number(self.region, birth, state[0], gender)
                state[0] = (state[0] + 1) % ID_SEQUENCES
                state[1] += 1
                if number not in self.taken:
                    self.taken.add(number)
                    return number, birth
            birth -= dt.timedelta(days=1)


class _Steps:
    """A rate that changes with age: [[from_age, rate], ...]."""

    def __init__(self, steps: list[list[float]]):
        self.ages = [s[0] for s in steps]
        self.rates = [s[1] for s in steps]

    def at(self, age: int) -> float:
        i = bisect.bisect_right(self.ages, age) - 1
        return self.rates[i] if i >= 0 else 0.0


class Population:
    """Draws households (their use and members) and single residents."""

    def __init__(self, names: PersonNames, ids: IdNumbers, today: dt.date):
        profile = catalogue.load("profile")
        self.names = names
        self.ids = ids
        self.today = today
        h = profile["households"]
        self.uses = Weighted(h["use_weights"])
        self.floating_share = h["floating_share"]
        self.arrived_days = int(h["arrived_within_years"] * 365)
        self.head_male_share = h["head_male_share"]
        self.business_residents = h["business_residents"]
        self.max_age = h["max_age"]
        self.mixed_ethnicity_share = h["mixed_ethnicity_share"]
        compositions = profile["compositions"]
        self.by_name = {c["name"]: c for c in compositions}
        self.owner_mix = Weighted([(c["name"], c["weight"]) for c in compositions])
        self.rented_mix = Weighted([(c["name"], c["rented_weight"]) for c in compositions])
        self.member_ages = profile["member_ages"]
        self.tag_rules = [
            (rule["tag"], rule.get("gender"), _Steps(rule["rates"])) for rule in profile["tags"]
        ]
        self._rates: dict[tuple[str, int], list[tuple[str, float]]] = {}
        self.phone_share = _Steps(profile["phone_share"])

    def household_use(self, r: random.Random) -> str:
        return self.uses.pick(r)

    def household(self, r: random.Random, use: str) -> list[Person]:
        """The residents of one household of the given use, head first (none when empty)."""
        if use == HouseholdType.EMPTY:
            return []
        if use == HouseholdType.BUSINESS:
            if r.randint(*self.business_residents) == 0:
                return []
            composition = self.by_name[self.rented_mix.pick(r)]
            composition = {**composition, "members": []}
        else:
            mix = self.rented_mix if use == HouseholdType.RENTED else self.owner_mix
            composition = self.by_name[mix.pick(r)]
        floating = r.random() < self.floating_share.get(use, 0.0)
        return self._members(r, composition, floating)

    def loner(self, r: random.Random) -> Person:
        """A resident known to the grid but in no household (a lodger, a newcomer)."""
        composition = self.by_name[self.rented_mix.pick(r)]
        person = self._members(r, {**composition, "members": []}, floating=True)[0]
        person.relation = Relation.OTHER
        return person

    def contact(self, r: random.Random) -> tuple[str, str]:
        """Name and phone of an owner who does not live in the dwelling."""
        gender = Gender.MALE if r.random() < self.head_male_share else Gender.FEMALE
        birth_year = self.today.year - r.randint(30, 70)
        return self.names.full_name(r, gender, birth_year), self.names.mobile(r)

    def _members(self, r: random.Random, composition: dict, floating: bool) -> list[Person]:
        head_age = r.randint(*composition["head_age"])
        male_share = composition.get("head_male_share", self.head_male_share)
        head_gender = Gender.MALE if r.random() < male_share else Gender.FEMALE
        head_surname = self.names.surname(r)
        # (relation, age, gender, surname or "" for a fresh one)
        drafts: list[tuple[str, int, str, str]] = [
            (Relation.HEAD, head_age, head_gender, head_surname)
        ]
        spouse_surname = ""
        parent_gender = ""
        for relation in composition["members"]:
            age = self._age(r, relation, head_age)
            if relation == Relation.SPOUSE:
                gender = _opposite(head_gender)
                spouse_surname = self.names.surname(r)
                surname = spouse_surname
            elif relation == Relation.PARENT:
                gender = _opposite(parent_gender) if parent_gender else _any(r)
                parent_gender = gender
                surname = head_surname if gender == Gender.MALE else ""
            else:
                gender = _any(r)
                if relation in (Relation.CHILD, Relation.GRANDCHILD):
                    # Children take the father's surname.
                    father_is_head = head_gender == Gender.MALE or not spouse_surname
                    surname = head_surname if father_is_head else spouse_surname
                elif relation == Relation.SIBLING:
                    surname = head_surname
                else:
                    surname = ""
            drafts.append((relation, age, gender, surname))
        ethnicity = self.names.ethnicity(r)
        people = [
            self._person(r, relation, age, gender, surname, ethnicity, floating)
            for relation, age, gender, surname in drafts
        ]
        for tag in composition.get("tags", []):
            for person, (_, age, _, _) in zip(people, drafts, strict=True):
                if age >= 60:
                    person.tags = _add_tag(person.tags, tag)
        return people

    def _age(self, r: random.Random, relation: str, head_age: int) -> int:
        rule = self.member_ages[relation]
        if "absolute" in rule:
            age = r.randint(*rule["absolute"])
        else:
            age = head_age + r.randint(*rule["relative"])
        return max(rule.get("min", 0), min(age, self.max_age))

    def _tag_rates(self, gender: str, age: int) -> list[tuple[str, float]]:
        """The tags a person of this gender and age may carry, with their chances."""
        key = (gender, age)
        rates = self._rates.get(key)
        if rates is None:
            rates = self._rates[key] = [
                (tag, steps.at(age))
                for tag, only_gender, steps in self.tag_rules
                if (only_gender is None or only_gender == gender) and steps.at(age) > 0
            ]
        return rates

    def _person(
        self,
        r: random.Random,
        relation: str,
        age: int,
        gender: str,
        surname: str,
        ethnicity: str,
        floating: bool,
    ) -> Person:
        birth = self.today - dt.timedelta(days=int(age * 365.2425) + r.randrange(365))
        id_number, birth = self.ids.issue(birth, gender)
        tags = ""
        for tag, rate in self._tag_rates(gender, age):
            if r.random() < rate:
                tags = _add_tag(tags, tag)
        arrived_on = None
        if floating:
            arrived_on = max(birth, self.today - dt.timedelta(days=r.randrange(self.arrived_days)))
        return Person(
            name=self.names.full_name(r, gender, birth.year, surname),
            gender=gender,
            birth_date=birth,
            id_number=id_number,
            ethnicity=(
                self.names.ethnicity(r) if r.random() < self.mixed_ethnicity_share else ethnicity
            ),
            phone=self.names.mobile(r) if r.random() < self.phone_share.at(age) else "",
            relation=relation,
            population_type=PopulationType.FLOATING if floating else PopulationType.REGISTERED,
            tags=tags,
            arrived_on=arrived_on,
        )


def _opposite(gender: str) -> str:
    return Gender.FEMALE if gender == Gender.MALE else Gender.MALE


def _any(r: random.Random) -> str:
    return Gender.MALE if r.random() < 0.51 else Gender.FEMALE


def _add_tag(tags: str, tag: str) -> str:
    """Tags are stored comma-wrapped (",disabled,low_income,"), each once."""
    if f",{tag}," in tags:
        return tags
    return f"{tags or ','}{tag},"
