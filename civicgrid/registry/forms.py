"""Forms of the registry pages. Area choices always come from the user's own scope."""

from __future__ import annotations

from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Min
from django.utils.translation import gettext_lazy as _

from civicgrid.areas.choices import Level
from civicgrid.areas.locator import normalise_address
from civicgrid.areas.models import Area
from civicgrid.core.masking import mask_id_number, mask_name, mask_phone
from civicgrid.core.scoping import scope_of
from civicgrid.registry import services
from civicgrid.registry.choices import (
    ELDERLY_TAG,
    SENSITIVE_TAGS,
    GridPost,
    HouseholdType,
    ImportKind,
    PopulationType,
    Relation,
    ResidentTag,
)
from civicgrid.registry.models import Building, GridAssignment, Household, Resident

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


def _area_field(
    user,
    *,
    capability: str | None = None,
    required: bool = False,
    label=None,
    levels: tuple[str, ...] | None = None,
):
    queryset = visible_areas(user, capability)
    if levels is not None:
        queryset = queryset.filter(level__in=levels)
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


class BuildingSearchForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Address or estate")}),
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


# --- writes by hand (registry.edit, staff.assign) -------------------------------------------


def sensitive_hidden_from(user) -> set[str]:
    """Stored tags the user may not see (and so may neither set nor clear)."""
    return set() if scope_of(user).can("registry.reveal") else set(SENSITIVE_TAGS)


class StaffForm(forms.Form):
    """Post a grid worker to a grid: the choices are `services.postable_workers`, less those
    already posted there."""

    worker = forms.ModelChoiceField(
        label=_("Grid worker"), queryset=get_user_model().objects.none()
    )
    post = forms.ChoiceField(label=_("Post"), choices=GridPost.choices, initial=GridPost.A)

    def __init__(self, *args, grid: Area, user, **kwargs):
        super().__init__(*args, **kwargs)
        posted = GridAssignment.objects.filter(grid=grid).values("worker_id")
        self.fields["worker"].queryset = services.postable_workers(user, grid).exclude(
            pk__in=posted
        )
        self.fields["worker"].label_from_instance = lambda u: f"{u}（{u.username}）"
        self.fields["worker"].empty_label = _("Choose a grid worker")


class BuildingForm(forms.Form):
    grid = forms.ModelChoiceField(label=_("Grid"), queryset=Area.objects.none(), required=False)
    address = forms.CharField(
        label=_("Building address"),
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. 金丰路6号3栋")}),
    )
    estate = forms.CharField(label=_("Estate"), max_length=100, required=False)
    number = forms.CharField(label=_("Building number"), max_length=32, required=False)
    floors = forms.IntegerField(label=_("Floors"), required=False, min_value=1, max_value=299)
    lat = forms.FloatField(label=_("Latitude"), required=False, min_value=-90, max_value=90)
    lon = forms.FloatField(label=_("Longitude"), required=False, min_value=-180, max_value=180)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["grid"] = _area_field(
            user, capability="registry.edit", label=_("Grid"), levels=(Level.GRID,)
        )
        self.fields["grid"].empty_label = _("Find the grid from the coordinates")
        self.order_fields(["grid", "address", "estate", "number", "floors", "lat", "lon"])

    def save(self) -> Building:
        data = self.cleaned_data
        return services.create_building(
            actor=self.user,
            grid=data["grid"],
            address=data["address"],
            estate=data["estate"],
            number=data["number"],
            floors=data["floors"],
            lat=data["lat"],
            lon=data["lon"],
        )


class HouseholdForm(forms.Form):
    """Register or change a household. In a building, the building decides the grid and the
    address defaults to building + entrance + room. Contact name and phone are personal data:
    when changing a household they start empty (the masked values are shown as hints) and an
    empty field keeps what is stored, so opening the form reveals nothing."""

    building = forms.CharField(
        label=_("Building address"),
        max_length=200,
        required=False,
        help_text=_("A building registered in your area; leave empty for a house without one."),
    )
    entrance = forms.CharField(label=_("Entrance"), max_length=16, required=False)
    room = forms.CharField(label=_("Room"), max_length=16, required=False)
    address = forms.CharField(
        label=_("Address"),
        max_length=255,
        required=False,
        help_text=_("In a building, leave empty: building + entrance + room."),
    )
    household_type = forms.ChoiceField(
        label=_("Housing use"), choices=HouseholdType.choices, initial=HouseholdType.OWNER
    )
    contact_name = forms.CharField(label=_("Contact name"), max_length=64, required=False)
    contact_phone = forms.CharField(label=_("Contact phone"), max_length=32, required=False)
    clear_contact = forms.BooleanField(label=_("Remove the contact name and phone"), required=False)

    def __init__(self, *args, user, household: Household | None = None, **kwargs):
        if household is not None:
            kwargs.setdefault(
                "initial",
                {
                    "area": household.area_id,
                    "building": household.building.address if household.building_id else "",
                    "entrance": household.entrance,
                    "room": household.room,
                    "address": household.address,
                    "household_type": household.household_type,
                },
            )
        super().__init__(*args, **kwargs)
        self.user = user
        self.household = household
        self.fields["area"] = _area_field(
            user,
            capability="registry.edit",
            label=_("Grid (or community, until it is placed)"),
            levels=(Level.GRID, Level.COMMUNITY),
        )
        self.fields["area"].help_text = _("In a building, the building's grid is used.")
        self.order_fields(["area", "building", "entrance", "room", "address"])
        if household is None:
            del self.fields["clear_contact"]
        else:
            for name, masker in (("contact_name", mask_name), ("contact_phone", mask_phone)):
                hint = masker(getattr(household, name))
                self.fields[name].widget.attrs["placeholder"] = hint
                self.fields[name].help_text = _("Leave empty to keep the stored value.")

    def clean_building(self) -> Building | None:
        text = normalise_address(self.cleaned_data.get("building") or "")
        if not text:
            return None
        building = Building.objects.visible_to(self.user).filter(address=text).first()
        if building is None:
            raise forms.ValidationError(_("No registered building with this address in your area."))
        return building

    def clean(self):
        data = super().clean()
        if not self.errors and data.get("building") is None and data.get("area") is None:
            self.add_error("area", _("Choose the grid (or the community), or a building."))
        return data

    def _values(self) -> dict:
        data = self.cleaned_data
        values = {
            "building": data["building"],
            "entrance": data["entrance"],
            "room": data["room"],
            "address": data["address"],
            "household_type": data["household_type"],
        }
        if data["building"] is None:
            values["area"] = data["area"]
        if data.get("clear_contact"):
            values.update(contact_name="", contact_phone="")
        else:
            for name in ("contact_name", "contact_phone"):
                if data[name].strip() or self.household is None:
                    values[name] = data[name]
        return values

    def save(self) -> Household:
        if self.household is None:
            return services.create_household(actor=self.user, **self._values())
        return services.update_household(self.household, actor=self.user, **self._values())


class ResidentForm(forms.Form):
    """Register or change a resident. Birth date and gender come from the ID number. When
    changing a resident, name, ID number and phone start empty (masked hints) and an empty
    field keeps the stored value, so the form reveals nothing; tags the role may not see are
    neither shown nor touched."""

    name = forms.CharField(label=_("Name"), max_length=64)
    id_number = forms.CharField(
        label=_("ID number"),
        max_length=32,
        help_text=_("18 characters (GB 11643); birth date and gender are read from it."),
    )
    phone = forms.CharField(label=_("Phone"), max_length=32, required=False)
    clear_phone = forms.BooleanField(label=_("Remove the phone number"), required=False)
    relation = forms.ChoiceField(
        label=_("Relation to head"), choices=Relation.choices, initial=Relation.OTHER
    )
    population_type = forms.ChoiceField(label=_("Population type"), choices=PopulationType.choices)
    tags = forms.MultipleChoiceField(
        label=_("Tags"), required=False, widget=forms.CheckboxSelectMultiple
    )
    ethnicity = forms.CharField(label=_("Ethnicity"), max_length=16, required=False)
    arrived_on = forms.DateField(
        label=_("Arrived on"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def __init__(self, *args, user, household: Household | None = None, resident=None, **kwargs):
        self.hidden_tags = sensitive_hidden_from(user)
        if resident is not None:
            kwargs.setdefault(
                "initial",
                {
                    "relation": resident.relation,
                    "population_type": resident.population_type,
                    "tags": [t for t in resident.tag_list if t not in self.hidden_tags],
                    "ethnicity": resident.ethnicity,
                    "arrived_on": resident.arrived_on,
                },
            )
        super().__init__(*args, **kwargs)
        self.user = user
        self.household = household
        self.resident = resident
        self.fields["tags"].choices = [
            (code, label) for code, label in ResidentTag.choices if code not in self.hidden_tags
        ]
        if resident is None:
            del self.fields["clear_phone"]
        else:
            for name, masker in (
                ("name", mask_name),
                ("id_number", mask_id_number),
                ("phone", mask_phone),
            ):
                self.fields[name].required = False
                self.fields[name].widget.attrs["placeholder"] = masker(getattr(resident, name))
                self.fields[name].help_text = _("Leave empty to keep the stored value.")

    def save(self) -> Resident:
        data = self.cleaned_data
        values = {
            "relation": data["relation"],
            "population_type": data["population_type"],
            "ethnicity": data["ethnicity"],
            "arrived_on": data["arrived_on"],
        }
        if self.resident is None:
            return services.create_resident(
                actor=self.user,
                household=self.household,
                name=data["name"],
                id_number=data["id_number"],
                phone=data["phone"],
                tags=data["tags"],
                **values,
            )
        kept = [t for t in self.resident.tag_list if t in self.hidden_tags]
        values["tags"] = [*data["tags"], *kept]
        for name in ("name", "id_number", "phone"):
            if data[name].strip():
                values[name] = data[name]
        if data.get("clear_phone"):
            values["phone"] = ""
        return services.update_resident(self.resident, actor=self.user, **values)


NO_HOUSEHOLD = "none"


class MoveResidentForm(forms.Form):
    """Move a resident into another household (chosen from a search) or out of any."""

    household = forms.CharField(label=_("New household"), max_length=20)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_household(self) -> Household | None:
        value = self.cleaned_data["household"].strip()
        if value == NO_HOUSEHOLD:
            return None
        household = (
            Household.objects.visible_to(self.user).filter(pk=value).first()
            if value.isdigit()
            else None
        )
        if household is None:
            raise forms.ValidationError(_("Choose a household from the search results."))
        return household
