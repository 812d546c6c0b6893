"""Generated estates and buildings of one grid, with their dwellings (pure: no database).

A grid gets estates of one kind each (an old work-unit compound, mid-rise or high-rise
blocks), buildings are added until their dwellings, at the profile's occupancy, hold the
grid's households, and each household then takes a distinct dwelling at random.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from civicgrid.demo import catalogue
from civicgrid.demo.geometry import sample_points
from civicgrid.demo.names import PlaceNames
from civicgrid.demo.seeding import Weighted

# Buildings of an estate stand within about this many degrees (~50 m) of its centre.
ESTATE_SPREAD_DEG = 0.0005


@dataclass(slots=True)
class BuildingPlan:
    estate: str
    number: str
    address: str
    floors: int
    lon: float
    lat: float
    dwellings: list[tuple[str, str]] = field(default_factory=list)  # (entrance, room)


class Housing:
    def __init__(self, place_names: PlaceNames):
        profile = catalogue.load("profile")["buildings"]
        self.places = place_names
        self.occupancy = profile["occupancy"]
        self.estates_per_grid = profile["estates_per_grid"]
        self.road_numbers = profile["road_numbers"]
        self.kinds = Weighted([(kind, kind["weight"]) for kind in profile["kinds"]])
        self.unplaced_template = profile["unplaced_address"]
        self.number_template = profile["building_number"]
        self.entrance_template = profile["entrance"]

    def plan_grid(
        self,
        r: random.Random,
        nr: np.random.Generator,
        polygon: BaseGeometry,
        households: int,
        *,
        prefix: str,
        roads: list[str],
        used_addresses: set[str],
        used_estates: set[str],
    ) -> list[BuildingPlan]:
        """Buildings enough for `households` registered households inside `polygon`."""
        if households <= 0:
            return []
        estates = r.randint(*self.estates_per_grid)
        centres = sample_points(polygon, estates, nr)
        buildings: list[BuildingPlan] = []
        capacity = 0
        estate_index = 0
        while capacity * self.occupancy < households:
            kind = self.kinds.pick(r)
            estate = self.places.estate_name(
                r, work_unit_share=kind["work_unit_share"], used=used_estates
            )
            count = r.randint(*kind["buildings_per_estate"])
            while True:  # a number whose building addresses are all free
                road, number = self.address_number(r, roads, prefix, used_addresses)
                addresses = [
                    prefix
                    + kind["address"].format(road=road, number=number, estate=estate, building=n)
                    for n in range(1, count + 1)
                ]
                if used_addresses.isdisjoint(addresses):
                    break
            centre = centres[estate_index % len(centres)]
            estate_index += 1
            for n, address in enumerate(addresses, start=1):
                used_addresses.add(address)
                lon, lat = self._near(nr, polygon, centre)
                plan = BuildingPlan(
                    estate,
                    self.number_template.format(building=n),
                    address,
                    r.randint(*kind["floors"]),
                    lon,
                    lat,
                )
                entrances = r.randint(*kind["entrances"])
                per_floor = r.randint(*kind["rooms_per_floor"])
                plan.dwellings = [
                    (self.entrance_template.format(entrance=e), f"{floor}{k:02d}")
                    for e in range(1, entrances + 1)
                    for floor in range(1, plan.floors + 1)
                    for k in range(1, per_floor + 1)
                ]
                buildings.append(plan)
                capacity += len(plan.dwellings)
                if capacity * self.occupancy >= households:
                    break
        return buildings

    def address_number(
        self, r: random.Random, roads: list[str], prefix: str, used: set[str]
    ) -> tuple[str, int]:
        """A road and house number whose address (with `prefix`) is not taken yet."""
        low, high = self.road_numbers
        while True:
            road = r.choice(roads)
            number = r.randint(low, high)
            if prefix + self.unplaced_template.format(road=road, number=number) not in used:
                used.add(prefix + self.unplaced_template.format(road=road, number=number))
                return road, number
            high += 1  # a crowded road grows longer rather than loop forever

    def unplaced_address(
        self, r: random.Random, roads: list[str], prefix: str, used: set[str]
    ) -> str:
        road, number = self.address_number(r, roads, prefix, used)
        return prefix + self.unplaced_template.format(road=road, number=number)

    @staticmethod
    def _near(
        nr: np.random.Generator, polygon: BaseGeometry, centre: tuple[float, float]
    ) -> tuple[float, float]:
        for _ in range(8):
            lon, lat = nr.normal(centre, ESTATE_SPREAD_DEG)
            if shapely.contains_xy(polygon, lon, lat):
                return float(lon), float(lat)
        return sample_points(polygon, 1, nr)[0]
