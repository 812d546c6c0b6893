"""Core pages: log in and out, the home page of each role, the audit log."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from civicgrid.areas.choices import GridLayer, Level
from civicgrid.areas.models import Area
from civicgrid.areas.selectors import area_tree, children_of
from civicgrid.areas.views import children_rows, geojson_url, platform_extent
from civicgrid.cases.selectors import home_case_counts
from civicgrid.core.errors import ServiceError
from civicgrid.core.exports import export_audit_xlsx, xlsx_response
from civicgrid.core.forms import AuditFilterForm
from civicgrid.core.models import AuditEntry
from civicgrid.core.scoping import scope_of
from civicgrid.registry.coverage import coverage_report

AUDIT_PAGE_SIZE = 50


HOME_ROOTS = 10  # an administrator's home lists at most this many top areas


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """What each role needs first, decided by capabilities and the level of the scope:
    a grid worker sees their grids and gaps, a community worker the community's coverage and
    the import link, street and district officers their areas below with counts, an auditor
    the latest audit entries, a resident (no area view) the grid finder; whoever sees cases
    the case counts of their scope (open, near due, overdue, returned, awaiting acceptance)."""
    user = request.user
    scope = scope_of(user)
    sections = []
    if scope.can("areas.view"):
        nodes = area_tree(user, max_depth=0)[:HOME_ROOTS]
        areas = Area.objects.visible_to(user).in_bulk([n["id"] for n in nodes])
        for node in nodes:
            area = areas[node["id"]]
            report = None
            if scope.can("registry.view"):
                report = coverage_report(user, area)
            kids = list(children_of(user, area)) if area.level != Level.GRID else []
            sections.append(
                {"area": area, "report": report, "children": children_rows(kids, report)}
            )
    recent_audit = []
    if scope.can("audit.view"):
        recent_audit = AuditEntry.objects.visible_to(user).select_related("actor")[:10]
    can_view_areas = scope.can("areas.view")
    case_counts = None
    if scope.can("cases.view"):
        case_counts = home_case_counts(user)
    return render(
        request,
        "core/home.html",
        {
            "sections": sections,
            "recent_audit": recent_audit,
            "case_counts": case_counts,
            # Residents, hotline operators and departments locate addresses and points first.
            "show_finder": not scope.can("registry.view"),
            "finder_geojson_url": geojson_url(None, GridLayer.SERVICE) if can_view_areas else "",
            "map_bounds": "" if can_view_areas else platform_extent(),
        },
    )


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    pass


def _audit_results(request: HttpRequest):
    entries = AuditEntry.objects.visible_to(request.user).select_related("actor")
    form = AuditFilterForm(request.GET or None)
    if form.is_bound and form.is_valid():
        entries = form.filter(entries)
    elif form.is_bound:
        entries = entries.none()
    return form, entries


def _audit_page(request: HttpRequest, form, entries, *, error: str = "", status: int = 200):
    page_obj = Paginator(entries, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "core/audit_log.html",
        {"form": form, "page_obj": page_obj, "export_error": error},
        status=status,
    )


@login_required
def audit_log(request: HttpRequest) -> HttpResponse:
    """Audit entries of the auditor's subtree, filtered and paginated."""
    if not scope_of(request.user).can("audit.view"):
        raise Http404
    form, entries = _audit_results(request)
    return _audit_page(request, form, entries)


@login_required
def audit_export(request: HttpRequest) -> HttpResponse:
    """The audit log search (same filters as the page) as Excel; audited as EXPORT."""
    if not scope_of(request.user).can("audit.view"):
        raise PermissionDenied
    form, entries = _audit_results(request)
    if form.is_bound and not form.is_valid():
        return _audit_page(request, form, entries, status=400)
    filters = {k: str(v) for k, v in (form.cleaned_data if form.is_bound else {}).items() if v}
    try:
        content = export_audit_xlsx(request.user, entries, filters=filters)
    except ServiceError as exc:
        return _audit_page(request, form, entries, error=exc.message, status=400)
    return xlsx_response(content, "audit-log.xlsx")
