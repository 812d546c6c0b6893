"""The dashboard page and the JSON its charts read (the same figures as the API)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from civicgrid.dashboards import selectors
from civicgrid.dashboards.forms import DashboardForm


def _require_view(request: HttpRequest) -> None:
    # A page the role has no use for does not exist for it (like a hidden object).
    if not selectors.can_view(request.user):
        raise Http404


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    """The charts of the caller's scope for a period; they load their figures from `data`."""
    _require_view(request)
    form = DashboardForm(request.GET, user=request.user)
    context = {"form": form, "data_url": "", "period": None, "area": None}
    if form.is_valid():
        # An area outside the scope is a 404 here already, not an empty dashboard.
        context["period"], context["area"] = form.resolved()
        context["data_url"] = f"{reverse('dashboards:data')}?{request.GET.urlencode()}"
        context["labels"] = labels()
    return render(request, "dashboards/dashboard.html", context)


def labels() -> dict[str, str]:
    """The words the charts write (in the request's language)."""
    return {
        "received": _("Cases received"),
        "resolved": _("Resolved"),
        "open": _("Open now"),
        "on_time_open": _("Open, on time"),
        "near_due": _("Near due"),
        "overdue": _("Overdue"),
        "vs_previous": _("on the previous period"),
        "response_on_time": _("Responded on time"),
        "resolved_on_time": _("Resolved on time"),
        "period": _("Period"),
        "label": _("Item"),
        "cases": _("Cases"),
        "rate": _("Rate"),
        "value": _("Value"),
        "numerator": _("Numerator"),
        "denominator": _("Denominator"),
        "on_time": _("On time"),
        "late": _("Late"),
        "due": _("Due"),
        "grid": _("Grid"),
        "overdue_share": _("Share overdue"),
        "legend": _("Scale"),
        "preset": _("Rates by the scorecard rules"),
        "none": _("Nothing in this period."),
    }


@login_required
@require_GET
def data(request: HttpRequest) -> JsonResponse:
    """Every figure of the dashboard as JSON (what the charts draw); 422 with the field errors
    on bad input."""
    _require_view(request)
    form = DashboardForm(request.GET, user=request.user)
    if not form.is_valid():
        return JsonResponse(
            {
                "detail": "invalid input",
                "errors": [
                    {"field": field, "message": str(message)}
                    for field, messages in form.errors.items()
                    for message in messages
                ],
            },
            status=422,
        )
    per, area = form.resolved()
    return JsonResponse(selectors.summary(request.user, per, area=area))


@login_required
@require_GET
def insight(request: HttpRequest) -> HttpResponse:
    """The hotspots and topics panel (an htmx fragment, loaded after the charts)."""
    _require_view(request)
    form = DashboardForm(request.GET, user=request.user)
    if not form.is_valid():
        return render(request, "dashboards/_insight.html", {"form": form, "insight": None})
    per, area = form.resolved()
    return render(
        request,
        "dashboards/_insight.html",
        {"insight": selectors.insight(request.user, per, area=area)},
    )
