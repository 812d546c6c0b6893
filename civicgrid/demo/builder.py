"""Building one street of the demo: its communities and grids, then per community the
buildings, households, residents, places, facilities and organisations.

Areas are inserted in bulk but kept as consistent as `areas.services.create_area` keeps
them; registry rows are cleaned by the registry services' rules (`rows`) and inserted in
bulk, one community at a time, so memory stays flat at any scale.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from civicgrid.areas import services as area_services
from civicgrid.areas.choices import Level
from civicgrid.areas.geometry import GeometryError, to_geojson
from civicgrid.areas.importers import fill_paths
from civicgrid.areas.models import Area, AreaParentLink
from civicgrid.core import clock
from civicgrid.demo import catalogue, plan, rows
from civicgrid.demo.geometry import sample_points
from civicgrid.demo.housing import BuildingPlan, Housing
from civicgrid.demo.names import PersonNames, PlaceNames, strip_suffix
from civicgrid.demo.people import IdNumbers, Person, Population
from civicgrid.demo.seeding import Weighted, np_rng, rng
from civicgrid.registry.choices import HouseholdType, OrganizationKind
from civicgrid.registry.idnumbers import CREDIT_CHARS, make_credit_code
from civicgrid.registry.models import (
    Building,
    Facility,
    Household,
    Organization,
    Place,
    Resident,
)

BATCH = 2000


class BuildError(ValueError):
    """A generated boundary the area rules refuse (a bug in the plan, never expected)."""


@dataclass
class _Batch:
    """The rows of one community, saved together."""

    buildings: list[Building] = field(default_factory=list)
    households: list[tuple[Household, int | None, list[Person]]] = field(default_factory=list)
    loners: list[Resident] = field(default_factory=list)
    places: list[Place] = field(default_factory=list)
    facilities: list[Facility] = field(default_factory=list)
    organisations: list[Organization] = field(default_factory=list)


class StreetBuilder:
    """Builds streets of one district: their communities and grids, and everything in them.
    `new_grids` collects the grids built, for staffing."""

    def __init__(self, district: Area, *, scale: float, seed: int, log: Callable[[str], None]):
        self.scale = scale
        self.seed = seed
        self.district = district
        self.log = log
        self.today = clock.today()
        self.profile = catalogue.load("profile")
        self.households_per_grid = catalogue.district_profile(district.code[:6])[
            "households_per_grid"
        ]
        self.names = PersonNames()
        self.places = PlaceNames()
        self.housing = Housing(self.places)
        self.region = district.code[:6]
        taken = set(
            Resident.objects.filter(id_number__startswith=self.region).values_list(
                "id_number", flat=True
            )
        )
        ids = IdNumbers(self.region, taken, rng(self.seed, "id-numbers"))
        self.population = Population(self.names, ids, self.today)
        self.credit_codes = set(
            Organization.objects.filter(credit_code__isnull=False).values_list(
                "credit_code", flat=True
            )
        )
        self.used_addresses = set(
            Building.objects.filter(grid__path__startswith=district.path).values_list(
                "address", flat=True
            )
        )
        data = catalogue.load("catalogue")
        self.facility_categories = Weighted([(c, c["weight"]) for c in data["facility_categories"]])
        self.credit_prefixes = data["credit_prefixes"]
        self.facility_next: dict[str, int] = {}
        organisations = self.profile["organisations"]
        self.ratings = Weighted(organisations["rating_weights"])
        parent = district.parent
        self.city = parent.name if parent is not None and parent.level == Level.CITY else ""
        self.new_grids: list[Area] = []

    # --- areas --------------------------------------------------------------------------

    def build_street(self, street: Area, street_plan: plan.StreetPlan) -> None:
        started = time.monotonic()
        plan.shape_street(street_plan, shape(street.geometry), self.seed)
        communities = self._create_areas(
            Level.COMMUNITY,
            [(street, c.code, c.name, c.polygon) for c in street_plan.communities],
        )
        grids = self._create_areas(
            Level.GRID,
            [
                (community, g.code, g.name, g.polygon)
                for community, c in zip(communities, street_plan.communities, strict=True)
                for g in c.grids
            ],
        )
        grids_of: dict[int, list[Area]] = defaultdict(list)
        for grid in grids:
            grids_of[grid.parent_id].append(grid)
        r = rng(self.seed, "street", street.code)
        roads = self.places.roads_for_street(r, self.profile["buildings"]["roads_per_street"])
        prefix = f"{self.city}{self.district.name}{street.name}"
        used_estates: set[str] = set()
        counts: Counter = Counter()
        for community, community_plan in zip(communities, street_plan.communities, strict=True):
            batch = _Batch()
            self._fill_community(
                batch,
                community,
                community_plan,
                grids_of[community.pk],
                prefix,
                roads,
                used_estates,
            )
            counts.update(self._save(batch))
        batch = _Batch()
        self._coverage_gaps(batch, r, communities, grids, prefix, roads)
        counts.update(self._save(batch))
        self.new_grids.extend(grids)
        self.log(
            f"{street.name}: {len(communities)} communities, {len(grids)} grids, "
            f"{counts['buildings']:,} buildings, {counts['households']:,} households, "
            f"{counts['residents']:,} residents ({time.monotonic() - started:.1f} s)"
        )

    def _create_areas(self, level: str, specs: list[tuple[Area, str, str, BaseGeometry]]):
        """Areas in bulk, kept as consistent as `create_area` keeps them: validated boundary
        with its cached bbox and size, path and depth, an open parent link. Containment holds
        by construction (the plan's partitions tile their parents)."""
        areas = []
        for parent, code, name, polygon in specs:
            area = Area(
                code=code, name=name, level=level, parent=parent, path="", valid_from=self.today
            )
            try:
                area_services.apply_geometry(area, to_geojson(polygon))
            except GeometryError as exc:
                raise BuildError(f"Generated boundary of {code} {name} is invalid: {exc}") from None
            areas.append(area)
        Area.objects.bulk_create(areas, batch_size=500)
        fill_paths(level)
        AreaParentLink.objects.bulk_create(
            [AreaParentLink(area=a, parent=a.parent, valid_from=self.today) for a in areas],
            batch_size=500,
        )
        return areas

    # --- people, places and things ------------------------------------------------------

    def _fill_community(
        self,
        batch: _Batch,
        community: Area,
        community_plan: plan.CommunityPlan,
        grids: list[Area],
        prefix: str,
        roads: list[str],
        used_estates: set[str],
    ) -> None:
        context = {
            "district": self.district.name,
            "community": community.name,
            "root": strip_suffix(community.name, (self.places.community_suffix,)),
        }
        spread = self.profile["households"]["grid_spread"]
        target = self.households_per_grid * self.scale
        for grid, grid_plan in zip(grids, community_plan.grids, strict=True):
            r = rng(self.seed, "grid", grid.code)
            nr = np_rng(self.seed, "grid", grid.code)
            count = round(target * r.uniform(*spread))
            plans = self.housing.plan_grid(
                r,
                nr,
                grid_plan.polygon,
                count,
                prefix=prefix,
                roads=roads,
                used_addresses=self.used_addresses,
                used_estates=used_estates,
            )
            self._households(batch, r, grid, plans, count)
            self._places(batch, r, nr, grid, grid_plan.polygon, context, prefix, roads)
            self._facilities(batch, r, nr, grid, grid_plan.polygon, roads)
            self._grid_organisations(batch, r, grid, plans)
        r = rng(self.seed, "community", community.code)
        for kind, count in self.profile["places_per_community"].items():
            nr = np_rng(self.seed, "community", community.code, kind)
            for _ in range(count):
                i = r.randrange(len(grids))
                polygon = community_plan.grids[i].polygon
                self._place(batch, r, nr, grids[i], polygon, kind, context, prefix, roads)
        self._community_organisations(batch, r, community, context)

    def _households(
        self, batch: _Batch, r, grid: Area, plans: list[BuildingPlan], count: int
    ) -> None:
        first = len(batch.buildings)
        for p in plans:
            batch.buildings.append(
                rows.building(
                    grid_id=grid.pk,
                    estate=p.estate,
                    number=p.number,
                    address=p.address,
                    floors=p.floors,
                    lat=p.lat,
                    lon=p.lon,
                )
            )
        dwellings = [
            (first + i, entrance, room)
            for i, p in enumerate(plans)
            for entrance, room in p.dwellings
        ]
        for index, entrance, room in r.sample(dwellings, count) if count > 0 else ():
            use = self.population.household_use(r)
            members = self.population.household(r, use)
            name, phone = self._contact(r, members)
            household = rows.household(
                area_id=grid.pk,
                building_id=None,  # set once the building is saved
                # How the household services address a flat: building, entrance, room.
                address=f"{batch.buildings[index].address}{entrance}{room}",
                entrance=entrance,
                room=room,
                household_type=use,
                contact_name=name,
                contact_phone=phone,
            )
            batch.households.append((household, index, members))

    def _contact(self, r, members: list[Person]) -> tuple[str, str]:
        """The head and a phone of the household; the owner when nobody lives there."""
        if not members:
            return self.population.contact(r)
        phone = next((m.phone for m in members if m.phone), "")
        return members[0].name, phone

    def _places(self, batch, r, nr, grid, polygon, context, prefix, roads) -> None:
        for kind, rate in self.profile["places_per_grid"].items():
            for _ in range(_draw(r, rate)):
                self._place(batch, r, nr, grid, polygon, kind, context, prefix, roads)

    def _place(self, batch, r, nr, grid, polygon, kind, context, prefix, roads) -> None:
        road = r.choice(roads)
        lon, lat = sample_points(polygon, 1, nr)[0]
        batch.places.append(
            rows.place(
                grid_id=grid.pk,
                name=self.places.place_name(r, kind, road=road, **context),
                kind=kind,
                address=self.housing.unplaced_address(r, [road], prefix, self.used_addresses),
                lat=lat,
                lon=lon,
            )
        )

    def _facilities(self, batch, r, nr, grid, polygon, roads) -> None:
        spread = self.profile["households"]["grid_spread"]
        count = max(
            self.profile["facilities_min_per_grid"],
            round(self.profile["facilities_per_grid"] * self.scale * r.uniform(*spread)),
        )
        points = sample_points(polygon, count, nr)
        for lon, lat in points:
            category = self.facility_categories.pick(r)
            batch.facilities.append(
                rows.facility(
                    grid_id=grid.pk,
                    code=self._facility_code(category["code"]),
                    category_code=category["code"],
                    name=f"{r.choice(roads)}{category['name']}",
                    lat=lat,
                    lon=lon,
                )
            )

    def _facility_code(self, category: str) -> str:
        """division (6) + category (5) + sequence (6), continuing after existing codes."""
        prefix = self.region + category
        if category not in self.facility_next:
            last = (
                Facility.objects.filter(code__startswith=prefix, code__regex=r"^\d{17}$")
                .order_by("-code")
                .values_list("code", flat=True)
                .first()
            )
            self.facility_next[category] = int(last[11:]) + 1 if last else 1
        sequence = self.facility_next[category]
        self.facility_next[category] += 1
        return f"{prefix}{sequence:06d}"

    def _grid_organisations(self, batch, r, grid: Area, plans: list[BuildingPlan]) -> None:
        profile = self.profile["organisations"]
        for _ in range(_draw(r, profile["businesses_per_grid"] * self.scale)):
            name, individual = self.places.business_name(r)
            kind = "business_individual" if individual else "business"
            self._organisation(batch, r, grid, name, OrganizationKind.BUSINESS, kind)
        for estate in dict.fromkeys(p.estate for p in plans):
            if r.random() < profile["party_branch_share_of_estates"]:
                name = self.places.party_organisation("estate", estate=estate)
                self._organisation(batch, r, grid, name, OrganizationKind.PARTY_BRANCH, None)

    def _community_organisations(self, batch, r, community: Area, context: dict) -> None:
        profile = self.profile["organisations"]
        name = self.places.party_organisation("community", **context)
        self._organisation(batch, r, community, name, OrganizationKind.PARTY_BRANCH, None)
        names: set[str] = set()
        for _ in range(r.randint(*profile["property_per_community"])):
            name = self.places.property_company(r)
            if name not in names:
                names.add(name)
                self._organisation(batch, r, community, name, OrganizationKind.PROPERTY, "property")
        for _ in range(r.randint(*profile["social_per_community"])):
            name = self.places.social_organisation(r, **context)
            if name not in names:
                names.add(name)
                rating = self.ratings.pick(r) if r.random() < profile["rated_share"] else ""
                self._organisation(
                    batch, r, community, name, OrganizationKind.SOCIAL, "social", rating
                )

    def _organisation(self, batch, r, area, name, kind, credit_kind, rating="") -> None:
        contact = self.population.contact(r)
        batch.organisations.append(
            rows.organisation(
                area_id=area.pk,
                name=name,
                kind=kind,
                credit_code=self._credit_code(r, self.credit_prefixes[credit_kind])
                if credit_kind
                else None,
                rating=rating,
                contact_name=contact[0],
                contact_phone=contact[1],
            )
        )

    def _credit_code(self, r, prefix: str) -> str:
        """authority + type (2) + division (6) + organisation code (9) + check (GB 32100)."""
        while True:
            body = prefix + self.region + "".join(r.choices(CREDIT_CHARS, k=9))
            code = make_credit_code(body)
            if code not in self.credit_codes:
                self.credit_codes.add(code)
                return code

    def _coverage_gaps(self, batch: _Batch, r, communities, grids, prefix, roads) -> None:
        """A few households known only to their community and residents in no household, so
        the coverage report (格不漏户、户不漏人) has something to find."""
        gaps = self.profile["gaps"]
        for _ in range(gaps["unplaced_households_per_street"]):
            community = r.choice(communities)
            use = r.choice([HouseholdType.OWNER, HouseholdType.RENTED])
            members = self.population.household(r, use)
            name, phone = self._contact(r, members)
            household = rows.household(
                area_id=community.pk,
                building_id=None,
                address=self.housing.unplaced_address(r, roads, prefix, self.used_addresses),
                household_type=use,
                contact_name=name,
                contact_phone=phone,
            )
            batch.households.append((household, None, members))
        for _ in range(gaps["residents_without_household_per_street"]):
            grid = r.choice(grids)
            person = self.population.loner(r)
            batch.loners.append(
                rows.resident(person, area_id=grid.pk, household_id=None, today=self.today)
            )

    def _save(self, batch: _Batch) -> Counter:
        Building.objects.bulk_create(batch.buildings, batch_size=BATCH)
        for household, index, _ in batch.households:
            if index is not None:
                household.building_id = batch.buildings[index].pk
        Household.objects.bulk_create([h for h, _, _ in batch.households], batch_size=BATCH)
        residents = [
            rows.resident(
                person, area_id=household.area_id, household_id=household.pk, today=self.today
            )
            for household, _, members in batch.households
            for person in members
        ]
        Resident.objects.bulk_create(residents + batch.loners, batch_size=BATCH)
        Place.objects.bulk_create(batch.places, batch_size=BATCH)
        Facility.objects.bulk_create(batch.facilities, batch_size=BATCH)
        Organization.objects.bulk_create(batch.organisations, batch_size=BATCH)
        return Counter(
            buildings=len(batch.buildings),
            households=len(batch.households),
            residents=len(residents) + len(batch.loners),
        )


def _draw(r, expected: float) -> int:
    """A whole count with the given expectation: its integer part, plus one by chance."""
    whole = int(expected)
    return whole + (1 if r.random() < expected - whole else 0)
