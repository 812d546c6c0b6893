"""The insight API under /api/v1/insights: hotspots, topic mining, monthly topics, tasks.

Handlers read through `selectors` (scoped) and write through `services` (audited); a hidden
object is a 404, an object named in a body that the caller cannot see is a 422 on its field.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict

from django.utils import timezone
from ninja import Query, Router
from ninja.pagination import paginate

from civicgrid.accounts.models import Unit
from civicgrid.areas.models import Area
from civicgrid.cases.models import Category
from civicgrid.core.api import ErrorOut, Mapped, Page, invalid, require, visible_or_invalid
from civicgrid.core.scoping import get_visible_or_404
from civicgrid.insights import selectors, services
from civicgrid.insights.models import MiningRun, ProactiveTask, Topic, TopicCandidate
from civicgrid.insights.schemas import (
    CandidateOut,
    HotspotFilter,
    HotspotsOut,
    MiningRunIn,
    MiningRunOut,
    TaskIn,
    TaskOut,
    TopicCasesIn,
    TopicDetail,
    TopicIn,
    TopicOut,
    TopicStatusIn,
    TopicUpdateIn,
)

router = Router(tags=["insights"])
REFUSED = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}


def _aware(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time()))


def _unit(pk: int | None, field: str) -> Unit | None:
    if pk is None:
        return None
    unit = Unit.objects.filter(pk=pk).first()
    if unit is None:
        raise invalid(field, "Not found.", "body")
    return unit


def _category(pk: int | None, field: str = "category") -> Category | None:
    if pk is None:
        return None
    category = Category.objects.filter(pk=pk).first()
    if category is None:
        raise invalid(field, "Not found.", "body")
    return category


# --- shaping --------------------------------------------------------------------------------


def candidate_out(c: TopicCandidate) -> dict:
    return {
        f: getattr(c, f)
        for f in (
            "id",
            "rank",
            "key_phrases",
            "place",
            "description",
            "first_at",
            "last_at",
            "size",
            "volume",
            "growth",
            "repeat_rate",
            "unresolved",
            "score",
        )
    }


def run_out(run: MiningRun, *, candidates: bool = False) -> dict:
    out = {
        "id": run.pk,
        "area_id": run.area_id,
        "area": run.area.name,
        "since": run.since,
        "until": run.until,
        "case_count": run.case_count,
        "created_at": run.created_at,
    }
    if candidates:
        out["candidates"] = [candidate_out(c) for c in run.candidates.order_by("rank")]
    return out


def topic_out(topic: Topic) -> dict:
    return {
        "id": topic.pk,
        "title": topic.title,
        "description": topic.description,
        "status": topic.status,
        "period": topic.period,
        "owner_unit_id": topic.owner_unit_id,
        "owner_unit": topic.owner_unit.name,
        "area_id": topic.area_id,
        "area": topic.area.name,
        "keywords": topic.keywords,
        "category_ids": list(topic.categories.values_list("id", flat=True)),
        "candidate_id": topic.candidate_id,
        "created_at": topic.created_at,
        "closed_at": topic.closed_at,
    }


def task_out(task: ProactiveTask) -> dict:
    case = task.case
    return {
        "id": task.pk,
        "source": task.source,
        "topic_id": task.topic_id,
        "hotspot": task.hotspot,
        "case_id": case.pk,
        "case_number": case.number,
        "title": case.title,
        "state": case.state,
        "grid": case.grid.name if case.grid_id else "",
        "lead_unit": case.lead_unit.name if case.lead_unit_id else "",
        "resolve_due_at": case.resolve_due_at,
        "created_at": task.created_at,
    }


def topic_detail(request, topic: Topic) -> dict:
    return {
        **topic_out(topic),
        "progress": asdict(selectors.topic_progress(topic)),
        "tasks": [task_out(t) for t in selectors.visible_tasks(request.user, topic=topic)],
        "case_ids": list(
            selectors.linked_cases(request.user, topic).values_list("pk", flat=True)[:1000]
        ),
    }


# --- hotspots -------------------------------------------------------------------------------


@router.get(
    "/insights/hotspots",
    response={200: HotspotsOut, **REFUSED},
    summary="Weekly rises, spatial clusters, repeat callers and addresses of the caller's scope",
)
def hotspots(request, filters: Query[HotspotFilter]):
    require(request, "cases.view")
    area = None
    if filters.area is not None:
        area = get_visible_or_404(Area.objects.all(), request.user, pk=filters.area)
    category = None
    if filters.category is not None:
        category = Category.objects.filter(pk=filters.category).first()
        if category is None:
            raise invalid("category", "Not found.")
    report = selectors.hotspot_report(
        request.user,
        week=filters.week,
        level=filters.level,
        category=category,
        area=area,
        include_unflagged=filters.all,
    )
    services.record_phone_reveal(request.user, report)
    return {
        "week": report.week,
        "level": report.level,
        "rule": asdict(report.rule),
        "window_start": report.window_start,
        "window_end": report.window_end,
        "phones_masked": report.phones_masked,
        "rises": report.rises,
        "clusters": report.clusters,
        "repeat_callers": report.repeat_callers,
        "repeat_addresses": report.repeat_addresses,
    }


# --- mining ---------------------------------------------------------------------------------


@router.get(
    "/insights/mining-runs",
    response=list[MiningRunOut],
    summary="Topic-mining runs of the caller's scope, newest first",
)
@paginate(Page)
def list_runs(request):
    return Mapped(selectors.visible_runs(request.user), run_out)


@router.post(
    "/insights/mining-runs",
    response={201: MiningRunOut, **REFUSED},
    summary="Mine the cases of an area and keep the ranked topic candidates",
)
def create_run(request, payload: MiningRunIn):
    require(request, "cases.view")
    area = visible_or_invalid(Area.objects.all(), request.user, payload.area, "area")
    run = services.run_mining(
        actor=request.user, area=area, since=_aware(payload.since), until=_aware(payload.until)
    )
    return 201, run_out(run, candidates=True)


@router.get(
    "/insights/mining-runs/{run_id}",
    response={200: MiningRunOut, 404: ErrorOut},
    summary="One mining run with its candidates, best first",
)
def get_run(request, run_id: int):
    run = get_visible_or_404(selectors.visible_runs(request.user), request.user, pk=run_id)
    return run_out(run, candidates=True)


@router.get(
    "/insights/candidates/{candidate_id}",
    response={200: CandidateOut, 404: ErrorOut},
    summary="One topic candidate",
)
def get_candidate(request, candidate_id: int):
    return candidate_out(
        get_visible_or_404(
            selectors.visible_candidates(request.user), request.user, pk=candidate_id
        )
    )


# --- topics ---------------------------------------------------------------------------------


@router.get("/insights/topics", response=list[TopicOut], summary="Monthly topics (每月一题)")
@paginate(Page)
def list_topics(request, status: str | None = None, area: int | None = None):
    scope_area = None
    if area is not None:
        scope_area = get_visible_or_404(Area.objects.all(), request.user, pk=area)
    return Mapped(selectors.topic_rows(request.user, status=status, area=scope_area), topic_out)


@router.post(
    "/insights/topics",
    response={201: TopicDetail, **REFUSED},
    summary="Create a monthly topic, from a candidate or by hand",
)
def create_topic(request, payload: TopicIn):
    require(request, "cases.dispatch")
    area = visible_or_invalid(Area.objects.all(), request.user, payload.area, "area")
    candidate = None
    if payload.candidate is not None:
        candidate = visible_or_invalid(
            selectors.visible_candidates(request.user), request.user, payload.candidate, "candidate"
        )
    categories = list(Category.objects.filter(pk__in=payload.categories))
    if len(categories) != len(set(payload.categories)):
        raise invalid("categories", "Not found.", "body")
    topic = services.create_topic(
        actor=request.user,
        title=payload.title,
        description=payload.description,
        owner_unit=_unit(payload.owner_unit, "owner_unit"),
        area=area,
        period=payload.period,
        candidate=candidate,
        categories=categories,
        keywords=payload.keywords,
    )
    if payload.cases:
        services.link_cases(topic, actor=request.user, numbers=payload.cases)
    return 201, topic_detail(request, topic)


def _topic(request, topic_id: int) -> Topic:
    return get_visible_or_404(
        Topic.objects.select_related("owner_unit", "area"), request.user, pk=topic_id
    )


@router.get(
    "/insights/topics/{topic_id}",
    response={200: TopicDetail, 404: ErrorOut},
    summary="One topic with its monthly volume before and after, share resolved and tasks",
)
def get_topic(request, topic_id: int):
    return topic_detail(request, _topic(request, topic_id))


@router.put(
    "/insights/topics/{topic_id}",
    response={200: TopicOut, **REFUSED},
    summary="Change a topic's title, description, owner, month, categories and keywords",
)
def update_topic(request, topic_id: int, payload: TopicUpdateIn):
    topic = _topic(request, topic_id)
    require(request, "cases.dispatch")
    categories = list(Category.objects.filter(pk__in=payload.categories))
    if len(categories) != len(set(payload.categories)):
        raise invalid("categories", "Not found.", "body")
    services.update_topic(
        topic,
        actor=request.user,
        title=payload.title,
        description=payload.description,
        owner_unit=_unit(payload.owner_unit, "owner_unit"),
        period=payload.period,
        categories=categories,
        keywords=payload.keywords,
    )
    return topic_out(topic)


@router.post(
    "/insights/topics/{topic_id}/status",
    response={200: TopicOut, **REFUSED},
    summary="Move a topic: planned → in progress → solved, or dropped",
)
def topic_status(request, topic_id: int, payload: TopicStatusIn):
    topic = _topic(request, topic_id)
    require(request, "cases.dispatch")
    services.change_topic_status(topic, payload.status, actor=request.user, note=payload.note)
    return topic_out(topic)


@router.post(
    "/insights/topics/{topic_id}/cases",
    response={200: TopicDetail, **REFUSED},
    summary="Link cases to a topic (by number) or unlink them (by id)",
)
def topic_cases(request, topic_id: int, payload: TopicCasesIn):
    topic = _topic(request, topic_id)
    require(request, "cases.dispatch")
    services.link_cases(topic, actor=request.user, numbers=payload.link, unlink=payload.unlink)
    return topic_detail(request, topic)


# --- proactive tasks ------------------------------------------------------------------------


@router.get(
    "/insights/tasks", response=list[TaskOut], summary="Proactive tasks (未诉先办) the caller sees"
)
@paginate(Page)
def list_tasks(request, topic: int | None = None):
    scope_topic = _topic(request, topic) if topic is not None else None
    return Mapped(selectors.visible_tasks(request.user, topic=scope_topic), task_out)


@router.post(
    "/insights/tasks",
    response={201: TaskOut, **REFUSED},
    summary="Spawn a proactive task (a case with no complainant) from a topic or a hotspot",
)
def create_task(request, payload: TaskIn):
    require(request, "cases.dispatch")
    area = visible_or_invalid(Area.objects.all(), request.user, payload.area, "area")
    topic = None
    if payload.topic is not None:
        topic = visible_or_invalid(Topic.objects.all(), request.user, payload.topic, "topic")
    task = services.spawn_task(
        actor=request.user,
        title=payload.title,
        description=payload.description,
        area=area,
        unit=_unit(payload.unit, "unit"),
        category=payload.category,
        topic=topic,
        hotspot=payload.hotspot,
        kind=payload.kind,
        urgency=payload.urgency,
    )
    return 201, task_out(task)
