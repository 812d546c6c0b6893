"""Taking cases in: the hotline form, the grid worker's patrol form, and the lookups they use
(category search, building addresses, where a point lies), then the page that follows intake
with the duplicate candidates and the routing suggestion."""

from __future__ import annotations

import uuid

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET

from civicgrid.areas import locator
from civicgrid.areas.choices import GridLayer
from civicgrid.areas.views import geojson_url, platform_extent
from civicgrid.cases import catalogue, duplicates, intake, routing, selectors
from civicgrid.cases.choices import Channel, Kind
from civicgrid.cases.forms import DispatchForm, IntakeForm, PatrolForm
from civicgrid.cases.models import Case, Category
from civicgrid.cases.views.actions import offered_actions
from civicgrid.cases.views.common import add_service_errors, require
from civicgrid.core.errors import ServiceError
from civicgrid.core.scoping import scope_of
from civicgrid.registry.models import Building

SUGGESTIONS = 8


def _token(request: HttpRequest) -> str:
    """The form's idempotency token: a double click or a resent form makes one case."""
    token = request.POST.get("token", "")
    return token if len(token) == 32 and token.isalnum() else uuid.uuid4().hex


def receive(request: HttpRequest, form, *, channel: str, reporter=None) -> Case | None:
    """Call intake.receive_case with a valid form; on refusal the errors go on the form."""
    data = form.cleaned_data
    try:
        return intake.receive_case(
            actor=request.user if request.user.is_authenticated else None,
            channel=channel,
            kind=data["kind"],
            title=data["title"],
            description=data["description"],
            category=data.get("category"),
            lat=data.get("lat"),
            lon=data.get("lon"),
            address=data.get("address", ""),
            reporter_name=data.get("reporter_name", ""),
            reporter_phone=data.get("reporter_phone", ""),
            anonymous=data.get("anonymous", False),
            urgency=data.get("urgency", "normal"),
            attachments=data.get("photos", []),
            idempotency_key=f"ui-{_token(request)}",
            reporter=reporter,
        )
    except ServiceError as exc:
        add_service_errors(form, exc)
        return None


def category_label(form) -> str:
    """The path of the category already chosen on a form sent back with errors."""
    value = form["category"].value()
    category = Category.objects.filter(pk=value).first() if str(value or "").isdigit() else None
    return catalogue.category_path(category) if category else ""


def map_context(user) -> dict:
    can_view = scope_of(user).can("areas.view")
    return {
        "geojson_url": geojson_url(None, GridLayer.SERVICE) if can_view else "",
        "map_bounds": "" if can_view else platform_extent(),
    }


@login_required
def intake_form(request: HttpRequest) -> HttpResponse:
    """The hotline operator's form. Tab order follows the call: what, where, who."""
    require(request, "cases.intake")
    if request.method == "POST":
        form = IntakeForm(request.POST, request.FILES)
        if form.is_valid():
            case = receive(request, form, channel=form.cleaned_data["channel"])
            if case is not None:
                return redirect("cases:received", pk=case.pk)
    else:
        form = IntakeForm()
    form.fields["address"].widget.attrs.update(
        {
            "hx-get": reverse("cases:addresses"),
            "hx-trigger": "input changed delay:250ms",
            "hx-target": "#address-results",
            "hx-sync": "this:replace",
        }
    )
    return render(
        request,
        "cases/intake.html",
        {
            "form": form,
            "token": _token(request),
            "locate_url": reverse("cases:locate"),
            "category_url": reverse("cases:categories"),
            "category_label": category_label(form),
            **map_context(request.user),
        },
        status=400 if form.errors else 200,
    )


@login_required
def patrol_form(request: HttpRequest) -> HttpResponse:
    """A grid worker's report from patrol, laid out for a phone; GPS fills the point."""
    require(request, "cases.intake")
    if request.method == "POST":
        form = PatrolForm(request.POST, request.FILES)
        if form.is_valid():
            form.cleaned_data["kind"] = Kind.REPORT
            case = receive(request, form, channel=Channel.PATROL)
            if case is not None:
                return redirect("cases:received", pk=case.pk)
    else:
        form = PatrolForm()
    return render(
        request,
        "cases/patrol.html",
        {
            "form": form,
            "token": _token(request),
            "locate_url": reverse("cases:locate"),
            "category_url": reverse("cases:categories"),
            "category_label": category_label(form),
            **map_context(request.user),
        },
        status=400 if form.errors else 200,
    )


@login_required
def received(request: HttpRequest, pk: int) -> HttpResponse:
    """What intake found: the number, where it lies, possible duplicates (merge one into
    another) and the unit the dispatch catalogue suggests."""
    case = selectors.case_detail(request.user, pk)
    scope = scope_of(request.user)
    found = duplicates.find_candidates(
        lat=case.lat,
        lon=case.lon,
        text=f"{case.title} {case.description}",
        category=case.category,
        exclude=case,
        received_at=case.received_at,
    )
    visible = set(
        Case.objects.visible_to(request.user)
        .filter(pk__in=[c.case.pk for c in found])
        .values_list("pk", flat=True)
    )
    route = routing.route(case.category, case.grid)
    dispatch_form = None
    offered = offered_actions(case, scope)
    if "dispatch" in offered:
        dispatch_form = DispatchForm(
            initial={"version": case.version, "unit": route.unit}, prefix="dispatch"
        )
    return render(
        request,
        "cases/received.html",
        {
            "case": case,
            "candidates": [c for c in found if c.case.pk in visible],
            "route": route,
            "dispatch_form": dispatch_form,
            "can_merge": "merge" in offered,
        },
    )


# --- lookups (htmx fragments) ----------------------------------------------------------------


def category_results(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "")[:50]
    rows = [
        {"category": c, "path": catalogue.category_path(c)}
        for c in catalogue.search_categories(q, limit=SUGGESTIONS)
    ]
    return render(request, "cases/_category_results.html", {"rows": rows, "q": q})


@login_required
@require_GET
def categories(request: HttpRequest) -> HttpResponse:
    """Categories matching the typed text: name, keyword, code, pinyin or its initials."""
    return category_results(request)


@login_required
@require_GET
def addresses(request: HttpRequest) -> HttpResponse:
    """Building addresses in the user's scope containing the typed text."""
    q = " ".join(request.GET.get("address", "").split())[:100]
    buildings = []
    if len(q) >= 2:
        buildings = list(
            Building.objects.visible_to(request.user)
            .filter(address__icontains=q)
            .select_related("grid")[:SUGGESTIONS]
        )
    return render(request, "cases/_address_results.html", {"buildings": buildings, "q": q})


def where_panel(request: HttpRequest) -> HttpResponse:
    """grid → community → street of a point, names only (public facts)."""
    try:
        lat = float(request.GET["lat"])
        lon = float(request.GET["lon"])
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise ValueError
    except (KeyError, ValueError):
        return render(request, "cases/_where.html", {"invalid": True})
    location = locator.locate(lat, lon)
    chain = [ref for ref in location.chain if ref.level in ("grid", "community", "street")]
    return render(
        request,
        "cases/_where.html",
        {"location": location, "chain": chain, "point": (lat, lon)},
    )


@login_required
@require_GET
def locate(request: HttpRequest) -> HttpResponse:
    return where_panel(request)
