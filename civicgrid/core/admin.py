"""The scoped admin: /admin shows each staff user their own subtree and nothing else.

`ScopedModelAdmin` routes every read through `visible_to(request.user)`, so a street
dispatcher browsing /admin sees only their street, and a staff user with no role assignment
sees nothing at all. Permissions come from the capability table (not Django model
permissions), and foreign-key choices and filters are scoped the same way. Writes belong to
the services: an admin is read-only unless a subclass routes its saves through one.
"""

from __future__ import annotations

from django.contrib import admin
from django.db import models
from django.utils.translation import gettext_lazy as _

from civicgrid.core.models import AuditEntry
from civicgrid.core.scoping import scope_of

admin.site.site_header = _("CivicGrid administration")
admin.site.site_title = _("CivicGrid")
admin.site.index_title = _("Records of my area")


def _is_scoped(model) -> bool:
    return hasattr(model._default_manager.get_queryset(), "visible_to")


def _choice_label(obj) -> str:
    code = getattr(obj, "code", "")
    return f"{obj} ({code})" if code else str(obj)


class ScopedRelatedFieldListFilter(admin.RelatedFieldListFilter):
    """A foreign-key filter whose choices are only the related rows the user may see."""

    def field_choices(self, field, request, model_admin):
        related = field.related_model
        if not _is_scoped(related):
            return super().field_choices(field, request, model_admin)
        rows = related._default_manager.visible_to(request.user)
        if hasattr(rows, "current"):
            rows = rows.current()
        # Grids of different communities share names (第1网格); the code tells them apart.
        return [(obj.pk, _choice_label(obj)) for obj in rows[:500]]


class ScopedModelAdmin(admin.ModelAdmin):
    """Base admin for scoped models (those with `ScopedQuerySet` and `scope_path_field`).

    `view_capability` defaults to the model's `scope_capability`. The admin is read-only;
    a subclass that can write sets `edit_capability` and saves through a service.
    """

    view_capability: str | None = None
    edit_capability: str | None = None
    list_per_page = 50

    def _required(self) -> str | None:
        return self.view_capability or getattr(self.model, "scope_capability", None)

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user, self._required())

    def has_view_permission(self, request, obj=None) -> bool:
        user = request.user
        if not (user.is_active and user.is_staff):
            return False
        scope = scope_of(user)
        if scope.is_empty:
            return False
        required = self._required()
        return not required or scope.can(required)

    def has_module_permission(self, request) -> bool:
        return self.has_view_permission(request)

    def _can_edit(self, request) -> bool:
        return (
            self.edit_capability is not None
            and self.has_view_permission(request)
            and scope_of(request.user).can(self.edit_capability)
        )

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        related = db_field.related_model
        if "queryset" not in kwargs and _is_scoped(related):
            kwargs["queryset"] = related._default_manager.visible_to(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        related = db_field.related_model
        if "queryset" not in kwargs and _is_scoped(related):
            kwargs["queryset"] = related._default_manager.visible_to(request.user)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def get_list_filter(self, request):
        """Foreign-key filters get scoped choices without each admin having to say so."""
        scoped = []
        for item in super().get_list_filter(request):
            if isinstance(item, str) and "__" not in item:
                field = self.model._meta.get_field(item)
                if isinstance(field, models.ForeignKey):
                    item = (item, ScopedRelatedFieldListFilter)
            scoped.append(item)
        return scoped


class SuperuserOnlyAdmin(admin.ModelAdmin):
    """Accounts and tokens are managed by administrators only."""

    def has_module_permission(self, request) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None) -> bool:
        return self.has_module_permission(request)

    def has_add_permission(self, request) -> bool:
        return self.has_module_permission(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return self.has_module_permission(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self.has_module_permission(request)


@admin.register(AuditEntry)
class AuditEntryAdmin(ScopedModelAdmin):
    list_display = ["at", "actor", "action", "object_type", "object_repr", "reason"]
    list_filter = ["action", "object_type"]
    search_fields = ["object_repr", "object_id", "actor__username", "reason"]
    date_hierarchy = "at"
    list_select_related = ["actor"]
