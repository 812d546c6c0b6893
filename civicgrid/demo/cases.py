"""The request loop of the demo district: the category tree, tags, handling units, the dispatch
catalogue and time-limit presets (all from civicgrid/cases/data and cases/presets), then a
case history of the last 60 days made the way real cases are made: `intake.receive_case` and
the `cases.services` transitions under `clock.frozen`, so every timeline, deadline and audit
row is real. Everything is idempotent: what exists is left alone.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import random
from collections.abc import Callable
from pathlib import Path

from django.core.management import call_command
from shapely.geometry import shape

from civicgrid.accounts.choices import Role
from civicgrid.accounts.models import RoleAssignment, Unit, User
from civicgrid.areas.choices import Level
from civicgrid.areas.models import Area
from civicgrid.cases import catalogue, intake, routing, services, workflow
from civicgrid.cases.choices import (
    CallbackMethod,
    Channel,
    Kind,
    ReturnReason,
    Satisfaction,
    Solved,
    State,
    Urgency,
)
from civicgrid.cases.models import Case, CaseEvent, Category, Tag, Taxonomy
from civicgrid.core import clock
from civicgrid.registry.choices import OrganizationKind
from civicgrid.registry.models import Organization

DATA = Path(__file__).resolve().parent.parent / "cases" / "data"
HISTORY_DAYS = 60
DEFAULT_CASES = 240
PRESET = "jinniu"
MERGE_TARGETS = {State.DISPATCHED, State.ACCEPTED}  # cases a duplicate can join


def _load(name: str) -> dict:
    return json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))


def load_case_config(district: Area, streets: list[Area], *, log: Callable[[str], None]) -> dict:
    """Taxonomy, tags, units, the dispatch catalogue and the SLA presets; returns the units
    by their path in units.json (CGJ, CGJ/SZS/LDS ...)."""
    tree = _load("categories")
    taxonomy = Taxonomy.objects.filter(version=tree["version"]).first()
    if taxonomy is None:
        taxonomy = catalogue.create_taxonomy(tree["version"], tree["name"], actor=None)
        report = catalogue.import_category_tree(
            taxonomy, catalogue.tree_rows(tree["categories"]), actor=None
        )
        if not report.ok:
            raise ValueError(f"cases/data/categories.json: {report.errors[:3]}")
        log(f"Categories: {report.created} in {taxonomy}.")
    if not taxonomy.is_active and catalogue.active_taxonomy() is None:
        catalogue.activate_taxonomy(taxonomy, actor=None)
    existing_tags = set(Tag.objects.values_list("code", flat=True))
    for spec in _load("tags")["tags"]:
        if spec["code"] not in existing_tags:
            catalogue.create_tag(actor=None, code=spec["code"], name=spec["name"])
    units = _units(district, streets)
    _rules(taxonomy, district, streets, units)
    if not Case.objects.filter(policy__isnull=False).exists():
        call_command("load_sla_presets", activate=PRESET, stdout=io.StringIO())
    return units


def _city_name(district: Area) -> str:
    parent = district.parent
    return parent.name if parent is not None and parent.level == Level.CITY else ""


def _unit(code: str, name: str, kind: str, parent: Unit | None, areas: list[Area]) -> Unit:
    unit = Unit.objects.filter(code=code).first()
    if unit is None:
        unit = catalogue.create_unit(
            actor=None, code=code, name=name, kind=kind, parent=parent, areas=areas
        )
        return unit
    if parent is not None and unit.parent_id != parent.pk:
        unit.parent = parent
        unit.save(update_fields=["parent"])
    if {a.pk for a in areas} - set(unit.areas.values_list("pk", flat=True)):
        # A reset rebuilt the communities: the unit covers the new ones.
        catalogue.set_unit_areas(unit, areas, actor=None)
    return unit


def _units(district: Area, streets: list[Area]) -> dict:
    data = _load("units")
    short, city = district.code[:6], _city_name(district)
    units: dict = {}

    def walk(specs, parent: Unit | None, prefix: str) -> None:
        for spec in specs:
            path = f"{prefix}{spec['code']}"
            name = spec["name"].format(district=district.name, city=city)
            code = f"{short}-{path.replace('/', '-')}"
            units[path] = _unit(code, name, spec["kind"], parent, [district])
            walk(spec.get("children", ()), units[path], f"{path}/")

    walk(data["departments"], None, "")
    units["street"] = {s.pk: Unit.objects.filter(code=f"{s.code[:9]}-BSC").first() for s in streets}
    spec = data["community_unit"]
    communities = Area.objects.current().filter(
        path__startswith=district.path, level=Level.COMMUNITY
    )
    units["community"] = {
        c.pk: _unit(
            f"{c.code}-{spec['code']}",
            spec["name"].format(community=c.name),
            spec["kind"],
            None,
            [c],
        )
        for c in communities.order_by("code")
    }
    companies: dict[int, tuple[Unit, Area]] = {}
    seen: set[str] = set()
    orgs = Organization.objects.filter(
        area__path__startswith=district.path, kind=OrganizationKind.PROPERTY
    ).select_related("area")
    for org in orgs.order_by("area__path", "pk"):
        community_path = "/".join(org.area.path.split("/")[:-1])
        if community_path in seen or not org.credit_code:
            continue  # one property company per community is enough for the demo
        code = f"{data['company_unit']['code']}-{org.credit_code}"
        if (
            not Unit.objects.filter(code=code).exists()
            and Unit.objects.filter(parent=None, name=org.name[:100]).exists()
        ):
            continue  # a company of the same name serves another community already
        seen.add(community_path)
        unit = _unit(
            code,
            org.name[:100],
            data["company_unit"]["kind"],
            None,
            [org.area],
        )
        companies[unit.pk] = (unit, org.area)
    units["company"] = companies
    return units


def _rules(taxonomy: Taxonomy, district: Area, streets: list[Area], units: dict) -> None:
    categories = {c.code: c for c in taxonomy.categories.all()}
    for spec in _load("units")["rules"]:
        category = categories[spec["category"]]
        if spec["unit"] == "street":
            pairs = [(units["street"][s.pk], s) for s in streets if units["street"].get(s.pk)]
        elif spec["unit"] == "community":
            pairs = [(u, Area.objects.get(pk=pk)) for pk, u in units["community"].items()]
        elif spec["unit"] == "company":
            pairs = list(units["company"].values())
        else:
            pairs = [(units[spec["unit"]], district)]
        for unit, area in pairs:
            catalogue.set_dispatch_rule(
                actor=None, category=category, area=area, unit=unit, auto_dispatch=spec["auto"]
            )


# --- the case history ------------------------------------------------------------------------

# What callers say, per category code: (title, description). Others get a generic sentence.
TEXTS = {
    "09006": (
        "小区门口占道经营",
        "每天傍晚有摊贩在{place}门口摆摊，占了人行道，行人只能走机动车道。",
    ),
    "01037": ("路灯不亮", "{place}附近的路灯已经坏了一个星期，晚上很黑，老人出行不安全。"),
    "06001": ("楼顶私搭乱建", "{place}有住户在楼顶搭建彩钢棚，存在安全隐患，请核查。"),
    "06042": ("垃圾桶满溢无人清运", "{place}的垃圾桶已经满了两天，气味很大。"),
    "06028": ("夜间噪声扰民", "{place}晚上十点以后还有广场舞音响，影响休息。"),
    "010101": ("物业服务差", "{place}物业不作为，楼道灯坏了不修，门禁也坏了。"),
    "010302": ("频繁停电", "{place}这周停了三次电，没有提前通知。"),
    "010301": ("停水没有通知", "{place}从早上开始停水，没有看到任何通知。"),
    "040101": ("拖欠农民工工资", "在{place}附近工地干活，老板拖欠三个月工资。"),
    "100202": ("希望开设老年助餐点", "{place}老人多，希望社区开设老年食堂。"),
    "09009": ("机动车乱停放", "{place}路口经常有车乱停，堵住消防通道。"),
    "06013": ("道路破损", "{place}路面有个大坑，下雨积水，电瓶车容易摔倒。"),
    "08001": ("工地夜间施工扰民", "{place}旁边工地半夜还在施工，噪音很大。"),
    "080103": ("餐馆油烟扰民", "{place}楼下餐馆油烟直排，窗户都不敢开。"),
    "060101": ("入学划片咨询", "孩子明年上小学，想咨询{place}属于哪个学校的划片范围。"),
    "070102": ("预付卡商家跑路", "{place}附近健身房突然关门，会员卡余额无法退还。"),
}
WEIGHTS = {code: 6 for code in TEXTS} | {"09006": 14, "01037": 10, "06042": 9, "06028": 8}
CHANNELS = [
    (Channel.HOTLINE, 55),
    (Channel.WEB, 12),
    (Channel.MOBILE, 15),
    (Channel.PATROL, 12),
    (Channel.WISH_BOX, 3),
    (Channel.PARTNER, 3),
]
KINDS = [
    (Kind.COMPLAINT, 40),
    (Kind.REPORT, 25),
    (Kind.HELP, 15),
    (Kind.INQUIRY, 10),
    (Kind.SUGGESTION, 8),
    (Kind.PRAISE, 2),
]
# How far each case has come by today (older cases have come further).
OUTCOMES = [
    ("received", 4),
    ("dispatched", 8),
    ("accepted", 12),
    ("returned", 3),
    ("suspended", 3),
    ("extended", 3),
    ("resolved", 8),
    ("callback_done", 6),
    ("closed", 40),
    ("reopened", 5),
    ("merged", 3),
    ("invalid", 3),
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = ["秀英", "建国", "丽", "强", "敏", "军", "静", "磊", "芳", "伟", "婷", "浩宇"]


def _pick(r: random.Random, pairs) -> str:
    values, weights = zip(*pairs, strict=True)
    return r.choices(values, weights)[0]


class _Actors:
    """The demo logins who act on cases, and a handler for each unit that gets one."""

    def __init__(self, password: str):
        self.password = password
        self.intake = User.objects.get(username="hotline")
        self.dispatcher = User.objects.get(username="district")
        self.callback = self.intake
        self.patrol = User.objects.get(username="grid")
        self._handlers: dict[int, User] = {}

    def handler(self, unit: Unit) -> User:
        if unit.pk not in self._handlers:
            username = f"h-{unit.code}"[:150]
            user, created = User.objects.get_or_create(
                username=username,
                defaults={"display_name": f"{unit.name[:40]} 承办人", "password": self.password},
            )
            RoleAssignment.objects.get_or_create(
                user=user, role=Role.DEPARTMENT_HANDLER, unit=unit, area=None
            )
            self._handlers[unit.pk] = user
        return self._handlers[unit.pk]


def load_case_history(
    district: Area,
    *,
    seed: int,
    password: str,
    count: int = DEFAULT_CASES,
    log: Callable[[str], None],
) -> int:
    """`count` cases over the last 60 days in every state; returns how many were made (0 when
    the history is there already)."""
    if Case.objects.filter(idempotency_key__startswith=f"demo-{seed}-").exists():
        return 0
    taxonomy = catalogue.active_taxonomy()
    categories = {c.code: c for c in Category.objects.filter(taxonomy=taxonomy, code__in=WEIGHTS)}
    codes = [c for c in WEIGHTS if c in categories]
    weights = [WEIGHTS[c] for c in codes]
    grids = list(
        Area.objects.current()
        .filter(path__startswith=district.path, level=Level.GRID)
        .order_by("code")
        .only("id", "name", "geometry", "path", "parent__name")
        .select_related("parent")
    )
    if not grids or not codes:
        return 0
    r = random.Random(f"{seed}-cases")
    actors = _Actors(password)
    fallback = Unit.objects.get(code=f"{district.code[:6]}-CGJ")
    tags = list(Tag.objects.all())
    now = clock.now()
    starts = sorted(
        now - dt.timedelta(days=r.uniform(0, HISTORY_DAYS), hours=r.uniform(0, 10))
        for _ in range(count)
    )
    made: list[Case] = []
    for i, received in enumerate(starts):
        code = r.choices(codes, weights)[0]
        grid = r.choice(grids)
        point = shape(grid.geometry).representative_point()
        title, text = TEXTS[code]
        channel = _pick(r, CHANNELS)
        actor = actors.patrol if channel == Channel.PATROL else actors.intake
        if channel == Channel.PATROL and not grid.path.startswith(_patrol_path(actors)):
            channel, actor = Channel.HOTLINE, actors.intake
        anonymous = channel == Channel.HOTLINE and r.random() < 0.08
        with clock.frozen(received):
            case = intake.receive_case(
                actor=actor,
                channel=channel,
                kind=_pick(r, KINDS),
                title=title,
                description=text.format(place=f"{grid.parent.name}{grid.name}"),
                category=categories[code],
                lat=point.y,
                lon=point.x,
                reporter_name="" if channel == Channel.PATROL else _name(r),
                reporter_phone="" if channel == Channel.PATROL else _phone(r),
                anonymous=anonymous,
                urgency=Urgency.URGENT if r.random() < 0.07 else Urgency.NORMAL,
                tags=r.sample(tags, k=1) if tags and r.random() < 0.3 else (),
                idempotency_key=f"demo-{seed}-{i}",
            )
        age_days = (now - received).total_seconds() / 86400
        outcome = _pick(r, OUTCOMES)
        if age_days < 2 and outcome in {"closed", "callback_done", "reopened"}:
            outcome = "accepted"
        _advance(case, outcome, received, now, r, actors, fallback, made)
        made.append(case)
    log(f"Cases: {len(made)} over the last {HISTORY_DAYS} days.")
    return len(made)


def _patrol_path(actors: _Actors) -> str:
    assignment = actors.patrol.role_assignments.select_related("area").first()
    return assignment.area.path if assignment and assignment.area else "/none/"


def _name(r: random.Random) -> str:
    return r.choice(SURNAMES) + r.choice(GIVEN)


def _phone(r: random.Random) -> str:
    return f"1{r.choice('35789')}{r.randint(0, 9)}{r.randint(0, 99999999):08d}"


def _advance(case, outcome, received, now, r, actors, fallback, made) -> None:
    """Walk `case` to `outcome` with plausible gaps between steps, never past `now`."""
    t = received
    span = max((now - received).total_seconds(), 600)

    def step() -> dt.datetime:
        nonlocal t
        t = min(t + dt.timedelta(seconds=r.uniform(0.02, 0.12) * span), now)
        return t

    def refresh():
        case.refresh_from_db()
        return case

    if outcome == "received":
        return
    if outcome == "merged":
        for other in reversed(made[-20:]):
            other.refresh_from_db()
            if workflow.is_open(other.state) and other.state in MERGE_TARGETS:
                with clock.frozen(step()):
                    services.merge_case(
                        refresh(), other, actor=actors.dispatcher, reason="同一事项"
                    )
                return
        outcome = "dispatched"
    if outcome == "invalid":
        with clock.frozen(step()):
            services.invalidate_case(
                refresh(), actor=actors.dispatcher, reason="来电人反映的问题不属于政府职责范围"
            )
        return
    if refresh().lead_unit_id is None:
        route = routing.route(case.category, case.grid)
        unit = route.units[0] if route.units else fallback
        with clock.frozen(step()):
            services.dispatch_case(refresh(), unit, actor=actors.dispatcher)
    unit = refresh().lead_unit
    handler = actors.handler(unit)
    if outcome == "dispatched":
        return
    if outcome == "returned":
        with clock.frozen(step()):
            services.return_case(
                refresh(),
                actor=handler,
                reason_code=ReturnReason.WRONG_AREA,
                reason="该点位不在我单位管辖范围",
            )
        return
    with clock.frozen(step()):
        services.accept_case(refresh(), actor=handler)
    if r.random() < 0.1:
        with clock.frozen(step()):
            services.supervise_case(
                refresh(), actor=actors.dispatcher, reason="群众反映强烈，请加快办理"
            )
    if outcome == "accepted":
        return
    if outcome == "suspended":
        with clock.frozen(step()):
            services.suspend_case(refresh(), actor=actors.dispatcher, reason="等待权属单位出具意见")
        return
    if outcome == "extended":
        # Asked soon after accepting: an extension must come before the deadline.
        asked = min(t + dt.timedelta(hours=1), now)
        due = refresh().resolve_due_at
        if due is None or asked >= due:
            return
        with clock.frozen(asked):
            extension = services.request_extension(
                case,
                actor=handler,
                reason="需协调多个部门现场勘查",
                requested_due_at=due + dt.timedelta(days=5),
            )
        with clock.frozen(min(asked + dt.timedelta(hours=2), now)):
            services.decide_extension(extension, actor=actors.dispatcher, approve=True)
        return
    with clock.frozen(step()):
        services.resolve_case(refresh(), actor=handler, reply="已安排人员到现场处理，问题已解决。")
    if outcome == "resolved":
        return
    unhappy = outcome == "reopened"
    with clock.frozen(step()):
        services.record_callback(
            refresh(),
            actor=actors.callback,
            method=CallbackMethod.PHONE,
            contacted=True,
            solved=Solved.NOT_SOLVED if unhappy else Solved.SOLVED,
            satisfaction=Satisfaction.DISSATISFIED
            if unhappy
            else r.choice([Satisfaction.SATISFIED, Satisfaction.SATISFIED, Satisfaction.BASIC]),
        )
    if outcome in {"callback_done", "reopened"}:
        return
    with clock.frozen(step()):
        services.close_case(refresh(), actor=actors.dispatcher)


def wipe_case_history(district: Area) -> int:
    """Delete the generated case history of `district` (for `load_demo --reset`); cases that
    did not come from the demo stay, and keep the reset from deleting the areas they are in."""
    cases = Case.objects.filter(
        area_path__startswith=district.path, idempotency_key__startswith="demo-"
    )
    ids = list(cases.values_list("pk", flat=True))
    # The timeline is never deleted in real use; here the whole generated history goes.
    Case.objects.filter(pk__in=ids).update(parent=None)
    CaseEvent.objects.filter(case__in=ids).delete()
    Case.objects.filter(pk__in=ids).delete()
    return len(ids)
