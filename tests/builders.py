"""Plain builder functions for test data. Each returns saved objects through the services."""

from __future__ import annotations

import datetime as dt
import itertools

from civicgrid.accounts.choices import Role
from civicgrid.accounts.models import RoleAssignment, User
from civicgrid.areas import services as area_services
from civicgrid.areas.choices import Level
from civicgrid.areas.models import Area
from civicgrid.registry.idnumbers import make_id_number

_seq = itertools.count(1)

# A small town laid out on a lattice near Chengdu (lon 104.00.., lat 30.60..).
ORIGIN_LON, ORIGIN_LAT = 104.0, 30.6
CELL = 0.01  # degrees per grid cell (about 1 km)


def square(x0: float, y0: float, w: float, h: float) -> dict:
    return {
        "type": "Polygon",
        "coordinates": [[[x0, y0], [x0 + w, y0], [x0 + w, y0 + h], [x0, y0 + h], [x0, y0]]],
    }


def build_area(
    level: str,
    parent: Area | None = None,
    *,
    name: str | None = None,
    code: str | None = None,
    geometry: dict | None = None,
    **kwargs,
) -> Area:
    n = next(_seq)
    return area_services.create_area(
        actor=None,
        name=name or f"{level}-{n}",
        level=level,
        code=code or f"T{n:06d}",
        parent=parent,
        geometry=geometry,
        **kwargs,
    )


class Town:
    """district D (2x2 km per street column) -> streets A, B -> communities A1, A2, B1, B2 ->
    two grids each. Cell (col, row): street A = cols 0-1, B = cols 2-3; each community is one
    column, split into two grids (rows 0 and 1)."""

    def __init__(self):
        self.district = build_area(
            Level.DISTRICT,
            name="测试区",
            code="510199",
            geometry=square(ORIGIN_LON, ORIGIN_LAT, 4 * CELL, 2 * CELL),
        )
        self.streets = {}
        self.communities = {}
        self.grids = {}
        for s_index, s_name in enumerate(["A", "B"]):
            street = build_area(
                Level.STREET,
                self.district,
                name=f"{s_name}街道",
                code=f"510199{s_index + 1:03d}",
                geometry=square(ORIGIN_LON + 2 * s_index * CELL, ORIGIN_LAT, 2 * CELL, 2 * CELL),
            )
            self.streets[s_name] = street
            for c_index in range(2):
                col = 2 * s_index + c_index
                c_key = f"{s_name}{c_index + 1}"
                community = build_area(
                    Level.COMMUNITY,
                    street,
                    name=f"{c_key}社区",
                    code=f"{street.code}{c_index + 1:03d}",
                    geometry=square(ORIGIN_LON + col * CELL, ORIGIN_LAT, CELL, 2 * CELL),
                )
                self.communities[c_key] = community
                for row in range(2):
                    g_key = f"{c_key}-{row + 1}"
                    self.grids[g_key] = build_area(
                        Level.GRID,
                        community,
                        name=f"第{row + 1}网格",
                        code=f"{community.code}{row + 1:03d}",
                        geometry=square(
                            ORIGIN_LON + col * CELL, ORIGIN_LAT + row * CELL, CELL, CELL
                        ),
                    )

    @staticmethod
    def centre(grid: Area) -> tuple[float, float]:
        """(lat, lon) of the middle of a lattice grid."""
        ring = grid.geometry["coordinates"][0]
        return (ring[0][1] + ring[2][1]) / 2, (ring[0][0] + ring[2][0]) / 2


def build_user(
    username: str | None = None,
    *,
    role: str | None = None,
    area: Area | None = None,
    unit=None,
    password: str = "pass-civicgrid-1",
    **kwargs,
) -> User:
    username = username or f"user{next(_seq)}"
    user = User.objects.create_user(username=username, password=password, **kwargs)
    if role:
        RoleAssignment.objects.create(user=user, role=role, area=area, unit=unit)
    return user


def build_household(grid: Area, *, address: str | None = None, building=None, **kwargs):
    from civicgrid.registry.models import Household

    n = next(_seq)
    return Household.objects.create(
        area=grid, building=building, address=address or f"{grid.name}{n}号", **kwargs
    )


def build_resident(
    household=None,
    *,
    area: Area | None = None,
    name: str = "张三",
    birth_date: dt.date = dt.date(1980, 5, 17),
    gender: str = "male",
    phone: str = "13812345678",
    tags: str = "",
    **kwargs,
):
    from civicgrid.registry.models import Resident

    n = next(_seq)
    id_number = kwargs.pop("id_number", None) or make_id_number(
        "510106", birth_date, n % 500, gender
    )
    return Resident.objects.create(
        area=area or household.area,
        household=household,
        name=name,
        gender=gender,
        id_number=id_number,
        birth_date=birth_date,
        phone=phone,
        tags=tags,
        **kwargs,
    )


PERSONAS = {
    "district_officer": (Role.DISTRICT_OFFICER, "district"),
    "street_dispatcher": (Role.STREET_DISPATCHER, "street"),
    "community_worker": (Role.COMMUNITY_WORKER, "community"),
    "grid_worker": (Role.GRID_WORKER, "grid"),
    "auditor": (Role.AUDITOR, "district"),
    "hotline_operator": (Role.HOTLINE_OPERATOR, "district"),
    "resident": (Role.RESIDENT, "grid"),
}
