"""Forms of the registry pages. Area choices always come from the user's own scope."""

from __future__ import annotations

from pathlib import Path

from django import forms
from django.conf import settings
from django.db.models import Min
from django.utils.translation import gettext_lazy as _

from civicgrid.areas.models import Area
from civicgrid.core.scoping import scope_of
from civicgrid.registry.choices import (
    ELDERLY_TAG,
    SENSITIVE_TAGS,
    ImportKind,
    PopulationType,
    ResidentTag,
)

IMPORT_SUFFIXES = {".csv", ".xlsx"}


class AreaChoiceField(forms.ModelChoiceField):
    """Areas shown as an indented tree (the queryset is ordered by path)."""

    base_depth = 0

    def label_from_instance(self, obj: Area) -> str:
        return (
            "\u3000" * max(obj.depth - self.base_depth, 0)
            + f"{obj.name}（{obj.get_level_display()}）"
        )


def visible_areas(user, capability: str | None = None):
    return Area.objects.visible_to(user, capability).current().order_by("path")


def _area_field(user, *, capability: str | None = None, required: bool = False, label=None):
    queryset = visible_areas(user, capability)
    field = AreaChoiceField(
        queryset=queryset,
        required=required,
        label=label or _("Area"),
        empty_label=_("All my areas") if not required else _("Choose an area"),
    )
    field.base_depth = queryset.aggregate(top=Min("depth"))["top"] or 0
    return field


class HouseholdSearchForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=100,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": _("Address, contact name or phone")}
        ),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["area"] = _area_field(user)


class ResidentSearchForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=100,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": _("Name, ID number or phone")}
        ),
    )
    tag = forms.ChoiceField(label=_("Tag"), required=False)
    population_type = forms.ChoiceField(
        label=_("Population type"),
        required=False,
        choices=[("", _("All")), *PopulationType.choices],
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["area"] = _area_field(user)
        self.order_fields(["q", "area", "tag", "population_type"])
        # Sensitive groups are offered only to roles that may see them (the selector would
        # answer an empty list anyway; offering the filter would only confuse).
        may_reveal = scope_of(user).can("registry.reveal")
        tags = [
            (code, label)
            for code, label in ResidentTag.choices
            if may_reveal or code not in SENSITIVE_TAGS
        ]
        self.fields["tag"].choices = [
            ("", _("All tags")),
            (ELDERLY_TAG, _("Aged 60 and over")),
            *tags,
        ]


class RevealForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=500,
        min_length=4,
        widget=forms.TextInput(attrs={"placeholder": _("Why you need the full value")}),
        help_text=_("The reason is written to the audit log."),
    )

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if len(reason) < 4:
            raise forms.ValidationError(_("Give a reason of at least 4 characters."))
        return reason


class CoverageForm(forms.Form):
    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["area"] = _area_field(user, required=True)


class ImportForm(forms.Form):
    kind = forms.ChoiceField(label=_("What to import"), choices=ImportKind.choices)
    file = forms.FileField(
        label=_("File"),
        help_text=_("CSV (UTF-8) or Excel .xlsx, first row is the header."),
    )
    dry_run = forms.BooleanField(
        label=_("Dry run: check every row, write nothing"), required=False, initial=True
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["area"] = _area_field(
            user, capability="registry.edit", required=True, label=_("Target area")
        )
        self.order_fields(["kind", "area", "file", "dry_run"])

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if Path(upload.name).suffix.lower() not in IMPORT_SUFFIXES:
            raise forms.ValidationError(_("Upload a .csv or .xlsx file."))
        if upload.size > settings.IMPORT_MAX_BYTES:
            raise forms.ValidationError(
                _("The file is larger than %(limit)s MB.")
                % {"limit": settings.IMPORT_MAX_BYTES // (1024 * 1024)}
            )
        if upload.size == 0:
            raise forms.ValidationError(_("The file is empty."))
        return upload
