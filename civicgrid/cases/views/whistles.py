"""吹哨报到: blow the whistle, follow the summonses, report in as the summoned unit."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from civicgrid.cases import selectors, services
from civicgrid.cases.choices import SummonsStatus
from civicgrid.cases.forms import WhistleForm
from civicgrid.cases.models import Summons, Whistle
from civicgrid.cases.views.common import add_service_errors, conflict_message, require
from civicgrid.core import clock
from civicgrid.core.errors import PermissionDeniedError, ServiceError
from civicgrid.core.scoping import scope_of


def visible_whistles(user):
    """Whistles of the user's areas, and those that summon one of the user's units."""
    scope = scope_of(user)
    ids = Whistle.objects.visible_to(user).values("pk")
    q = Q(pk__in=ids)
    if scope.unit_ids:
        q |= Q(summonses__unit__in=scope.unit_ids)
    return (
        Whistle.objects.filter(q)
        .distinct()
        .select_related("area", "case", "blown_by")
        .order_by("-blown_at")
    )


def summons_rows(whistle: Whistle, scope, now) -> list[dict]:
    rows = []
    for summons in whistle.summonses.select_related("unit", "reported_by").order_by("unit__code"):
        waiting = summons.reported_at is None
        absent = summons.status == SummonsStatus.ABSENT or (
            waiting and summons.due_at < now and whistle.closed_at is None
        )
        rows.append(
            {
                "summons": summons,
                "absent": absent,
                "late": summons.status == SummonsStatus.LATE,
                "mine": summons.unit_id in scope.unit_ids,
                "may_report": waiting
                and whistle.closed_at is None
                and summons.unit_id in scope.unit_ids,
            }
        )
    return rows


@login_required
def whistle_list(request: HttpRequest) -> HttpResponse:
    require(request, "cases.view")
    now = clock.now()
    scope = scope_of(request.user)
    whistles = list(visible_whistles(request.user)[:100])
    rows = [{"whistle": w, "summonses": summons_rows(w, scope, now)} for w in whistles]
    return render(
        request,
        "cases/whistle_list.html",
        {"rows": rows, "can_whistle": scope.can("cases.whistle")},
    )


@login_required
def whistle_new(request: HttpRequest) -> HttpResponse:
    """Summon departments to a site, optionally for a case (?case=<id>)."""
    require(request, "cases.whistle")
    case = None
    case_id = request.GET.get("case") or request.POST.get("case")
    if case_id:
        if not str(case_id).isdigit():
            raise Http404
        case = selectors.case_detail(request.user, int(case_id))
    if request.method == "POST":
        form = WhistleForm(request.POST, user=request.user)
        if form.is_valid():
            data = form.cleaned_data
            try:
                whistle = services.blow_whistle(
                    actor=request.user,
                    area=data["area"],
                    units=list(data["units"]),
                    reason=data["reason"],
                    case=case,
                    site=data["site"],
                    limit_minutes=data["limit_minutes"],
                )
            except services.ConflictError:
                form.add_error(None, conflict_message())
            except ServiceError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("The whistle is blown; the units are summoned."))
                return redirect("cases:whistle", pk=whistle.pk)
    else:
        initial = {}
        if case is not None:
            initial = {"area": case.grid_id, "site": case.address, "reason": case.title}
        form = WhistleForm(initial=initial, user=request.user)
    return render(
        request,
        "cases/whistle_new.html",
        {"form": form, "case": case},
        status=400 if form.errors else 200,
    )


@login_required
def whistle_detail(request: HttpRequest, pk: int) -> HttpResponse:
    whistle = get_object_or_404(visible_whistles(request.user), pk=pk)
    scope = scope_of(request.user)
    return render(
        request,
        "cases/whistle_detail.html",
        {
            "whistle": whistle,
            "summonses": summons_rows(whistle, scope, clock.now()),
            "can_close": scope.can("cases.whistle") and whistle.closed_at is None,
        },
    )


@login_required
@require_POST
def report_in(request: HttpRequest, pk: int) -> HttpResponse:
    """报到 for my unit."""
    summons = get_object_or_404(Summons.objects.select_related("whistle"), pk=pk)
    get_object_or_404(visible_whistles(request.user), pk=summons.whistle_id)
    try:
        services.report_in(summons, actor=request.user)
    except PermissionDeniedError as exc:
        raise PermissionDenied(exc.message) from None
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Reported in."))
    return redirect("cases:whistle", pk=summons.whistle_id)


@login_required
@require_POST
def whistle_close(request: HttpRequest, pk: int) -> HttpResponse:
    whistle = get_object_or_404(visible_whistles(request.user), pk=pk)
    try:
        services.close_whistle(whistle, actor=request.user)
    except PermissionDeniedError as exc:
        raise PermissionDenied(exc.message) from None
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The whistle is closed."))
    return redirect("cases:whistle", pk=whistle.pk)
