"""The cases admin: configuration for district officers and administrators, cases read-only.

Configuration (taxonomies, categories, tags, the dispatch catalogue, time-limit policies and
calendar overrides) is open to staff users with `cases.configure`; every save and delete goes
through `cases.catalogue`, so the admin writes the same audit rows as the configuration
pages. Cases are read through `visible_to` like every scoped model and never edited here: a
case only moves through `cases.services`.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from civicgrid.cases import catalogue
from civicgrid.cases.models import (
    CalendarDay,
    Case,
    CaseEvent,
    Category,
    DispatchRule,
    SlaPolicy,
    SlaRule,
    Tag,
    Taxonomy,
)
from civicgrid.core.admin import ScopedModelAdmin
from civicgrid.core.errors import ServiceError
from civicgrid.core.scoping import scope_of


class ConfigModelAdmin(admin.ModelAdmin):
    """Staff with `cases.configure` may view; subclasses say what they may add, change or
    delete, and route those writes through `cases.catalogue`."""

    can_add = can_change = can_delete = False
    list_per_page = 50

    def _configurer(self, request) -> bool:
        user = request.user
        return user.is_active and user.is_staff and scope_of(user).can("cases.configure")

    def has_module_permission(self, request) -> bool:
        return self._configurer(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return self._configurer(request)

    def has_add_permission(self, request) -> bool:
        return self.can_add and self._configurer(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return self.can_change and self._configurer(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self.can_delete and self._configurer(request)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)

    def _run(self, request, fn, *args, **kwargs) -> bool:
        try:
            fn(*args, **kwargs)
        except ServiceError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return False
        return True


class ServiceFormMixin:
    """Run the service inside the form's validation so its refusal lands on the field."""

    def get_form(self, request, obj=None, **kwargs):
        form_class = super().get_form(request, obj, **kwargs)
        admin_self = self

        class Form(form_class):
            def _post_clean(self):
                super()._post_clean()
                if self.errors:
                    return
                try:
                    admin_self.check_with_service(request, self)
                except ServiceError as exc:
                    for field_name, message in (exc.errors or {"": exc.message}).items():
                        self.add_error(field_name if field_name in self.fields else None, message)

        return Form

    def check_with_service(self, request, form) -> None:
        """Do the write now (inside the admin's transaction); `save_model` then does nothing."""
        form.instance._saved_by_service = self.write(request, form)

    def save_model(self, request, obj, form, change):
        saved = getattr(form.instance, "_saved_by_service", None)
        if saved is not None and saved.pk:
            obj.pk = saved.pk


@admin.register(Taxonomy)
class TaxonomyAdmin(ServiceFormMixin, ConfigModelAdmin):
    list_display = ["version", "name", "is_active", "created_at"]
    fields = ["version", "name"]
    actions = ["activate"]
    can_add = True

    def write(self, request, form):
        data = form.cleaned_data
        return catalogue.create_taxonomy(data["version"], data["name"], actor=request.user)

    @admin.action(description=_("Make the selected taxonomy the active one"))
    def activate(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, _("Choose exactly one taxonomy."), messages.ERROR)
            return
        if self._run(request, catalogue.activate_taxonomy, queryset.get(), actor=request.user):
            self.message_user(request, _("The taxonomy is active."), messages.SUCCESS)


@admin.register(Category)
class CategoryAdmin(ServiceFormMixin, ConfigModelAdmin):
    list_display = ["code", "name", "level", "parent", "complexity", "is_active", "taxonomy"]
    list_filter = ["taxonomy", "level", "complexity", "is_active"]
    search_fields = ["code", "name", "keywords", "search_text"]
    list_select_related = ["parent", "taxonomy"]
    autocomplete_fields = ["parent"]
    can_add = can_change = True

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["taxonomy", "parent", "code", "name", "keywords", "complexity"]
        return [
            "taxonomy",
            "parent",
            "code",
            "level",
            "name",
            "keywords",
            "complexity",
            "is_active",
        ]

    def get_readonly_fields(self, request, obj=None):
        return ["taxonomy", "parent", "code", "level"] if obj is not None else []

    def write(self, request, form):
        data = form.cleaned_data
        if form.instance.pk is None:
            return catalogue.create_category(
                data["taxonomy"],
                actor=request.user,
                code=data["code"],
                name=data["name"],
                parent=data.get("parent"),
                keywords=data.get("keywords", ""),
                complexity=data["complexity"],
            )
        original = Category.objects.get(pk=form.instance.pk)
        return catalogue.update_category(
            original,
            actor=request.user,
            name=data["name"],
            keywords=data.get("keywords", ""),
            complexity=data["complexity"],
            is_active=data["is_active"],
        )


@admin.register(Tag)
class TagAdmin(ServiceFormMixin, ConfigModelAdmin):
    list_display = ["code", "name"]
    search_fields = ["code", "name"]
    can_add = True

    def write(self, request, form):
        data = form.cleaned_data
        return catalogue.create_tag(actor=request.user, code=data["code"], name=data["name"])


@admin.register(DispatchRule)
class DispatchRuleAdmin(ServiceFormMixin, ConfigModelAdmin):
    list_display = ["category", "area", "unit", "auto_dispatch"]
    list_filter = ["auto_dispatch", "unit__kind"]
    search_fields = ["category__code", "category__name", "area__name", "unit__name"]
    autocomplete_fields = ["category", "area"]
    fields = ["category", "area", "unit", "auto_dispatch"]
    can_add = can_change = can_delete = True

    def get_queryset(self, request):
        return catalogue.rules_visible_to(request.user)

    def get_readonly_fields(self, request, obj=None):
        return ["category", "area", "unit"] if obj is not None else []

    def write(self, request, form):
        data = form.cleaned_data
        instance = form.instance
        return catalogue.set_dispatch_rule(
            actor=request.user,
            category=data.get("category") or instance.category,
            area=data.get("area") or instance.area,
            unit=data.get("unit") or instance.unit,
            auto_dispatch=data["auto_dispatch"],
        )

    def delete_model(self, request, obj):
        self._run(request, catalogue.remove_dispatch_rule, obj, actor=request.user)


class SlaRuleInline(admin.TabularInline):
    model = SlaRule
    extra = 0
    fields = [
        "kind",
        "category",
        "urgency",
        "complexity",
        "respond_value",
        "respond_unit",
        "resolve_value",
        "resolve_unit",
    ]
    readonly_fields = fields

    def has_view_permission(self, request, obj=None) -> bool:
        return scope_of(request.user).can("cases.configure")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(SlaPolicy)
class SlaPolicyAdmin(ConfigModelAdmin):
    """Policies come from the presets (`load_sla_presets`); here they are read and activated."""

    list_display = ["code", "name", "is_active", "near_due_fraction"]
    fields = ["code", "name", "description", "is_active", "near_due_fraction"]
    readonly_fields = fields
    inlines = [SlaRuleInline]
    actions = ["activate"]

    @admin.action(description=_("Make the selected policy the active one"))
    def activate(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, _("Choose exactly one policy."), messages.ERROR)
            return
        if self._run(request, catalogue.activate_policy, queryset.get(), actor=request.user):
            self.message_user(request, _("The policy is active."), messages.SUCCESS)


@admin.register(CalendarDay)
class CalendarDayAdmin(ServiceFormMixin, ConfigModelAdmin):
    list_display = ["day", "is_workday", "note"]
    list_filter = ["is_workday"]
    date_hierarchy = "day"
    fields = ["day", "is_workday", "note"]
    can_add = can_change = can_delete = True

    def get_readonly_fields(self, request, obj=None):
        return ["day"] if obj is not None else []

    def write(self, request, form):
        data = form.cleaned_data
        return catalogue.set_calendar_day(
            actor=request.user,
            day=data.get("day") or form.instance.day,
            is_workday=data["is_workday"],
            note=data.get("note", ""),
        )

    def delete_model(self, request, obj):
        self._run(request, catalogue.remove_calendar_day, obj, actor=request.user)


class CaseEventInline(admin.TabularInline):
    model = CaseEvent
    extra = 0
    fields = ["at", "action", "from_state", "to_state", "unit", "actor", "reason"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Case)
class CaseAdmin(ScopedModelAdmin):
    """Read-only: reporters stay out of the list (the case pages mask them by role)."""

    list_display = [
        "number",
        "title",
        "state",
        "channel",
        "category",
        "lead_unit",
        "deadline_status",
        "received_at",
    ]
    list_filter = ["state", "channel", "kind", "deadline_status", "supervised"]
    search_fields = ["number", "title"]
    date_hierarchy = "received_at"
    list_select_related = ["category", "lead_unit"]
    exclude = ["reporter_name", "reporter_phone", "reporter", "idempotency_key"]
    inlines = [CaseEventInline]
