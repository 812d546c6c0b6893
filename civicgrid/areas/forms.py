"""Forms of the area pages: locating a point or an address."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from civicgrid.areas.choices import GridLayer


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
