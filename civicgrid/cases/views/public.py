"""Pages for residents without an account: submit a request, track it by number and phone,
rate the result; and the public board (三务公开). Nothing here shows personal data."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from civicgrid.areas.choices import Level
from civicgrid.areas.models import Area
from civicgrid.areas.views import platform_extent
from civicgrid.cases import selectors, services
from civicgrid.cases.choices import CallbackMethod, Channel, State
from civicgrid.cases.forms import PublicReportForm, RateForm, TrackForm, active_categories
from civicgrid.cases.views.common import conflict_message
from civicgrid.cases.views.intake import (
    _token,
    category_label,
    category_results,
    receive,
    where_panel,
)
from civicgrid.core.errors import ServiceError

SESSION_KEY = "cases_public_submitted"
BOARD_SIZE = 30


@require_GET
def categories(request: HttpRequest) -> HttpResponse:
    return category_results(request)


@require_GET
def locate(request: HttpRequest) -> HttpResponse:
    return where_panel(request)


def report(request: HttpRequest) -> HttpResponse:
    """A resident's request: what, where (map pin), photos, a phone to track it with."""
    if request.method == "POST":
        form = PublicReportForm(request.POST, request.FILES)
        if form.is_valid():
            case = receive(request, form, channel=Channel.WEB)
            if case is not None:
                # The confirmation page shows the number once, to the browser that sent it.
                request.session[SESSION_KEY] = case.number
                return redirect("public:submitted")
    else:
        form = PublicReportForm()
    return render(
        request,
        "cases/public_report.html",
        {
            "form": form,
            "token": _token(request),
            "locate_url": reverse("public:locate"),
            "category_url": reverse("public:categories"),
            "category_label": category_label(form),
            "map_bounds": platform_extent(),
        },
        status=400 if form.errors else 200,
    )


def submitted(request: HttpRequest) -> HttpResponse:
    number = request.session.get(SESSION_KEY)
    if not number:
        return redirect("public:report")
    return render(request, "cases/public_submitted.html", {"number": number})


def _tracked(form: TrackForm):
    try:
        return selectors.track_case(form.cleaned_data["number"], form.cleaned_data["phone"])
    except Http404:
        form.add_error(None, _("No request matches this number and phone."))
        return None


def _track_page(request, form, case=None, rate_form=None, status=200) -> HttpResponse:
    context = {"form": form, "case": case}
    if case is not None:
        context["steps"] = selectors.public_timeline(case)
        context["may_rate"] = case.state == State.RESOLVED
        context["rate_form"] = rate_form or RateForm()
    return render(request, "cases/public_track.html", context, status=status)


def track(request: HttpRequest) -> HttpResponse:
    """Follow a request by its number and the phone given with it (no staff names)."""
    form = TrackForm(request.GET or None)
    case = _tracked(form) if form.is_bound and form.is_valid() else None
    return _track_page(request, form, case)


@require_POST
def rate(request: HttpRequest) -> HttpResponse:
    """The resident's own callback on a resolved request."""
    form = TrackForm(request.POST)
    case = _tracked(form) if form.is_valid() else None
    if case is None:
        return _track_page(request, form, status=404)
    rate_form = RateForm(request.POST)
    if rate_form.is_valid():
        data = rate_form.cleaned_data
        # The number and phone prove it is the reporter; the callback is recorded on their
        # behalf by the system (actor None) unless they are signed in as the reporter.
        signed_in = request.user.is_authenticated and case.reporter_id == request.user.pk
        actor = request.user if signed_in else None
        try:
            services.record_callback(
                case,
                actor=actor,
                method=CallbackMethod.WEB,
                contacted=data["contacted"],
                solved=data["solved"],
                satisfaction=data["satisfaction"],
                note=data["note"],
            )
        except services.ConflictError:
            rate_form.add_error(None, conflict_message())
        except ServiceError as exc:
            rate_form.add_error(None, exc.message)
        else:
            messages.success(request, _("Thank you. Your rating is recorded."))
            query = f"?number={case.number}&phone={form.cleaned_data['phone']}"
            return redirect(reverse("public:track") + query)
    return _track_page(request, form, case, rate_form, status=400)


class BoardFilterForm(forms.Form):
    area = forms.ModelChoiceField(
        label=gettext_lazy("Street or community"),
        queryset=Area.objects.none(),
        required=False,
        empty_label=gettext_lazy("All"),
    )
    category = forms.ModelChoiceField(
        label=gettext_lazy("Category"),
        queryset=active_categories().filter(level=1),
        required=False,
        empty_label=gettext_lazy("All categories"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["area"].queryset = (
            Area.objects.current()
            .filter(level__in=[Level.STREET, Level.COMMUNITY])
            .order_by("path")
        )
        self.fields["category"].queryset = active_categories().filter(level=1)


def board(request: HttpRequest) -> HttpResponse:
    """三务公开: what was asked for and done, where and how fast; no personal data."""
    form = BoardFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    cases = selectors.public_board(area=data.get("area"), category=data.get("category"))
    page_obj = Paginator(cases, BOARD_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "cases/public_board.html",
        {"form": form, "page_obj": page_obj, "rows": selectors.board_rows(page_obj.object_list)},
    )
