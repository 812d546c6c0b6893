"""Partner systems in /admin (administrators only): register one and see its api key once,
switch it off, change its rate limit, replace its key. Every save goes through `partners`."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from civicgrid.accounts.models import PartnerSystem
from civicgrid.core.admin import SuperuserOnlyAdmin
from civicgrid.core.errors import ServiceError
from civicgrid.open311 import partners


class PartnerSystemAddForm(forms.ModelForm):
    class Meta:
        model = PartnerSystem
        fields = ["name", "jurisdiction", "rate_limit_per_minute"]

    def clean_rate_limit_per_minute(self) -> int:
        value = self.cleaned_data["rate_limit_per_minute"]
        if not 1 <= value <= partners.MAX_RATE_PER_MINUTE:
            raise forms.ValidationError(
                gettext("Between 1 and %(n)d requests per minute.")
                % {"n": partners.MAX_RATE_PER_MINUTE}
            )
        return value


def _show_key(request, partner: PartnerSystem, key: str) -> None:
    messages.warning(
        request,
        gettext(
            "Api key of %(name)s: %(key)s. Copy it now: it is stored only as a hash and "
            "cannot be shown again."
        )
        % {"name": partner.name, "key": key},
    )


@admin.register(PartnerSystem)
class PartnerSystemAdmin(SuperuserOnlyAdmin):
    list_display = [
        "name",
        "jurisdiction",
        "key_prefix",
        "rate_limit_per_minute",
        "is_active",
        "last_used_at",
    ]
    list_filter = ["is_active"]
    search_fields = ["name", "key_prefix", "jurisdiction__name", "jurisdiction__code"]
    autocomplete_fields = ["jurisdiction"]
    actions = ["replace_keys"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = PartnerSystemAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["name", "jurisdiction", "rate_limit_per_minute"]
        return [
            "name",
            "jurisdiction",
            "user",
            "key_prefix",
            "rate_limit_per_minute",
            "is_active",
            "created_at",
            "last_used_at",
        ]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return ["name", "jurisdiction", "user", "key_prefix", "created_at", "last_used_at"]

    def save_model(self, request, obj, form, change):
        try:
            if change:
                partners.update_partner(
                    obj,
                    rate_limit_per_minute=obj.rate_limit_per_minute,
                    is_active=obj.is_active,
                    actor=request.user,
                )
                return
            partner, key = partners.register_partner(
                name=obj.name,
                jurisdiction=obj.jurisdiction,
                rate_limit_per_minute=obj.rate_limit_per_minute,
                actor=request.user,
            )
        except ServiceError as exc:
            messages.error(request, exc.message)
            raise
        # The admin goes on with `obj` (its log entry, the redirect): make it the saved row.
        obj.pk, obj.user, obj.key_prefix = partner.pk, partner.user, partner.key_prefix
        obj._state.adding = False
        _show_key(request, partner, key)

    def has_delete_permission(self, request, obj=None) -> bool:
        # A partner's cases name its service user: switch it off instead of deleting it.
        return False

    @admin.action(description=_("Replace the api key (the old one stops working)"))
    def replace_keys(self, request, queryset):
        for partner in queryset.select_related("jurisdiction"):
            _show_key(request, partner, partners.replace_key(partner, actor=request.user))
