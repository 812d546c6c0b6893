"""Demo accounts: the handling units, one login per role (data/logins.json), and the grid
workers who staff the generated grids."""

from __future__ import annotations

import random
from dataclasses import dataclass

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.db.models import ProtectedError

from civicgrid.accounts.choices import Role
from civicgrid.accounts.models import RoleAssignment, Unit, User
from civicgrid.areas.choices import Level
from civicgrid.areas.models import Area
from civicgrid.demo import catalogue, rows
from civicgrid.demo.names import PersonNames
from civicgrid.demo.seeding import Weighted
from civicgrid.registry.choices import Gender, GridPost
from civicgrid.registry.models import GridAssignment


@dataclass(frozen=True)
class LoginTargets:
    """What the fixed logins are scoped to."""

    district: Area
    street: Area
    community: Area
    grid: Area
    units: dict[str, Unit]  # by the short code in catalogue.json

    def target(self, scope: str) -> Area | Unit | None:
        if scope == "everything":
            return None
        if scope.startswith("unit:"):
            return self.units[scope[5:]]
        return getattr(self, scope)


def password_hash() -> str:
    """The hash of the one demo password, computed once (it is deliberately slow)."""
    return make_password(catalogue.load("logins")["password"])


def ensure_units(district: Area, streets: list[Area]) -> dict[str, Unit]:
    """The district's departments and the street offices, each covering its area."""
    data = catalogue.load("catalogue")
    parent = district.parent
    city = parent.name if parent is not None and parent.level == Level.CITY else ""
    short = district.code[:6]
    units: dict[str, Unit] = {}
    for spec in data["units"]:
        name = spec["name"].format(district=district.name, city=city)
        units[spec["code"]] = _unit(f"{short}-{spec['code']}", name, spec["kind"], district)
    spec = data["street_unit"]
    for street in streets:
        name = spec["name"].format(street=street.name)
        _unit(f"{street.code[:9]}-{spec['code']}", name, spec["kind"], street)
    return units


def _unit(code: str, name: str, kind: str, area: Area) -> Unit:
    unit, created = Unit.objects.get_or_create(code=code, defaults={"name": name, "kind": kind})
    if not created and (unit.name, unit.kind, unit.is_active) != (name, kind, True):
        unit.name, unit.kind, unit.is_active = name, kind, True
        unit.save(update_fields=["name", "kind", "is_active"])
    unit.areas.add(area)
    return unit


def login_specs() -> list[dict]:
    return catalogue.load("logins")["users"]


def logins_current(targets: LoginTargets) -> bool:
    """True when every fixed login exists as its spec says: active, flags, name, and exactly
    its one role assignment (the grid worker also posted to its grid). The password is not
    checked: that would cost a deliberately slow hash per user."""
    specs = login_specs()
    users = {
        u.username: u
        for u in User.objects.filter(username__in=[s["username"] for s in specs]).prefetch_related(
            "role_assignments", "grid_assignments"
        )
    }
    for spec in specs:
        user = users.get(spec["username"])
        if user is None or not (user.is_active and user.has_usable_password()):
            return False
        flags = (user.is_superuser, user.is_staff, user.display_name)
        if flags != (spec.get("superuser", False), spec.get("staff", False), spec["display_name"]):
            return False
        target = targets.target(spec["scope"])
        wanted = (
            spec["role"],
            target.pk if isinstance(target, Area) else None,
            target.pk if isinstance(target, Unit) else None,
        )
        if [(a.role, a.area_id, a.unit_id) for a in user.role_assignments.all()] != [wanted]:
            return False
        if spec["role"] == Role.GRID_WORKER and [
            a.grid_id for a in user.grid_assignments.all()
        ] != [targets.grid.pk]:
            return False
    return True


def ensure_logins(password: str, targets: LoginTargets) -> dict[str, User]:
    """Create or reset the fixed logins: the demo password, flags, and exactly the one role
    assignment each spec names (any other assignment of these users is removed)."""
    users: dict[str, User] = {}
    for spec in login_specs():
        user = User.objects.filter(username=spec["username"]).first()
        if user is None:
            user = User(username=spec["username"])
        user.password = password
        user.display_name = spec["display_name"]
        user.is_superuser = spec.get("superuser", False)
        user.is_staff = spec.get("staff", False)
        user.is_active = True
        user.save()
        target = targets.target(spec["scope"])
        RoleAssignment.objects.filter(user=user).delete()
        RoleAssignment.objects.create(
            user=user,
            role=spec["role"],
            area=target if isinstance(target, Area) else None,
            unit=target if isinstance(target, Unit) else None,
        )
        users[spec["username"]] = user
    grid_login = next(
        (users[s["username"]] for s in login_specs() if s["role"] == Role.GRID_WORKER), None
    )
    if grid_login is not None:
        GridAssignment.objects.filter(worker=grid_login).exclude(grid=targets.grid).delete()
        GridAssignment.objects.get_or_create(
            grid=targets.grid, worker=grid_login, defaults={"post": GridPost.A}
        )
    return users


def staffing_prefix(district: Area) -> str:
    """Usernames of generated grid workers start with this (gw510106...)."""
    template = catalogue.load("profile")["staffing"]["username"]
    return template.split("{grid_code}")[0] + district.code[:6]


def plan_staff_counts(r: random.Random, grid_codes: list[str], fixed: str | None) -> list[int]:
    """Workers per grid: drawn from the profile's weights, then adjusted so that every count
    in 'required' occurs (the coverage report should have under- and over-staffed grids to
    show). The grid of the fixed grid-worker login (`fixed`) always has staff."""
    profile = catalogue.load("profile")["staffing"]
    weights = Weighted({int(k): v for k, v in profile["weights"].items()})
    counts = [weights.pick(r) for _ in grid_codes]
    if fixed in grid_codes:
        i = grid_codes.index(fixed)
        counts[i] = max(counts[i], 1)
    free = [i for i, code in enumerate(grid_codes) if code != fixed]
    r.shuffle(free)
    for required in profile["required"]:
        if required in counts:
            continue
        # Take a grid whose count occurs elsewhere too, so no other required count is lost.
        for i in free:
            if counts.count(counts[i]) > 1:
                counts[i] = required
                break
    return counts


def staff_grids(
    r: random.Random,
    grids: list[Area],
    *,
    names: PersonNames,
    password: str,
    fixed_grid_code: str | None = None,
) -> int:
    """Create the generated grid workers of `grids` (users, grid_worker roles, A/B posts);
    returns how many were posted. On the grid of the fixed grid-worker login
    (`fixed_grid_code`) that login holds the first A post (see `ensure_logins`), so one fewer
    worker is generated there."""
    profile = catalogue.load("profile")["staffing"]
    counts = plan_staff_counts(r, [g.code for g in grids], fixed_grid_code)
    wanted: list[tuple[Area, str, str]] = []  # (grid, username, post)
    for grid, count in zip(grids, counts, strict=True):
        first = 2 if grid.code == fixed_grid_code else 1
        for n in range(first, count + 1):
            post = GridPost.B if n > 1 and r.random() < profile["b_post_share"] else GridPost.A
            wanted.append((grid, profile["username"].format(grid_code=grid.code, n=n), post))
    usernames = [u for _, u, _ in wanted]
    existing = set(User.objects.filter(username__in=usernames).values_list("username", flat=True))
    # Workers kept (deactivated) by an earlier reset come back.
    User.objects.filter(username__in=existing).update(is_active=True, password=password)
    User.objects.bulk_create(
        [
            User(
                username=username,
                password=password,
                display_name=names.full_name(r, *_gender_and_year(r, profile["born"])),
                phone=names.mobile(r),
            )
            for username in usernames
            if username not in existing
        ],
        batch_size=1000,
    )
    ids = dict(User.objects.filter(username__in=usernames).values_list("username", "id"))
    RoleAssignment.objects.bulk_create(
        [
            RoleAssignment(user_id=ids[username], role=Role.GRID_WORKER, area=grid)
            for grid, username, _ in wanted
        ],
        batch_size=1000,
    )
    GridAssignment.objects.bulk_create(
        [
            rows.grid_assignment(grid_id=grid.pk, worker_id=ids[username], post=post)
            for grid, username, post in wanted
        ],
        batch_size=1000,
    )
    return len(wanted)


def _gender_and_year(r: random.Random, born: list[int]) -> tuple[str, int]:
    return r.choice((Gender.MALE, Gender.FEMALE)), r.randint(*born)


def retire_staff(district: Area) -> None:
    """Remove the generated grid workers of `district` that hold no posting any more (after a
    reset). One who acted (an audit row, a case ...) is kept but deactivated."""
    orphans = User.objects.filter(
        username__startswith=staffing_prefix(district),
        grid_assignments__isnull=True,
    )
    RoleAssignment.objects.filter(user__in=orphans).delete()
    try:
        with transaction.atomic():
            orphans.delete()
    except ProtectedError:
        orphans.update(is_active=False)
