"""Configuration pages (/cases/config/): the category tree, units, the dispatch catalogue,
time-limit policies and calendar overrides. Only roles with `cases.configure` see them (a 404
for everybody else); every write goes through `cases.catalogue`."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import Count, Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from civicgrid.accounts.choices import UnitKind
from civicgrid.accounts.models import Unit
from civicgrid.areas.choices import Level
from civicgrid.areas.models import Area
from civicgrid.cases import catalogue
from civicgrid.cases.models import CalendarDay, Category, SlaPolicy, SlaRule, Taxonomy
from civicgrid.core.errors import ServiceError
from civicgrid.core.scoping import scope_of

MAX_UPLOAD_BYTES = 2 * 1024 * 1024


def _require(request: HttpRequest) -> None:
    # A page the role has no use for does not exist for it (like a hidden object).
    if not scope_of(request.user).can("cases.configure"):
        raise Http404


def _service_errors(form: forms.Form, exc: ServiceError) -> None:
    for name, message in (exc.errors or {exc.field: exc.message}).items():
        form.add_error(name if name in form.fields else None, message)


# --- categories ------------------------------------------------------------------------------


class ImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("File"),
        help_text=gettext_lazy("CSV (UTF-8 or GBK) or the JSON tree; at most 2 MB."),
    )
    version = forms.CharField(label=gettext_lazy("Taxonomy version"), max_length=32)
    name = forms.CharField(
        label=gettext_lazy("Taxonomy name"),
        max_length=100,
        required=False,
        help_text=gettext_lazy("For a new taxonomy; an existing version gets the rows added."),
    )


def _tree(taxonomy: Taxonomy | None) -> list[Category]:
    if taxonomy is None:
        return []
    rows = list(taxonomy.categories.annotate(rule_count=Count("rules")).order_by("level", "code"))
    children: dict[int | None, list[Category]] = {}
    for row in rows:
        children.setdefault(row.parent_id, []).append(row)
    for row in rows:
        row.kids = children.get(row.pk, [])
    return children.get(None, [])


@login_required
def categories(request: HttpRequest) -> HttpResponse:
    _require(request)
    taxonomies = list(Taxonomy.objects.annotate(size=Count("categories")))
    chosen = request.GET.get("taxonomy")
    taxonomy = next((t for t in taxonomies if str(t.pk) == chosen), None) or next(
        (t for t in taxonomies if t.is_active), taxonomies[0] if taxonomies else None
    )
    q = request.GET.get("q", "").strip()
    results = catalogue.search_categories(q, limit=50, taxonomy=taxonomy) if q else None
    return render(
        request,
        "cases/config/categories.html",
        {
            "section": "categories",
            "taxonomies": taxonomies,
            "taxonomy": taxonomy,
            "tree": _tree(taxonomy) if results is None else [],
            "q": q,
            "results": [(c, catalogue.category_path(c)) for c in results or []],
            "searched": results is not None,
            "import_form": ImportForm(),
        },
    )


@login_required
def category_import(request: HttpRequest) -> HttpResponse:
    _require(request)
    form = ImportForm(request.POST or None, request.FILES or None)
    report = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            form.add_error("file", _("The file is larger than 2 MB."))
        else:
            report = _run_import(request, form, upload)
            if report is not None and report.ok:
                messages.success(
                    request,
                    _("%(count)d categories imported.") % {"count": report.created},
                )
                taxonomy = Taxonomy.objects.get(version=form.cleaned_data["version"])
                return redirect(f"{_url('categories')}?taxonomy={taxonomy.pk}")
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "cases/config/category_import.html",
        {"section": "categories", "form": form, "report": report},
        status=status,
    )


def _run_import(request, form: ImportForm, upload):
    try:
        tree = catalogue.read_category_file(upload.read(), upload.name)
    except ServiceError as exc:
        _service_errors(form, exc)
        return None
    version = form.cleaned_data["version"].strip()
    try:
        with transaction.atomic():
            taxonomy = Taxonomy.objects.filter(version=version).first()
            if taxonomy is None:
                name = form.cleaned_data["name"] or tree.name or version
                taxonomy = catalogue.create_taxonomy(version, name, actor=request.user)
            report = catalogue.import_category_tree(
                taxonomy, tree.rows, actor=request.user, first_row=tree.first_row
            )
            if not report.ok:
                transaction.set_rollback(True)  # not even the new taxonomy stays
    except ServiceError as exc:
        _service_errors(form, exc)
        return None
    return report


@login_required
@require_POST
def taxonomy_activate(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request)
    taxonomy = get_object_or_404(Taxonomy, pk=pk)
    try:
        catalogue.activate_taxonomy(taxonomy, actor=request.user)
        messages.success(request, _("%(name)s is now the active taxonomy.") % {"name": taxonomy})
    except ServiceError as exc:
        messages.error(request, exc.message)
    return redirect(f"{_url('categories')}?taxonomy={taxonomy.pk}")


def _url(name: str, *args) -> str:
    return reverse(f"cases_config:{name}", args=args)


# --- units -----------------------------------------------------------------------------------


def visible_units(user):
    """Units that cover an area in the user's scope, or an area above it (a city bureau)."""
    scope = scope_of(user)
    units = Unit.objects.select_related("parent").prefetch_related(
        Prefetch("areas", queryset=Area.objects.only("id", "name", "path", "level", "code"))
    )
    if scope.everything:
        return list(units)

    def relevant(unit: Unit) -> bool:
        return any(
            scope.covers_path(a.path) or any(p.startswith(a.path) for p in scope.area_paths)
            for a in unit.areas.all()
        )

    return [u for u in units if relevant(u)]


@login_required
def unit_list(request: HttpRequest) -> HttpResponse:
    _require(request)
    units = visible_units(request.user)
    kind = request.GET.get("kind", "")
    q = request.GET.get("q", "").strip()
    if kind:
        units = [u for u in units if u.kind == kind]
    if q:
        units = [u for u in units if q in u.name or q.lower() in u.code.lower()]
    for unit in units:
        unit.depth = catalogue.unit_depth(unit)
    return render(
        request,
        "cases/config/units.html",
        {"section": "units", "units": units, "kinds": UnitKind.choices, "kind": kind, "q": q},
    )


@login_required
def unit_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request)
    unit = next((u for u in visible_units(request.user) if u.pk == pk), None)
    if unit is None:
        raise Http404
    rules = (
        catalogue.rules_visible_to(request.user)
        .filter(unit=unit)
        .order_by("category__code", "area__path")
    )
    return render(
        request,
        "cases/config/unit_detail.html",
        {
            "section": "units",
            "unit": unit,
            "chain": _chain(unit),
            "children": unit.children.order_by("code"),
            "areas": unit.areas.order_by("path"),
            "rules": rules,
            "handlers": unit.role_assignments.select_related("user").order_by("user__username"),
        },
    )


def _chain(unit: Unit) -> list[Unit]:
    chain, node = [], unit.parent
    while node is not None:
        chain.append(node)
        node = node.parent
    return list(reversed(chain))


# --- the dispatch catalogue ------------------------------------------------------------------


class RuleForm(forms.Form):
    category = forms.ModelChoiceField(
        label=gettext_lazy("Category"), queryset=Category.objects.none()
    )
    area = forms.ModelChoiceField(label=gettext_lazy("Area"), queryset=Area.objects.none())
    unit = forms.ModelChoiceField(label=gettext_lazy("Unit"), queryset=Unit.objects.none())
    auto_dispatch = forms.BooleanField(label=gettext_lazy("Dispatch automatically"), required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        taxonomy = catalogue.active_taxonomy()
        self.fields["category"].queryset = Category.objects.filter(
            taxonomy=taxonomy, is_active=True
        ).order_by("code")
        self.fields["category"].label_from_instance = lambda c: (
            f"{c.code} {'　' * (c.level - 1)}{c.name}"
        )
        self.fields["area"].queryset = (
            Area.objects.visible_to(user)
            .current()
            .filter(level__in=[Level.DISTRICT, Level.STREET, Level.COMMUNITY])
            .order_by("path")
        )
        ids = [u.pk for u in visible_units(user) if u.is_active]
        self.fields["unit"].queryset = Unit.objects.filter(pk__in=ids).order_by("code")
        self.fields["unit"].label_from_instance = lambda u: f"{u.name} ({u.code})"


@login_required
def dispatch_rules(request: HttpRequest) -> HttpResponse:
    _require(request)
    form = RuleForm(request.POST or None, user=request.user)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                catalogue.set_dispatch_rule(actor=request.user, **form.cleaned_data)
            except ServiceError as exc:
                _service_errors(form, exc)
            else:
                messages.success(request, _("The dispatch rule is saved."))
                return redirect(_url("dispatch"))
        status = 400
    rules = catalogue.rules_visible_to(request.user).order_by("category__code", "area__path")
    q = request.GET.get("q", "").strip()
    if q:
        rules = (
            rules.filter(category__code__startswith=q)
            | rules.filter(category__name__icontains=q)
            | rules.filter(unit__name__icontains=q)
        )
    rules = list(rules)
    # Two units for one category on one area: routing cannot choose, a dispatcher will.
    per_place: dict[tuple[int, int], int] = {}
    for rule in rules:
        per_place[rule.category_id, rule.area_id] = (
            per_place.get((rule.category_id, rule.area_id), 0) + 1
        )
    for rule in rules:
        rule.ambiguous = per_place[rule.category_id, rule.area_id] > 1
    return render(
        request,
        "cases/config/dispatch.html",
        {"section": "dispatch", "form": form, "rules": rules, "q": q},
        status=status,
    )


@login_required
@require_POST
def dispatch_remove(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request)
    rule = get_object_or_404(catalogue.rules_visible_to(request.user), pk=pk)
    catalogue.remove_dispatch_rule(rule, actor=request.user)
    messages.success(request, _("The dispatch rule is removed."))
    return redirect(_url("dispatch"))


# --- time-limit policies ---------------------------------------------------------------------


@login_required
def policies(request: HttpRequest) -> HttpResponse:
    _require(request)
    rows = SlaPolicy.objects.prefetch_related(
        Prefetch("rules", queryset=SlaRule.objects.select_related("category").order_by("pk"))
    ).order_by("-is_active", "code")
    return render(request, "cases/config/policies.html", {"section": "policies", "policies": rows})


@login_required
@require_POST
def policy_activate(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request)
    policy = get_object_or_404(SlaPolicy, pk=pk)
    try:
        catalogue.activate_policy(policy, actor=request.user)
        messages.success(request, _("%(name)s is now the active policy.") % {"name": policy})
    except ServiceError as exc:
        messages.error(request, exc.message)
    return redirect(_url("policies"))


# --- calendar overrides ----------------------------------------------------------------------


class CalendarForm(forms.Form):
    day = forms.DateField(
        label=gettext_lazy("Date"), widget=forms.DateInput(attrs={"type": "date"})
    )
    is_workday = forms.TypedChoiceField(
        label=gettext_lazy("The day is"),
        choices=[("0", gettext_lazy("a day off")), ("1", gettext_lazy("a working day"))],
        coerce=lambda v: v == "1",
    )
    note = forms.CharField(label=gettext_lazy("Note"), max_length=200, required=False)


@login_required
def calendar(request: HttpRequest) -> HttpResponse:
    _require(request)
    form = CalendarForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                catalogue.set_calendar_day(actor=request.user, **form.cleaned_data)
            except ServiceError as exc:
                _service_errors(form, exc)
            else:
                messages.success(request, _("The calendar override is saved."))
                return redirect(_url("calendar"))
        status = 400
    return render(
        request,
        "cases/config/calendar.html",
        {"section": "calendar", "form": form, "days": CalendarDay.objects.order_by("-day")},
        status=status,
    )


@login_required
@require_POST
def calendar_remove(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request)
    entry = get_object_or_404(CalendarDay, pk=pk)
    catalogue.remove_calendar_day(entry, actor=request.user)
    messages.success(request, _("The calendar override is removed."))
    return redirect(_url("calendar"))
