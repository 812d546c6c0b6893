"""Audited writes of insight: mining runs, monthly topics (每月一题), proactive tasks (未诉先办).

Each function checks the actor's scope, validates everything first (ServiceError with field
errors, nothing written), then writes its rows and the audit row in one transaction.

Who may do what (existing capabilities, no new role):
- run topic mining over an area: `cases.view` there (it reads cases only);
- create, change and link topics, spawn proactive tasks: `cases.dispatch` where the topic or
  the task lies (district officers, street dispatchers), since a task is a case they dispatch.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import transaction
from django.http import Http404
from django.utils.translation import gettext as _
from shapely.geometry import shape

from civicgrid.accounts.models import Unit
from civicgrid.areas.models import Area
from civicgrid.cases import intake
from civicgrid.cases import services as case_services
from civicgrid.cases.choices import Channel, Kind, State, Urgency
from civicgrid.cases.models import Case, Category
from civicgrid.core import audit, clock
from civicgrid.core.errors import PermissionDeniedError, ServiceError
from civicgrid.core.models import AuditEntry
from civicgrid.core.scoping import scope_of
from civicgrid.insights import mining, selectors
from civicgrid.insights.choices import TaskSource, TopicStatus
from civicgrid.insights.models import MiningRun, ProactiveTask, Topic, TopicCandidate

MAX_TITLE = 100
MAX_DESCRIPTION = 2000
MAX_KEYWORDS = 300
MAX_MINING_DAYS = 366
CANDIDATES_KEPT = 20

# 每月一题 stages: which status may follow which.
TOPIC_TRANSITIONS: dict[str, frozenset[str]] = {
    TopicStatus.PLANNED: frozenset({TopicStatus.ACTIVE, TopicStatus.DROPPED}),
    TopicStatus.ACTIVE: frozenset({TopicStatus.SOLVED, TopicStatus.DROPPED}),
    TopicStatus.SOLVED: frozenset({TopicStatus.ACTIVE}),
    TopicStatus.DROPPED: frozenset({TopicStatus.PLANNED}),
}
CLOSED_STATUSES = frozenset({TopicStatus.SOLVED, TopicStatus.DROPPED})


def _check_area(actor, area: Area | None, capability: str, field: str = "area") -> Area:
    """`area` must be one the actor sees, with `capability` granted over it."""
    if area is None:
        raise ServiceError(_("Choose an area."), field)
    scope = scope_of(actor)
    if not Area.objects.visible_to(actor).filter(pk=area.pk).exists():
        raise ServiceError(_("Unknown area."), field)
    if not scope.covers_path(area.path, capability):
        raise PermissionDeniedError(_("Your role may not do this here (needs %s).") % capability)
    return area


def record_phone_reveal(actor, report) -> None:
    """A staff read of unmasked phones (repeat callers) is an audit row, like a reveal."""
    if report.phones_masked or not report.repeat_callers:
        return
    audit.record(
        actor,
        AuditEntry.Action.REVEAL,
        object_type="insights.repeat_callers",
        object_repr=f"{report.week:%Y-%m-%d}",
        fields={"phones": len(report.repeat_callers), "level": report.level},
        reason="repeat callers on the hotspot report",
    )


def _check_topic(actor, topic: Topic) -> None:
    """A topic the actor cannot see does not exist for them (404); one they see but may not
    change is a 403."""
    if not Topic.objects.visible_to(actor).filter(pk=topic.pk).exists():
        raise Http404
    _check_area(actor, topic.area, "cases.dispatch")


# --- mining ----------------------------------------------------------------------------------


def run_mining(
    *,
    actor,
    area: Area | None,
    since: dt.datetime | None,
    until: dt.datetime | None,
    weights: mining.Weights | None = None,
) -> MiningRun:
    """Mine the cases of `area` received in [since, until) and keep the best candidates."""
    errors = {}
    if since is None:
        errors["since"] = _("Give the start of the span.")
    if until is None:
        errors["until"] = _("Give the end of the span.")
    if since is not None and until is not None:
        if until <= since:
            errors["until"] = _("The end must come after the start.")
        elif (until - since).days > MAX_MINING_DAYS:
            errors["until"] = _("Mine at most %(n)d days at once.") % {"n": MAX_MINING_DAYS}
    if area is None:
        errors["area"] = _("Choose an area.")
    if errors:
        raise ServiceError(next(iter(errors.values())), errors=errors)
    _check_area(actor, area, "cases.view")
    weights = weights or mining.Weights()
    docs = selectors.mining_docs(actor, area=area, since=since, until=until)
    groups = mining.mine(docs, weights, top=CANDIDATES_KEPT)
    with transaction.atomic():
        run = MiningRun.objects.create(
            area=area,
            since=since,
            until=until,
            case_count=len(docs),
            params={
                "docs_per_group": weights.docs_per_group,
                "min_size": weights.min_size,
                "min_similarity": weights.min_similarity,
                "recent_days": weights.recent_days,
            },
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
            created_at=clock.now(),
        )
        for rank, group in enumerate(groups, start=1):
            candidate = TopicCandidate.objects.create(
                run=run,
                rank=rank,
                key_phrases=group.key_phrases,
                place=group.place[:200],
                description=group.description[:200],
                first_at=group.first_at,
                last_at=group.last_at,
                size=group.size,
                volume=group.volume,
                growth=group.growth,
                repeat_rate=group.repeat_rate,
                unresolved=group.unresolved,
                score=group.score,
            )
            candidate.cases.set([int(i) for i in group.doc_ids])
        audit.record(
            actor,
            AuditEntry.Action.CREATE,
            run,
            area_path=area.path,
            fields={"cases": len(docs), "candidates": len(groups)},
        )
    return run


# --- topics ----------------------------------------------------------------------------------


def _first_of_month(value) -> dt.date | None:
    if isinstance(value, dt.datetime):
        value = value.date()
    return value.replace(day=1) if isinstance(value, dt.date) else None


def _visible_case_ids(actor, ids: Iterable[int]) -> list[int]:
    ids = [int(i) for i in ids]
    if not ids:
        return []
    return list(Case.objects.visible_to(actor).filter(pk__in=ids).values_list("pk", flat=True))


def _topic_fields(
    *, title: str, description: str, owner_unit, period, keywords: str, errors: dict
) -> dict:
    title = " ".join((title or "").split())
    if not title:
        errors["title"] = _("Give the topic a title.")
    elif len(title) > MAX_TITLE:
        errors["title"] = _("The title may have at most %(n)d characters.") % {"n": MAX_TITLE}
    description = (description or "").strip()
    if len(description) > MAX_DESCRIPTION:
        errors["description"] = _("The description may have at most %(n)d characters.") % {
            "n": MAX_DESCRIPTION
        }
    if not isinstance(owner_unit, Unit):
        errors["owner_unit"] = _("Choose the owner department.")
    month = _first_of_month(period)
    if month is None:
        errors["period"] = _("Give the month the topic is worked on.")
    keywords = " ".join((keywords or "").split())
    if len(keywords) > MAX_KEYWORDS:
        errors["keywords"] = _("The keywords may have at most %(n)d characters.") % {
            "n": MAX_KEYWORDS
        }
    return {
        "title": title,
        "description": description,
        "owner_unit": owner_unit,
        "period": month,
        "keywords": keywords,
    }


def create_topic(
    *,
    actor,
    title: str,
    owner_unit: Unit | None,
    area: Area | None,
    period: dt.date | None,
    description: str = "",
    candidate: TopicCandidate | None = None,
    categories: Iterable[Category] = (),
    keywords: str = "",
    case_ids: Iterable[int] = (),
) -> Topic:
    """A monthly topic, often from a mining candidate: its cases are linked, its key phrases
    become the keywords unless others are given."""
    errors: dict[str, str] = {}
    fields = _topic_fields(
        title=title,
        description=description,
        owner_unit=owner_unit,
        period=period,
        keywords=keywords,
        errors=errors,
    )
    if area is None:
        errors["area"] = _("Choose an area.")
    if (
        candidate is not None
        and not selectors.visible_candidates(actor).filter(pk=candidate.pk).exists()
    ):
        errors["candidate"] = _("Unknown candidate.")
    categories = list(categories)
    if errors:
        raise ServiceError(next(iter(errors.values())), errors=errors)
    _check_area(actor, area, "cases.dispatch")
    if candidate is not None and not fields["keywords"]:
        fields["keywords"] = " ".join(candidate.key_phrases[:5])[:MAX_KEYWORDS]
    ids = list(case_ids)
    if candidate is not None:
        ids += list(candidate.cases.values_list("pk", flat=True))
    linked = _visible_case_ids(actor, ids)
    now = clock.now()
    with transaction.atomic():
        topic = Topic.objects.create(
            area=area,
            candidate=candidate,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
            created_at=now,
            updated_at=now,
            **fields,
        )
        topic.categories.set(categories)
        topic.cases.set(linked)
        audit.record(
            actor,
            AuditEntry.Action.CREATE,
            topic,
            fields={
                "owner_unit": topic.owner_unit_id,
                "period": str(topic.period),
                "candidate": candidate.pk if candidate else None,
                "cases": len(linked),
            },
        )
    return topic


def update_topic(
    topic: Topic,
    *,
    actor,
    title: str,
    owner_unit: Unit | None,
    period: dt.date | None,
    description: str = "",
    categories: Iterable[Category] = (),
    keywords: str = "",
) -> Topic:
    """Change what a topic is about, who owns it and its month."""
    _check_topic(actor, topic)
    errors: dict[str, str] = {}
    fields = _topic_fields(
        title=title,
        description=description,
        owner_unit=owner_unit,
        period=period,
        keywords=keywords,
        errors=errors,
    )
    if errors:
        raise ServiceError(next(iter(errors.values())), errors=errors)
    with transaction.atomic():
        before = {k: str(getattr(topic, k)) for k in fields}
        for key, value in fields.items():
            setattr(topic, key, value)
        topic.updated_at = clock.now()
        topic.save()
        topic.categories.set(list(categories))
        changed = {k: [before[k], str(v)] for k, v in fields.items() if before[k] != str(v)}
        audit.record(actor, AuditEntry.Action.UPDATE, topic, fields=changed)
    return topic


def change_topic_status(topic: Topic, status: str, *, actor, note: str = "") -> Topic:
    """Move a topic along TOPIC_TRANSITIONS (planned → in progress → solved, or dropped)."""
    _check_topic(actor, topic)
    if status not in TopicStatus.values:
        raise ServiceError(_("Unknown status."), "status")
    with transaction.atomic():
        locked = Topic.objects.select_for_update().get(pk=topic.pk)
        if status not in TOPIC_TRANSITIONS[locked.status]:
            raise ServiceError(
                _("A topic that is %(current)s cannot become %(target)s.")
                % {
                    "current": TopicStatus(locked.status).label,
                    "target": TopicStatus(status).label,
                },
                "status",
            )
        previous = locked.status
        now = clock.now()
        locked.status = status
        locked.updated_at = now
        locked.closed_at = now if status in CLOSED_STATUSES else None
        locked.save(update_fields=["status", "updated_at", "closed_at"])
        audit.record(
            actor,
            AuditEntry.Action.UPDATE,
            locked,
            fields={"status": [previous, status]},
            reason=note.strip(),
        )
    topic.status, topic.updated_at, topic.closed_at = (
        locked.status,
        locked.updated_at,
        locked.closed_at,
    )
    return topic


def link_cases(topic: Topic, *, actor, numbers: Iterable[str] = (), unlink: Iterable[int] = ()):
    """Link cases (by number) to a topic, or unlink them (by id). Returns (linked, unlinked)."""
    _check_topic(actor, topic)
    numbers = [n.strip() for n in numbers if n and n.strip()]
    visible = Case.objects.visible_to(actor)
    found = dict(visible.filter(number__in=numbers).values_list("number", "pk"))
    missing = [n for n in numbers if n not in found]
    if missing:
        raise ServiceError(
            _("Unknown cases: %(numbers)s.") % {"numbers": ", ".join(missing)}, "numbers"
        )
    removing = _visible_case_ids(actor, unlink)
    with transaction.atomic():
        topic.cases.add(*found.values())
        topic.cases.remove(*removing)
        if found or removing:
            audit.record(
                actor,
                AuditEntry.Action.UPDATE,
                topic,
                fields={"linked": sorted(found.values()), "unlinked": sorted(removing)},
            )
    return len(found), len(removing)


# --- proactive tasks ------------------------------------------------------------------------


def _anchor(area: Area) -> tuple[float, float]:
    """(lat, lon) of a point inside the area, so intake places the task in it."""
    if not area.geometry:
        raise ServiceError(_("This area has no boundary to place the task in."), "area")
    point = shape(area.geometry).representative_point()
    return point.y, point.x


def spawn_task(
    *,
    actor,
    title: str,
    description: str,
    area: Area | None,
    unit: Unit | None = None,
    category: Category | int | None = None,
    topic: Topic | None = None,
    hotspot: str = "",
    kind: str = Kind.REPORT,
    urgency: str = Urgency.NORMAL,
    address: str = "",
) -> ProactiveTask:
    """未诉先办: a case with channel PROACTIVE and no reporter, placed in `area` (a grid's
    workers see it there), dispatched to `unit` when one is named, and recorded as coming
    from `topic` or from the hotspot described by `hotspot`. One transaction."""
    errors: dict[str, str] = {}
    if topic is None and not (hotspot or "").strip():
        errors["source"] = _("Say which topic or hotspot the task comes from.")
    if topic is not None and not Topic.objects.visible_to(actor).filter(pk=topic.pk).exists():
        errors["topic"] = _("Unknown topic.")
    if topic is not None and topic.status in CLOSED_STATUSES:
        errors["topic"] = _("The topic is closed: reopen it before adding tasks.")
    if area is None:
        errors["area"] = _("Choose where the task is (a grid or an area).")
    if errors:
        raise ServiceError(next(iter(errors.values())), errors=errors)
    _check_area(actor, area, "cases.dispatch")
    if topic is not None and not area.path.startswith(topic.area.path):
        raise ServiceError(_("The task must lie inside the topic's area."), "area")
    lat, lon = _anchor(area)
    with transaction.atomic():
        case = intake.receive_case(
            actor=actor,
            channel=Channel.PROACTIVE,
            kind=kind,
            title=title,
            description=description,
            category=category,
            lat=lat,
            lon=lon,
            address=address or area.name,
            urgency=urgency,
        )
        if unit is not None and case.state == State.RECEIVED:
            case = case_services.dispatch_case(
                case, unit, actor=actor, note=_("Proactive task (未诉先办)")
            )
        task = ProactiveTask.objects.create(
            case=case,
            source=TaskSource.TOPIC if topic is not None else TaskSource.HOTSPOT,
            topic=topic,
            hotspot=(hotspot or "").strip()[:200],
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
            created_at=clock.now(),
        )
        audit.record(
            actor,
            AuditEntry.Action.CREATE,
            task,
            area_path=case.area_path,
            fields={
                "case": case.pk,
                "topic": topic.pk if topic else None,
                "hotspot": task.hotspot,
                "unit": unit.pk if unit else None,
            },
        )
    return task
