"""Insight pages: hotspots, topic mining, monthly topics (每月一题) and proactive tasks.

Every page reads through `selectors` (scoped) and writes through `services`; a page the role
has no use for, or an object outside the scope, is a 404.
"""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from civicgrid.areas.models import Area
from civicgrid.core.errors import ServiceError
from civicgrid.core.forms import add_service_errors
from civicgrid.core.scoping import get_visible_or_404, scope_of
from civicgrid.insights import selectors, services
from civicgrid.insights.choices import TopicStatus
from civicgrid.insights.forms import (
    HotspotFilterForm,
    LinkCasesForm,
    MiningRunForm,
    TaskForm,
    TopicForm,
    TopicStatusForm,
)
from civicgrid.insights.models import Topic

PAGE_SIZE = 50


def require(request: HttpRequest, capability: str) -> None:
    if not scope_of(request.user).can(capability):
        raise Http404


def _int(value) -> int | None:
    return int(value) if value and str(value).isdigit() else None


def _aware(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time()))


# --- hotspots -------------------------------------------------------------------------------


@login_required
def hotspots(request: HttpRequest) -> HttpResponse:
    """Rises, clusters, repeat callers and repeat addresses of the caller's scope."""
    require(request, "cases.view")
    form = HotspotFilterForm(request.GET or None, user=request.user)
    report = selectors.hotspot_report(request.user, **form.filters())
    services.record_phone_reveal(request.user, report)
    return render(
        request,
        "insights/hotspots.html",
        {
            "form": form,
            "report": report,
            "cluster_points": [
                {k: c[k] for k in ("lat", "lon", "radius_m", "size", "category", "address")}
                for c in report.clusters
            ],
            "can_dispatch": scope_of(request.user).can("cases.dispatch"),
        },
        status=400 if form.is_bound and form.errors else 200,
    )


# --- mining ---------------------------------------------------------------------------------


@login_required
def mining(request: HttpRequest) -> HttpResponse:
    """Run topic mining over an area; the runs of the scope, newest first."""
    require(request, "cases.view")
    if request.method == "POST":
        form = MiningRunForm(request.POST, user=request.user)
        if form.is_valid():
            data = form.cleaned_data
            try:
                run = services.run_mining(
                    actor=request.user,
                    area=data["area"],
                    since=_aware(data["since"]),
                    until=_aware(data["until"] + dt.timedelta(days=1)),
                )
            except ServiceError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Mining finished: the candidates are below."))
                return redirect("insights:run", pk=run.pk)
    else:
        form = MiningRunForm(user=request.user)
    runs = Paginator(selectors.visible_runs(request.user), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "insights/mining.html",
        {"form": form, "page_obj": runs},
        status=400 if form.errors else 200,
    )


@login_required
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_visible_or_404(selectors.visible_runs(request.user), request.user, pk=pk)
    return render(
        request,
        "insights/run.html",
        {
            "run": run,
            "candidates": run.candidates.order_by("rank"),
            "can_dispatch": scope_of(request.user).covers_path(run.area.path, "cases.dispatch"),
        },
    )


# --- topics ---------------------------------------------------------------------------------


@login_required
def topic_list(request: HttpRequest) -> HttpResponse:
    require(request, "cases.view")
    status = request.GET.get("status") or None
    if status and status not in TopicStatus.values:
        status = None
    topics = Paginator(selectors.topic_rows(request.user, status=status), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "insights/topic_list.html",
        {
            "page_obj": topics,
            "status": status,
            "statuses": TopicStatus.choices,
            "can_dispatch": scope_of(request.user).can("cases.dispatch"),
        },
    )


@login_required
def topic_new(request: HttpRequest) -> HttpResponse:
    """A new topic, from a candidate (?candidate=<id>) or by hand."""
    require(request, "cases.dispatch")
    candidate = None
    candidate_id = _int(request.GET.get("candidate") or request.POST.get("candidate"))
    if candidate_id is not None:
        candidate = get_visible_or_404(
            selectors.visible_candidates(request.user), request.user, pk=candidate_id
        )
    if request.method == "POST":
        form = TopicForm(request.POST, user=request.user)
        if form.is_valid():
            data = form.cleaned_data
            try:
                topic = services.create_topic(
                    actor=request.user,
                    title=data["title"],
                    description=data["description"],
                    owner_unit=data["owner_unit"],
                    area=data["area"],
                    period=data["period"],
                    candidate=candidate,
                    categories=data["categories"],
                    keywords=data["keywords"],
                )
            except ServiceError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("The topic is created."))
                return redirect("insights:topic", pk=topic.pk)
    else:
        initial = {"period": _next_month()}
        if candidate is not None:
            initial.update(
                title=candidate.description[:100],
                description=_("Found by topic mining: %(phrases)s; %(place)s; %(n)d cases.")
                % {
                    "phrases": "、".join(candidate.key_phrases),
                    "place": candidate.place or "—",
                    "n": candidate.size,
                },
                keywords=" ".join(candidate.key_phrases[:3]),
                area=candidate.run.area_id,
                categories=_candidate_categories(candidate),
            )
        form = TopicForm(initial=initial, user=request.user)
    return render(
        request,
        "insights/topic_form.html",
        {"form": form, "candidate": candidate},
        status=400 if form.errors else 200,
    )


def _next_month() -> dt.date:
    from civicgrid.core import clock

    today = clock.today()
    return (today.replace(day=1) + dt.timedelta(days=32)).replace(day=1)


def _candidate_categories(candidate) -> list[int]:
    """The categories that hold at least a fifth of the candidate's cases."""
    from collections import Counter

    counts = Counter(
        candidate.cases.exclude(category__isnull=True).values_list("category_id", flat=True)
    )
    return [pk for pk, n in counts.items() if n * 5 >= candidate.size]


def _topic(request: HttpRequest, pk: int) -> Topic:
    return get_visible_or_404(
        Topic.objects.select_related("owner_unit", "area", "candidate"), request.user, pk=pk
    )


@login_required
def topic_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The topic: its month, owner and keywords, the before/after chart, tasks and cases."""
    topic = _topic(request, pk)
    progress = selectors.topic_progress(topic)
    can_edit = scope_of(request.user).covers_path(topic.area.path, "cases.dispatch")
    allowed = services.TOPIC_TRANSITIONS[topic.status]
    status_form = TopicStatusForm()
    status_form.fields["status"].choices = [c for c in TopicStatus.choices if c[0] in allowed]
    chart = {
        "months": [m.strftime("%Y-%m") for m in progress.months],
        "counts": progress.counts,
        "resolved": progress.resolved,
        "period": progress.period.strftime("%Y-%m"),
    }
    return render(
        request,
        "insights/topic_detail.html",
        {
            "topic": topic,
            "progress": progress,
            "change_pct": None if progress.change is None else f"{progress.change * 100:+.0f}%",
            "resolved_pct": (
                None if progress.resolved_share is None else f"{progress.resolved_share:.0%}"
            ),
            "chart": chart,
            "can_edit": can_edit,
            "status_form": status_form,
            "link_form": LinkCasesForm(),
            "tasks": selectors.visible_tasks(request.user, topic=topic),
            "cases": selectors.linked_cases(request.user, topic)[:200],
            "categories": topic.categories.all(),
        },
    )


@login_required
def topic_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change a topic's title, description, owner, month, categories and keywords."""
    topic = _topic(request, pk)
    if not scope_of(request.user).covers_path(topic.area.path, "cases.dispatch"):
        raise Http404
    if request.method == "POST":
        form = TopicForm(request.POST, user=request.user, with_area=False)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.update_topic(
                    topic,
                    actor=request.user,
                    title=data["title"],
                    description=data["description"],
                    owner_unit=data["owner_unit"],
                    period=data["period"],
                    categories=data["categories"],
                    keywords=data["keywords"],
                )
            except ServiceError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("The topic is saved."))
                return redirect("insights:topic", pk=topic.pk)
    else:
        form = TopicForm(
            initial={
                "title": topic.title,
                "description": topic.description,
                "owner_unit": topic.owner_unit_id,
                "period": topic.period,
                "categories": list(topic.categories.values_list("pk", flat=True)),
                "keywords": topic.keywords,
            },
            user=request.user,
            with_area=False,
        )
    return render(
        request,
        "insights/topic_form.html",
        {"form": form, "topic": topic},
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def topic_status(request: HttpRequest, pk: int) -> HttpResponse:
    topic = _topic(request, pk)
    form = TopicStatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose the new status."))
        return redirect("insights:topic", pk=topic.pk)
    try:
        services.change_topic_status(
            topic, form.cleaned_data["status"], actor=request.user, note=form.cleaned_data["note"]
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The topic's status is changed."))
    return redirect("insights:topic", pk=topic.pk)


@login_required
@require_POST
def topic_cases(request: HttpRequest, pk: int) -> HttpResponse:
    """Link cases by number, or unlink one (`unlink=<case id>`)."""
    topic = _topic(request, pk)
    unlink = _int(request.POST.get("unlink"))
    try:
        if unlink is not None:
            services.link_cases(topic, actor=request.user, unlink=[unlink])
            messages.success(request, _("The case is unlinked."))
        else:
            form = LinkCasesForm(request.POST)
            if not form.is_valid():
                messages.error(request, _("Give the numbers of the cases to link."))
                return redirect("insights:topic", pk=topic.pk)
            linked, _removed = services.link_cases(
                topic, actor=request.user, numbers=form.numbers_list()
            )
            messages.success(request, _("%(n)d cases linked.") % {"n": linked})
    except ServiceError as exc:
        messages.error(request, exc.message)
    return redirect("insights:topic", pk=topic.pk)


# --- proactive tasks ------------------------------------------------------------------------


@login_required
def task_new(request: HttpRequest) -> HttpResponse:
    """Spawn a proactive task from a topic (?topic=<id>) or a hotspot (?hotspot=...&area=...)."""
    require(request, "cases.dispatch")
    topic = None
    topic_id = _int(request.GET.get("topic") or request.POST.get("topic"))
    if topic_id is not None:
        topic = _topic(request, topic_id)
    if request.method == "POST":
        form = TaskForm(request.POST, user=request.user)
        if form.is_valid():
            data = form.cleaned_data
            try:
                task = services.spawn_task(
                    actor=request.user,
                    title=data["title"],
                    description=data["description"],
                    area=data["area"],
                    unit=data["unit"],
                    category=data["category"],
                    topic=topic,
                    hotspot=data["hotspot"],
                    kind=data["kind"],
                    urgency=data["urgency"],
                )
            except ServiceError as exc:
                add_service_errors(form, exc, {"source": "hotspot"})
            else:
                messages.success(
                    request, _("Task %(number)s is created.") % {"number": task.case.number}
                )
                if topic is not None:
                    return redirect("insights:topic", pk=topic.pk)
                return redirect("cases:detail", pk=task.case.pk)
    else:
        initial = {
            key: request.GET.get(key)
            for key in ("title", "hotspot", "category", "area")
            if request.GET.get(key)
        }
        if (
            "area" in initial
            and not Area.objects.visible_to(request.user).filter(pk=_int(initial["area"])).exists()
        ):
            initial.pop("area")
        if topic is not None:
            initial.setdefault("title", topic.title)
            initial.setdefault("unit", topic.owner_unit_id)
        form = TaskForm(initial=initial, user=request.user)
    return render(
        request,
        "insights/task_form.html",
        {"form": form, "topic": topic},
        status=400 if form.errors else 200,
    )
