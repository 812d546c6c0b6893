"""Generated households and residents (no database): valid ID numbers, a plausible population."""

from __future__ import annotations

import datetime as dt

import pytest

from civicgrid.demo import catalogue
from civicgrid.demo.names import PersonNames
from civicgrid.demo.people import ID_SEQUENCES, IdNumbers, Population
from civicgrid.demo.seeding import rng
from civicgrid.registry.choices import Gender, Relation, ResidentTag
from civicgrid.registry.idnumbers import parse_id_number

TODAY = dt.date(2026, 6, 1)


@pytest.fixture(scope="module")
def sample():
    ids = IdNumbers("510106", set(), rng(1, "ids"))
    population = Population(PersonNames(), ids, TODAY)
    r = rng(1, "households")
    households = []
    for _ in range(4000):
        use = population.household_use(r)
        households.append((use, population.household(r, use)))
    return households


def _age(person) -> int:
    return (TODAY - person.birth_date).days // 365.2425


def test_id_numbers_are_valid_unique_and_match_the_person(sample):
    people = [p for _, members in sample for p in members]
    assert len({p.id_number for p in people}) == len(people)
    for person in people:
        number, birth, gender = parse_id_number(person.id_number, TODAY)
        assert number.startswith("510106")
        assert (birth, gender) == (person.birth_date, person.gender)


def test_id_numbers_move_to_the_previous_day_when_a_day_is_full():
    ids = IdNumbers("510106", set(), rng(1, "full"))
    day = dt.date(1980, 5, 17)
    issued = [ids.issue(day, Gender.FEMALE) for _ in range(ID_SEQUENCES + 1)]
    assert {birth for _, birth in issued[:ID_SEQUENCES]} == {day}
    assert issued[-1][1] == day - dt.timedelta(days=1)
    assert len({number for number, _ in issued}) == ID_SEQUENCES + 1


def test_ids_already_taken_are_never_issued_again():
    first = IdNumbers("510106", set(), rng(3, "a")).issue(dt.date(1990, 1, 1), Gender.MALE)[0]
    again = IdNumbers("510106", {first}, rng(3, "a")).issue(dt.date(1990, 1, 1), Gender.MALE)[0]
    assert again != first


def test_population_looks_like_a_chengdu_district(sample):
    people = [p for _, members in sample for p in members]
    per_household = len(people) / len(sample)
    assert 2.0 <= per_household <= 3.0
    elderly = sum(_age(p) >= 60 for p in people) / len(people)
    assert 0.16 <= elderly <= 0.24
    males = sum(p.gender == Gender.MALE for p in people) / len(people)
    assert 0.45 <= males <= 0.55


def test_households_are_families(sample):
    for use, members in sample:
        if use == "empty":
            assert members == []
            continue
        if not members:
            continue
        assert members[0].relation == Relation.HEAD
        assert sum(m.relation == Relation.HEAD for m in members) == 1
        head = members[0]
        for spouse in (m for m in members if m.relation == Relation.SPOUSE):
            assert spouse.gender != head.gender
        for child in (m for m in members if m.relation == Relation.CHILD):
            assert _age(child) < _age(head)


def test_tags_are_known_codes_and_rare(sample):
    people = [p for _, members in sample for p in members]
    counts: dict[str, int] = {}
    for person in people:
        if person.tags:
            assert person.tags.startswith(",") and person.tags.endswith(",")
        for tag in filter(None, person.tags.split(",")):
            assert tag in ResidentTag.values
            counts[tag] = counts.get(tag, 0) + 1
    assert counts[ResidentTag.DISABLED] / len(people) < 0.05
    assert counts.get(ResidentTag.DRUG_USE, 0) / len(people) < 0.005
    living_alone = [p for p in people if ",living_alone," in p.tags]
    assert living_alone and all(_age(p) >= 60 for p in living_alone)


def test_data_files_pass_their_checks():
    catalogue.check()


def test_data_naming_an_unknown_tag_is_refused(monkeypatch):
    profile = catalogue.load("profile")
    broken = {**profile, "tags": [*profile["tags"], {"tag": "vip", "rates": [[0, 0.1]]}]}
    original = catalogue.load

    def load(name):
        return broken if name == "profile" else original(name)

    monkeypatch.setattr(catalogue, "load", load)
    with pytest.raises(catalogue.DemoDataError, match="unknown resident tag 'vip'"):
        catalogue.check()
