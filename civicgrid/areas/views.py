"""Area pages: the tree with its map, area and grid detail, the locate panel, grid GeoJSON."""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Max, Min, Q
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from civicgrid.areas import locator, selectors
from civicgrid.areas.choices import Level
from civicgrid.areas.forms import (
    AreaChangeForm,
    AreaEditForm,
    LayerForm,
    LocateForm,
    MergeForm,
    ReparentForm,
    RetireForm,
    SplitForm,
)
from civicgrid.areas.models import Area
from civicgrid.areas.validation import sibling_report
from civicgrid.core.errors import PermissionDeniedError, ServiceError
from civicgrid.core.forms import add_service_errors
from civicgrid.core.htmx import is_htmx, redirect_to
from civicgrid.core.masking import mask_name
from civicgrid.core.scoping import get_visible_or_404, scope_of
from civicgrid.registry.coverage import coverage_report
from civicgrid.registry.forms import StaffForm
from civicgrid.registry.models import (
    Building,
    Facility,
    GridAssignment,
    Household,
    Organization,
    Place,
    Resident,
)


def platform_extent() -> str:
    """ "min_lat,min_lon,max_lat,max_lon" of the top-level areas, or "" without boundaries.

    Roles without areas.view get no grid vectors; the finder map still opens over the town
    (an outline box of the whole platform reveals nothing about anyone's records).
    """
    box = (
        Area.objects.current()
        .filter(parent__isnull=True, min_lon__isnull=False)
        .aggregate(
            min_lat=Min("min_lat"),
            min_lon=Min("min_lon"),
            max_lat=Max("max_lat"),
            max_lon=Max("max_lon"),
        )
    )
    if box["min_lat"] is None:
        return ""
    return ",".join(f"{box[k]:.6f}" for k in ("min_lat", "min_lon", "max_lat", "max_lon"))


def scope_roots(user) -> list[dict]:
    """The top areas of the user's scope (tree nodes without their children)."""
    return selectors.area_tree(user, max_depth=0)


@login_required
@require_GET
def tree(request: HttpRequest) -> HttpResponse:
    """The area tree (children load lazily) beside the grid map with its locate panel.

    Roles without areas.view (residents) get the map and the address search only.
    """
    scope = scope_of(request.user)
    can_view = scope.can("areas.view")
    layer_form = LayerForm(request.GET or None)
    layer = layer_form.layer_or_default()
    return render(
        request,
        "areas/tree.html",
        {
            "can_view_areas": can_view,
            "roots": scope_roots(request.user) if can_view else [],
            "layer_form": layer_form,
            "layer": layer,
            "geojson_url": geojson_url(None, layer) if can_view else "",
            "map_bounds": "" if can_view else platform_extent(),
        },
    )


@login_required
@require_GET
def children(request: HttpRequest, pk: int) -> HttpResponse:
    """The tree nodes under one area (an htmx fragment)."""
    area = get_visible_or_404(Area.objects.current(), request.user, pk=pk)
    nodes = selectors.children_of(request.user, area).annotate(
        child_count=Count("children", filter=Q(children__valid_to__isnull=True))
    )
    return render(request, "areas/_tree_nodes.html", {"nodes": nodes})


def geojson_url(area: Area | None, layer: str, *, all_grids: bool = False) -> str:
    query = urlencode({"layer": layer, **({"all": "1"} if all_grids else {})})
    if area is None:
        return f"{reverse('areas:grids_geojson')}?{query}"
    return f"{reverse('areas:area_grids_geojson', args=[area.pk])}?{query}"


@login_required
@require_GET
def grids_geojson(request: HttpRequest, pk: int | None = None) -> JsonResponse:
    """Boundaries as a GeoJSON FeatureCollection, from areas.selectors.grids_geojson.

    With `pk`: the areas one level under it, or with `all=1` every grid of the layer under
    it (a grid's own page asks for itself this way). Without `pk`: every grid of the layer
    in the user's scope.
    """
    layer = LayerForm(request.GET).layer_or_default()
    if pk is not None:
        parent = get_visible_or_404(Area.objects.all(), request.user, pk=pk)
        data = selectors.grids_geojson(
            request.user, parent, layer, all_grids=request.GET.get("all") == "1"
        )
        return JsonResponse(data, content_type="application/geo+json")
    roots = Area.objects.visible_to(request.user).filter(
        id__in=[node["id"] for node in scope_roots(request.user)]
    )
    features: list = []
    for root in roots.order_by("code"):
        features += selectors.grids_geojson(request.user, root, layer, all_grids=True)["features"]
    return JsonResponse(
        {"type": "FeatureCollection", "features": features}, content_type="application/geo+json"
    )


@login_required
@require_GET
def locate(request: HttpRequest) -> HttpResponse:
    """The locate panel: which grid, community, street and district a point or address is in.

    The chain names are shown to anyone signed in (a resident finds their grid this way);
    only areas inside the user's scope are links.
    """
    form = LocateForm(request.GET)
    context: dict = {"form": form}
    if form.is_valid():
        data = form.cleaned_data
        if form.has_point:
            location = locator.locate(data["lat"], data["lon"], layer=data["layer"])
            context["point"] = (data["lat"], data["lon"])
        else:
            location = locator.locate_address(data["address"], layer=data["layer"])
        openable = set(
            Area.objects.visible_to(request.user)
            .filter(id__in=[ref.id for ref in location.chain])
            .values_list("id", flat=True)
        )
        context["location"] = location
        context["chain"] = [
            {
                "id": ref.id,
                "code": ref.code,
                "name": ref.name,
                "level": ref.level,
                "visible": ref.id in openable,
            }
            for ref in location.chain
        ]
    return render(request, "areas/_locate_panel.html", context)


@login_required
@require_GET
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One area: its chain, children, staff, buildings, registry counts and sibling check;
    for district officers the forms that change it; for a retired area what still points
    at it."""
    area = get_visible_or_404(
        Area.objects.select_related("parent", "successor"), request.user, pk=pk
    )
    return render_area_detail(request, area)


def render_area_detail(
    request: HttpRequest,
    area: Area,
    *,
    bound: AreaChangeForm | None = None,
    staff_form: StaffForm | None = None,
    status: int = 200,
) -> HttpResponse:
    """The area page; `bound` (a change form) or `staff_form` with errors replaces the
    empty form of its kind, for a post without htmx that must show them."""
    user = request.user
    scope = scope_of(user)
    layer = LayerForm(request.GET).layer_or_default()
    kids = list(selectors.children_of(user, area))
    report = None
    if scope.can("registry.view"):
        try:
            report = coverage_report(user, area)
        except (Http404, PermissionDeniedError):
            report = None
    context = {
        "area": area,
        "layer": layer,
        "children": children_rows(kids, report),
        "report": report,
        "siblings": sibling_report(area, layer) if kids else None,
        "geojson_url": geojson_url(area, layer, all_grids=area.level == Level.GRID),
        "is_grid": area.level == Level.GRID,
        "history": selectors.history_of(area)[:20],
        "changes": change_panels(request, area, bound),
        "leftovers": leftovers(user, area) if not area.is_current else [],
    }
    if area.level == Level.GRID:
        context.update(staff_context(request, area, staff_form))
        context["buildings"] = Building.objects.visible_to(user).filter(grid=area)[:200]
        context["building_count"] = Building.objects.visible_to(user).filter(grid=area).count()
    return render(request, "areas/detail.html", context, status=status)


def staff_context(request: HttpRequest, grid: Area, form: StaffForm | None = None) -> dict:
    """The grid's postings, and the posting form for roles with staff.assign (postings of a
    retired grid can still be ended, not made)."""
    user = request.user
    can_remove = scope_of(user).can("staff.assign")
    can_assign = can_remove and grid.is_current
    return {
        "grid": grid,
        "staff": GridAssignment.objects.visible_to(user)
        .filter(grid=grid)
        .select_related("worker")
        .order_by("post", "worker__username"),
        "can_remove_staff": can_remove,
        "staff_form": (form or StaffForm(grid=grid, user=user)) if can_assign else None,
    }


# --- changes of an area (areas.edit) --------------------------------------------------------


@dataclass(frozen=True)
class ChangeSpec:
    form_class: type[AreaChangeForm]
    title: str
    submit: str
    multipart: bool = False
    danger: bool = False


CHANGE_FORMS: dict[str, ChangeSpec] = {
    "edit": ChangeSpec(
        AreaEditForm, gettext_lazy("Rename or change priority"), gettext_lazy("Save")
    ),
    "move": ChangeSpec(
        ReparentForm, gettext_lazy("Move under another parent"), gettext_lazy("Move")
    ),
    "merge": ChangeSpec(
        MergeForm, gettext_lazy("Merge with sibling areas"), gettext_lazy("Merge"), danger=True
    ),
    "split": ChangeSpec(
        SplitForm,
        gettext_lazy("Split into parts"),
        gettext_lazy("Split"),
        multipart=True,
        danger=True,
    ),
    "retire": ChangeSpec(RetireForm, gettext_lazy("Retire"), gettext_lazy("Retire"), danger=True),
}


@dataclass
class ChangePanel:
    """One change form as the area page shows it (a collapsible card)."""

    kind: str
    spec: ChangeSpec
    form: AreaChangeForm
    url: str


def _offers(area: Area, kind: str) -> bool:
    """Which changes make sense for this area at all (the services check the rest)."""
    if kind == "move":
        return area.parent_id is not None
    if kind == "split":
        return area.geometry is not None
    return True


def change_panels(
    request: HttpRequest, area: Area, bound: AreaChangeForm | None = None
) -> list[ChangePanel]:
    """The change forms of a current area, for roles with areas.edit (none for others)."""
    if not area.is_current or not scope_of(request.user).can("areas.edit"):
        return []
    panels = []
    for kind, spec in CHANGE_FORMS.items():
        if not _offers(area, kind):
            continue
        form = (
            bound
            if type(bound) is spec.form_class
            else spec.form_class(area=area, user=request.user)
        )
        if kind == "merge" and not form.fields["others"].queryset.exists():
            continue
        panels.append(ChangePanel(kind, spec, form, reverse("areas:change", args=[area.pk, kind])))
    return panels


@login_required
@require_POST
def change(request: HttpRequest, pk: int, kind: str) -> HttpResponse:
    """Apply one change form through its service. With htmx, errors come back as the form's
    panel (swapped in place) and success as a redirect to the resulting area."""
    if kind not in CHANGE_FORMS:
        raise Http404
    area = get_visible_or_404(
        Area.objects.select_related("parent", "successor"), request.user, pk=pk
    )
    if not scope_of(request.user).can("areas.edit"):
        raise PermissionDenied(_("Your role may not change areas."))
    spec = CHANGE_FORMS[kind]
    form = spec.form_class(request.POST, request.FILES, area=area, user=request.user)
    if form.is_valid():
        try:
            result = form.apply()
        except ServiceError as exc:
            add_service_errors(form, exc, form.aliases)
        else:
            messages.success(request, _("The change was recorded."))
            return redirect_to(request, reverse("areas:detail", args=[result.pk]))
    if is_htmx(request):
        panel = ChangePanel(kind, spec, form, request.path)
        return render(request, "areas/_change_form.html", {"change": panel})
    return render_area_detail(request, area, bound=form, status=400)


# What still points at a retired area (a split leaves what it cannot place; a person moves it).
LEFTOVER_LIMIT = 20


def leftovers(user, area: Area) -> list[dict]:
    """Registry rows and role assignments still on a retired area, each kind with its count
    and the first LEFTOVER_LIMIT (residents masked). Role assignments only for areas.edit."""
    kinds = [
        (_("Buildings"), Building.objects.filter(grid=area), str, None),
        (_("Households"), Household.objects.filter(area=area), str, "registry:household_detail"),
        (
            _("Residents"),
            Resident.objects.filter(area=area),
            lambda r: mask_name(r.name),
            "registry:resident_detail",
        ),
        (_("Places"), Place.objects.filter(grid=area), str, None),
        (_("Facilities"), Facility.objects.filter(grid=area), str, None),
        (_("Organisations"), Organization.objects.filter(area=area), str, None),
        (_("Grid staff"), GridAssignment.objects.filter(grid=area), str, None),
    ]
    groups = []
    for title, rows, label, link in kinds:
        visible = rows.visible_to(user)
        count = visible.count()
        if count:
            items = [
                {"label": label(row), "url": reverse(link, args=[row.pk]) if link else ""}
                for row in visible[:LEFTOVER_LIMIT]
            ]
            groups.append({"title": title, "count": count, "items": items})
    if scope_of(user).can("areas.edit"):
        roles = apps.get_model("accounts", "RoleAssignment").objects.filter(area=area)
        count = roles.count()
        if count:
            items = [
                {"label": str(ra), "url": ""}
                for ra in roles.select_related("user", "area").order_by("pk")[:LEFTOVER_LIMIT]
            ]
            groups.append({"title": _("Role assignments"), "count": count, "items": items})
    return groups


def children_rows(kids: list[Area], report) -> list[dict]:
    """Each child with its households, residents and grid counts from the coverage report."""
    if report is None:
        return [{"area": kid} for kid in kids]
    # One prefix query for the grids' paths (an id list could pass SQLite's variable limit).
    paths = dict(
        Area.objects.current()
        .filter(path__startswith=report.area.path, level=Level.GRID)
        .values_list("id", "path")
    )
    rows = []
    for kid in kids:
        under = [g for g in report.grids if paths.get(g.id, "").startswith(kid.path)]
        rows.append(
            {
                "area": kid,
                "grids": len(under),
                "households": sum(g.households for g in under),
                "residents": sum(g.residents for g in under),
                "unstaffed": sum(1 for g in under if g.staff == 0),
            }
        )
    return rows
