"""Users, role assignments, handling units and API tokens: administrators only.

Role assignments decide what everybody else may see, so only superusers manage them here.
"""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from civicgrid.accounts.forms import UserChangeForm, UserCreationForm
from civicgrid.accounts.models import ApiToken, RoleAssignment, Unit, User
from civicgrid.core.admin import SuperuserOnlyAdmin


class RoleAssignmentInline(admin.TabularInline):
    model = RoleAssignment
    extra = 0
    autocomplete_fields = ["area", "unit"]
    fields = ["role", "area", "unit", "created_at"]
    readonly_fields = ["created_at"]

    def _allowed(self, request) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None) -> bool:
        return self._allowed(request)

    def has_add_permission(self, request, obj=None) -> bool:
        return self._allowed(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return self._allowed(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self._allowed(request)


@admin.register(User)
class UserAdmin(SuperuserOnlyAdmin, DjangoUserAdmin):
    list_display = ["username", "display_name", "is_staff", "is_active", "last_login"]
    search_fields = ["username", "display_name"]
    fieldsets = [
        *DjangoUserAdmin.fieldsets,
        (_("CivicGrid"), {"fields": ["display_name", "phone"]}),
    ]
    inlines = [RoleAssignmentInline]
    form = UserChangeForm
    add_form = UserCreationForm
    add_fieldsets = [
        (
            None,
            {"classes": ["wide"], "fields": ["username", "display_name", "password1", "password2"]},
        ),
    ]


@admin.register(Unit)
class UnitAdmin(SuperuserOnlyAdmin):
    list_display = ["code", "name", "kind", "parent", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["code", "name"]
    autocomplete_fields = ["parent", "areas"]


@admin.register(ApiToken)
class ApiTokenAdmin(SuperuserOnlyAdmin):
    """Tokens are issued by the API (the secret is shown once); here they can be reviewed."""

    list_display = ["name", "user", "prefix", "created_at", "last_used_at", "revoked_at"]
    search_fields = ["name", "prefix", "user__username"]
    fields = ["name", "user", "prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["name", "user", "prefix", "created_at", "last_used_at"]

    def has_add_permission(self, request) -> bool:
        return False
