"""Forms of the case pages. They check shapes (required, lengths, choices in the user's scope);
the business rules (which transition, which unit, time limits) stay in the services."""

from __future__ import annotations

from pathlib import Path

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from civicgrid.accounts.models import Unit
from civicgrid.areas.models import Area
from civicgrid.cases.choices import (
    CallbackMethod,
    Channel,
    DeadlineStatus,
    Kind,
    ReturnReason,
    Satisfaction,
    Solved,
    State,
    Urgency,
)
from civicgrid.cases.models import Category
from civicgrid.cases.selectors import ALL_STATES, OPEN_CASES
from civicgrid.registry.forms import AreaChoiceField, visible_areas

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


def _textarea(rows: int = 3, **attrs) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows, **attrs})


class DateTimeLocalField(forms.DateTimeField):
    """A date and time typed into the browser's own picker (local time, Asia/Shanghai)."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL)

    def __init__(self, **kwargs):
        kwargs.setdefault("input_formats", [DATETIME_LOCAL, "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"])
        super().__init__(**kwargs)


class MultiplePhotoInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class PhotosField(forms.FileField):
    """Several photos in one input. Intake checks each is an image within the limits."""

    widget = MultiplePhotoInput(attrs={"accept": "image/*", "multiple": True})

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("label", _("Photos"))
        super().__init__(**kwargs)

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else [data]
        return [f for f in files if f]


def active_categories():
    return Category.objects.filter(is_active=True, taxonomy__is_active=True).order_by("code")


def active_units():
    return Unit.objects.filter(is_active=True).order_by("code")


class CategoryField(forms.ModelChoiceField):
    """The category id chosen from the search list (a hidden input filled by cases.js)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Category"))
        super().__init__(queryset=active_categories(), widget=forms.HiddenInput, **kwargs)


class LocationMixin(forms.Form):
    """Latitude and longitude set by the map pin, GPS or a building from the address list."""

    lat = forms.FloatField(
        label=_("Latitude"),
        required=False,
        min_value=-90,
        max_value=90,
        widget=forms.NumberInput(attrs={"step": "any", "data-lat": True}),
    )
    lon = forms.FloatField(
        label=_("Longitude"),
        required=False,
        min_value=-180,
        max_value=180,
        widget=forms.NumberInput(attrs={"step": "any", "data-lon": True}),
    )

    def clean(self):
        data = super().clean()
        if (data.get("lat") is None) != (data.get("lon") is None):
            self.add_error("lon", _("Give both latitude and longitude, or neither."))
        return data


class IntakeForm(LocationMixin):
    """The hotline operator's form: one call, typed in under a minute."""

    channel = forms.ChoiceField(
        label=_("Channel"), choices=Channel.choices, initial=Channel.HOTLINE
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=Kind.choices, initial=Kind.COMPLAINT)
    category = CategoryField(required=False)
    title = forms.CharField(label=_("Title"), max_length=100)
    description = forms.CharField(
        label=_("What the caller says"), max_length=4000, widget=_textarea(4)
    )
    address = forms.CharField(
        label=_("Address"),
        max_length=255,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "data-address-input": True}),
    )
    reporter_name = forms.CharField(label=_("Caller's name"), max_length=64, required=False)
    reporter_phone = forms.CharField(
        label=_("Caller's phone"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "tel"}),
    )
    anonymous = forms.BooleanField(
        label=_("Keep the caller confidential"),
        required=False,
        help_text=_("Units and the public never see who called."),
    )
    urgency = forms.ChoiceField(label=_("Urgency"), choices=Urgency.choices, initial=Urgency.NORMAL)
    photos = PhotosField()

    field_order = [
        "channel",
        "kind",
        "category",
        "title",
        "description",
        "address",
        "lat",
        "lon",
        "reporter_name",
        "reporter_phone",
        "anonymous",
        "urgency",
        "photos",
    ]


class PatrolForm(LocationMixin):
    """What a grid worker found on patrol, sent from a phone."""

    category = CategoryField(required=False)
    description = forms.CharField(label=_("What you found"), max_length=4000, widget=_textarea(4))
    title = forms.CharField(
        label=_("Title"),
        max_length=100,
        required=False,
        help_text=_("Leave empty to use the start of the description."),
    )
    address = forms.CharField(label=_("Address or landmark"), max_length=255, required=False)
    urgency = forms.ChoiceField(label=_("Urgency"), choices=Urgency.choices, initial=Urgency.NORMAL)
    photos = PhotosField()

    field_order = ["category", "description", "title", "address", "lat", "lon", "urgency", "photos"]

    def clean(self):
        data = super().clean()
        if not data.get("title") and data.get("description"):
            data["title"] = data["description"].strip().splitlines()[0][:30]
        return data


class PublicReportForm(LocationMixin):
    """A resident's request from the public page (no account)."""

    kind = forms.ChoiceField(label=_("Kind"), choices=Kind.choices, initial=Kind.HELP)
    category = CategoryField(required=False)
    title = forms.CharField(label=_("In a few words"), max_length=100)
    description = forms.CharField(label=_("Details"), max_length=4000, widget=_textarea(5))
    address = forms.CharField(label=_("Address"), max_length=255, required=False)
    reporter_name = forms.CharField(label=_("Your name"), max_length=64, required=False)
    reporter_phone = forms.RegexField(
        label=_("Your mobile phone"),
        regex=r"^1\d{10}$",
        error_messages={"invalid": _("Enter an 11-digit mobile number.")},
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
        help_text=_("You need it with the number to track your request."),
    )
    anonymous = forms.BooleanField(
        label=_("Do not show my name to the handling units"), required=False
    )
    photos = PhotosField()

    field_order = [
        "kind",
        "category",
        "title",
        "description",
        "address",
        "lat",
        "lon",
        "reporter_name",
        "reporter_phone",
        "anonymous",
        "photos",
    ]


class TrackForm(forms.Form):
    number = forms.CharField(label=_("Request number"), max_length=20)
    phone = forms.CharField(
        label=_("The phone number you gave"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "tel"}),
    )

    def clean_number(self) -> str:
        return self.cleaned_data["number"].strip().upper()

    def clean_phone(self) -> str:
        return self.cleaned_data["phone"].strip()


class RateForm(forms.Form):
    """The resident's own callback: solved? satisfied?"""

    solved = forms.ChoiceField(
        label=_("Was it solved?"), choices=Solved.choices, widget=forms.RadioSelect
    )
    satisfaction = forms.ChoiceField(
        label=_("Are you satisfied?"),
        choices=[c for c in Satisfaction.choices if c[0] != Satisfaction.NO_ANSWER],
        widget=forms.RadioSelect,
    )
    contacted = forms.BooleanField(label=_("The handling unit contacted me"), required=False)
    note = forms.CharField(
        label=_("Anything to add"), max_length=1000, required=False, widget=_textarea(2)
    )


# --- the console's filters and bulk dispatch --------------------------------------------------

DUE_CHOICES = [
    ("", _("Any deadline")),
    (DeadlineStatus.NEAR_DUE, _("Near due")),
    (DeadlineStatus.OVERDUE, _("Overdue")),
]


class QueueFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=100,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": _("Number, title or address")}
        ),
    )
    # Blank (the default) shows the open cases; "all" every state.
    state = forms.ChoiceField(
        label=_("State"),
        required=False,
        choices=[("", _("Open cases")), (ALL_STATES, _("All states")), *State.choices],
    )
    unit = forms.ModelChoiceField(
        label=_("Unit"), required=False, queryset=active_units(), empty_label=_("All units")
    )
    category = forms.ModelChoiceField(
        label=_("Category"),
        required=False,
        queryset=active_categories(),
        empty_label=_("All categories"),
    )
    channel = forms.ChoiceField(
        label=_("Channel"), required=False, choices=[("", _("All channels")), *Channel.choices]
    )
    due = forms.ChoiceField(label=_("Deadline"), required=False, choices=DUE_CHOICES)
    kind = forms.ChoiceField(
        label=_("Kind"), required=False, choices=[("", _("All kinds")), *Kind.choices]
    )
    received_from = forms.DateField(
        label=_("Received from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    received_to = forms.DateField(
        label=_("Received to"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = active_units()
        self.fields["category"].queryset = active_categories()
        area = AreaChoiceField(
            queryset=visible_areas(user, "cases.view"),
            required=False,
            label=_("Area"),
            empty_label=_("All my areas"),
        )
        self.fields["area"] = area
        self.order_fields(
            ["q", "state", "area", "unit", "category", "channel", "kind", "due"]
            + ["received_from", "received_to"]
        )

    def filters(self) -> dict:
        """Keyword arguments for selectors.case_queue (empty choices mean no filter, except the
        state: blank means the open cases)."""
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        filters = {
            key: data.get(key) or None
            for key in ("state", "area", "unit", "category", "channel", "due", "q")
            + ("kind", "received_from", "received_to")
        }
        filters["state"] = filters["state"] or OPEN_CASES
        return filters


class UnitChoiceForm(forms.Form):
    unit = forms.ModelChoiceField(
        label=_("Unit"), queryset=active_units(), empty_label=_("Choose a unit")
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = active_units()


class BulkDispatchForm(UnitChoiceForm):
    cases = forms.CharField(widget=forms.MultipleHiddenInput, required=False)
    note = forms.CharField(label=_("Note to the unit"), max_length=500, required=False)


# --- one form per case action -----------------------------------------------------------------


class ActionForm(forms.Form):
    """Every action form carries the version of the case the user saw."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class DispatchForm(ActionForm, UnitChoiceForm):
    co_units = forms.ModelMultipleChoiceField(
        label=_("Co-handling units"),
        queryset=active_units(),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 3}),
    )
    note = forms.CharField(label=_("Note to the unit"), max_length=500, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["co_units"].queryset = active_units()


class ReassignForm(ActionForm, UnitChoiceForm):
    note = forms.CharField(label=_("Why another unit"), max_length=500)


class RuleForm(ActionForm, UnitChoiceForm):
    note = forms.CharField(label=_("Ruling"), max_length=500)


class AddCoHandlerForm(ActionForm, UnitChoiceForm):
    pass


class EmptyActionForm(ActionForm):
    pass


class ReasonForm(ActionForm):
    reason = forms.CharField(label=_("Reason"), max_length=1000, widget=_textarea(2))


class ReturnForm(ActionForm):
    reason_code = forms.ChoiceField(label=_("Why it is not ours"), choices=ReturnReason.choices)
    reason = forms.CharField(label=_("Explanation"), max_length=1000, widget=_textarea(2))


class ExtensionForm(ActionForm):
    requested_due_at = DateTimeLocalField(label=_("New resolve-by"))
    reason = forms.CharField(label=_("Reason"), max_length=1000, widget=_textarea(2))


class DecideExtensionForm(forms.Form):
    approve = forms.TypedChoiceField(
        coerce=lambda v: v == "1", choices=[("1", _("Approve")), ("0", _("Refuse"))]
    )
    note = forms.CharField(label=_("Note"), max_length=500, required=False)


class SuperviseForm(ActionForm):
    reason = forms.CharField(label=_("Reason"), max_length=1000, widget=_textarea(2))
    new_due_at = DateTimeLocalField(label=_("New resolve-by"), required=False)


class ReplyForm(ActionForm):
    reply = forms.CharField(label=_("Reply to the citizen"), max_length=4000, widget=_textarea(4))


class CoReplyForm(ActionForm):
    reply = forms.CharField(label=_("Our part of the work"), max_length=4000, widget=_textarea(3))


class CallbackForm(ActionForm):
    method = forms.ChoiceField(
        label=_("Method"), choices=CallbackMethod.choices, initial=CallbackMethod.PHONE
    )
    contacted = forms.TypedChoiceField(
        label=_("Did the unit contact the citizen?"),
        coerce=lambda v: v == "yes",
        choices=[("yes", _("Yes")), ("no", _("No"))],
        widget=forms.RadioSelect,
    )
    solved = forms.ChoiceField(label=_("Solved?"), choices=Solved.choices, widget=forms.RadioSelect)
    satisfaction = forms.ChoiceField(
        label=_("Satisfied?"), choices=Satisfaction.choices, widget=forms.RadioSelect
    )
    note = forms.CharField(label=_("Note"), max_length=1000, required=False, widget=_textarea(2))


class MergeForm(ActionForm):
    into = forms.CharField(
        label=_("Merge into case number"),
        max_length=20,
        help_text=_("The case that stays open; this one becomes its duplicate."),
    )
    reason = forms.CharField(label=_("Reason"), max_length=500, required=False)


class CommentForm(ActionForm):
    text = forms.CharField(label=_("Comment"), max_length=2000, widget=_textarea(2))


# --- whistles -------------------------------------------------------------------------------


class WhistleForm(forms.Form):
    area = AreaChoiceField(queryset=Area.objects.none(), label=_("Area"))
    site = forms.CharField(label=_("Site"), max_length=255, required=False)
    reason = forms.CharField(
        label=_("What needs the departments"), max_length=2000, widget=_textarea(3)
    )
    units = forms.ModelMultipleChoiceField(
        label=_("Departments to summon"),
        queryset=active_units(),
        widget=forms.CheckboxSelectMultiple,
    )
    limit_minutes = forms.IntegerField(
        label=_("Report in within (minutes)"), min_value=5, max_value=24 * 60, initial=30
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["area"].queryset = visible_areas(user, "cases.whistle")
        self.fields["area"].empty_label = _("Choose an area")
        self.fields["units"].queryset = active_units()


# --- legacy import (cases.importers) ------------------------------------------------------


def too_large_message() -> str:
    return _("The file is larger than %(limit)s MB.") % {
        "limit": settings.IMPORT_MAX_BYTES // (1024 * 1024)
    }


class CaseImportForm(forms.Form):
    """The upload of a legacy hotline CSV; the rows are checked by `importers.import_cases`."""

    file = forms.FileField(
        label=_("File"),
        allow_empty_file=True,  # the importer says what is wrong with an empty file
        help_text=_("CSV from the old hotline system, UTF-8 or GBK, first row is the header."),
    )
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices, initial="hotline")
    dry_run = forms.BooleanField(
        label=_("Dry run: check every row, write nothing"), required=False, initial=True
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if Path(upload.name).suffix.lower() != ".csv":
            raise forms.ValidationError(_("Upload a .csv file."))
        if upload.size > settings.IMPORT_MAX_BYTES:
            raise forms.ValidationError(too_large_message())
        return upload
