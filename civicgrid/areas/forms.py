"""Forms of the area pages: locating a point or an address, and the changes of an area
(rename, re-parent, merge, split, retire) that district officers make through the services."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from civicgrid.areas import services
from civicgrid.areas.choices import ALLOWED_CHILDREN, GridLayer
from civicgrid.areas.models import Area
from civicgrid.core import clock


class LocateForm(forms.Form):
    """Either a point (lat and lon together) or an address; the point wins when both come."""

    lat = forms.FloatField(label=_("Latitude"), required=False, min_value=-90, max_value=90)
    lon = forms.FloatField(label=_("Longitude"), required=False, min_value=-180, max_value=180)
    address = forms.CharField(
        label=_("Address"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. 锦江路3号2栋1单元501")}),
    )
    layer = forms.ChoiceField(
        label=_("Grid type"), required=False, choices=GridLayer.choices, initial=GridLayer.SERVICE
    )

    def clean(self):
        data = super().clean()
        lat, lon = data.get("lat"), data.get("lon")
        if (lat is None) != (lon is None) and not self.errors:
            missing = "lon" if lon is None else "lat"
            self.add_error(missing, _("Give both latitude and longitude."))
        elif lat is None and lon is None and not data.get("address", "").strip():
            if not self.errors:
                self.add_error("address", _("Type an address or click a point on the map."))
        data["layer"] = data.get("layer") or GridLayer.SERVICE
        return data

    @property
    def has_point(self) -> bool:
        return self.cleaned_data.get("lat") is not None and self.cleaned_data.get("lon") is not None


class LayerForm(forms.Form):
    layer = forms.ChoiceField(
        label=_("Grid type"), required=False, choices=GridLayer.choices, initial=GridLayer.SERVICE
    )

    def layer_or_default(self) -> str:
        if self.is_valid() and self.cleaned_data.get("layer"):
            return self.cleaned_data["layer"]
        return GridLayer.SERVICE


# --- changes of an area (areas.edit) --------------------------------------------------------


class AreaLabelField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Area) -> str:
        return f"{obj.name}（{obj.get_level_display()} {obj.code}）"


class AreaLabelsField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Area) -> str:
        return f"{obj.name}（{obj.code}）"


def _effective_date_field() -> forms.DateField:
    return forms.DateField(
        label=_("Effective date"),
        initial=clock.today,
        # <input type="date"> shows only an ISO value, whatever the language.
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("The first day the change holds; it may lie in the past, not the future."),
    )


class AreaChangeForm(forms.Form):
    """Base of the change forms, bound to the area and the acting user. Each form's `apply()`
    calls its service and returns the area to show next; `aliases` maps the service's field
    names to the form's (a service error on any other field shows above the form)."""

    aliases: dict[str, str] = {}

    def __init__(self, *args, area: Area, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.area = area
        self.user = user


class AreaEditForm(AreaChangeForm):
    name = forms.CharField(label=_("Name"), max_length=100)
    priority = forms.IntegerField(
        label=_("Priority"),
        help_text=_("Where grids overlap, the higher priority wins; on a tie, the smaller grid."),
    )

    def __init__(self, *args, area: Area, user, **kwargs):
        kwargs.setdefault("initial", {"name": area.name, "priority": area.priority})
        super().__init__(*args, area=area, user=user, **kwargs)

    def apply(self) -> Area:
        return services.update_area(
            self.area,
            actor=self.user,
            name=self.cleaned_data["name"],
            priority=self.cleaned_data["priority"],
        )


class ReparentForm(AreaChangeForm):
    parent = AreaLabelField(label=_("New parent area"), queryset=Area.objects.none())
    effective_date = _effective_date_field()

    def __init__(self, *args, area: Area, user, **kwargs):
        super().__init__(*args, area=area, user=user, **kwargs)
        levels = [lvl for lvl, kids in ALLOWED_CHILDREN.items() if area.level in kids]
        self.fields["parent"].queryset = (
            Area.objects.visible_to(user)
            .current()
            .filter(level__in=levels)
            .exclude(pk=area.parent_id)
            .exclude(path__startswith=area.path)
            .order_by("path")
        )

    def apply(self) -> Area:
        return services.reparent_area(
            self.area,
            self.cleaned_data["parent"],
            actor=self.user,
            effective_date=self.cleaned_data["effective_date"],
        )


class MergeForm(AreaChangeForm):
    """This area and the siblings ticked become one: a new area (name and code given here) or
    the one whose code is kept."""

    aliases = {"sources": "others"}

    others = AreaLabelsField(
        label=_("Merge with"),
        queryset=Area.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Areas of the same level and grid type under the same parent."),
    )
    keep = forms.ChoiceField(label=_("Result"), required=False)
    into_name = forms.CharField(label=_("Name of the merged area"), max_length=100)
    into_code = forms.CharField(
        label=_("Code of a new area"),
        max_length=32,
        required=False,
        help_text=_("Only for a new area; a code is never reused, retired areas included."),
    )
    effective_date = _effective_date_field()

    def __init__(self, *args, area: Area, user, **kwargs):
        kwargs.setdefault("initial", {"into_name": area.name})
        super().__init__(*args, area=area, user=user, **kwargs)
        siblings = (
            Area.objects.visible_to(user)
            .current()
            .filter(parent_id=area.parent_id, level=area.level, layer=area.layer)
            .exclude(pk=area.pk)
            .order_by("code")
        )
        self.fields["others"].queryset = siblings
        self.fields["keep"].choices = [
            ("", _("A new area with the code below")),
            *[
                (a.code, _("Keep %(name)s (%(code)s)") % {"name": a.name, "code": a.code})
                for a in [area, *siblings]
            ],
        ]

    def clean(self):
        data = super().clean()
        keep, others = data.get("keep"), data.get("others")
        if keep and others is not None and keep not in {self.area.code, *(a.code for a in others)}:
            self.add_error("keep", _("Keep one of the areas being merged."))
        if not keep and not (data.get("into_code") or "").strip():
            self.add_error("into_code", _("Give the code of the new area, or keep one."))
        return data

    def apply(self) -> Area:
        data = self.cleaned_data
        return services.merge_areas(
            [self.area, *data["others"]],
            into_name=data["into_name"],
            into_code=data["keep"] or data["into_code"],
            actor=self.user,
            effective_date=data["effective_date"],
        )


class SplitForm(AreaChangeForm):
    """The parts come as a GeoJSON FeatureCollection, one feature per part with `name` and
    `code` properties."""

    aliases = {"parts": "file", "geometry": "file"}

    file = forms.FileField(
        label=_("Parts (GeoJSON)"),
        help_text=_(
            "A FeatureCollection, one Polygon feature per part, with the properties name and "
            "code. The parts must cover the area without overlapping."
        ),
    )
    effective_date = _effective_date_field()

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > settings.IMPORT_MAX_BYTES:
            raise forms.ValidationError(
                _("The file is larger than %(limit)s MB.")
                % {"limit": settings.IMPORT_MAX_BYTES // (1024 * 1024)}
            )
        return upload

    def apply(self) -> Area:
        parts = services.parts_from_geojson(self.cleaned_data["file"].read())
        self.result = services.split_area(
            self.area, parts, actor=self.user, effective_date=self.cleaned_data["effective_date"]
        )
        return self.area


class RetireForm(AreaChangeForm):
    effective_date = _effective_date_field()
    confirm = forms.BooleanField(
        label=_("Yes, retire this area. It stays in the history and is never deleted."),
    )

    def apply(self) -> Area:
        return services.retire_area(
            self.area, actor=self.user, effective_date=self.cleaned_data["effective_date"]
        )
