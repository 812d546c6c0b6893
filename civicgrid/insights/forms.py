"""Forms of the insight pages. They only shape input; the rules live in services."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils.translation import gettext_lazy as _

from civicgrid.cases.choices import Kind, Urgency
from civicgrid.cases.forms import active_categories, active_units
from civicgrid.core import clock
from civicgrid.insights.choices import TopicStatus
from civicgrid.registry.forms import AreaChoiceField, visible_areas

LEVEL_CHOICES = [
    ("street", _("Street")),
    ("community", _("Community")),
    ("grid", _("Grid")),
]
# ISO format whatever the language: a date input accepts nothing else.
DATE = forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"})


def _areas(user, capability: str, levels: tuple[str, ...]):
    return visible_areas(user, capability).filter(level__in=levels)


class HotspotFilterForm(forms.Form):
    week = forms.DateField(
        label=_("Week of"),
        required=False,
        widget=DATE,
        help_text=_("Any day of the week; the last full week when empty."),
    )
    level = forms.ChoiceField(label=_("Count by"), choices=LEVEL_CHOICES, initial="community")
    category = forms.ModelChoiceField(
        label=_("Category"),
        required=False,
        queryset=active_categories(),
        empty_label=_("All categories"),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = active_categories()
        self.fields["area"] = AreaChoiceField(
            queryset=_areas(user, "cases.view", ("district", "street", "community")),
            required=False,
            label=_("Area"),
            empty_label=_("All my areas"),
        )

    def filters(self) -> dict:
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        return {
            "week": data.get("week"),
            "level": data.get("level") or "community",
            "category": data.get("category"),
            "area": data.get("area"),
        }


class MiningRunForm(forms.Form):
    since = forms.DateField(label=_("From"), widget=DATE)
    until = forms.DateField(label=_("To (inclusive)"), widget=DATE)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["area"] = AreaChoiceField(
            queryset=_areas(user, "cases.view", ("district", "street", "community")),
            label=_("Area"),
            empty_label=_("Choose an area"),
        )
        self.order_fields(["area", "since", "until"])
        today = clock.today()
        self.initial.setdefault("until", today)
        self.initial.setdefault("since", today - dt.timedelta(days=90))


class TopicForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=100)
    description = forms.CharField(
        label=_("Description"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    owner_unit = forms.ModelChoiceField(
        label=_("Owner department"), queryset=active_units(), empty_label=_("Choose a unit")
    )
    period = forms.DateField(
        label=_("Month"), widget=DATE, help_text=_("Any day of the month the topic is worked on.")
    )
    categories = forms.ModelMultipleChoiceField(
        label=_("Categories"),
        required=False,
        queryset=active_categories(),
        widget=forms.SelectMultiple(attrs={"size": 6}),
        help_text=_("The topic's cases have one of these categories (any when none)."),
    )
    keywords = forms.CharField(
        label=_("Keywords"),
        required=False,
        max_length=300,
        help_text=_("Words separated by spaces; a case matches when it contains any of them."),
    )

    def __init__(self, *args, user, with_area: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner_unit"].queryset = active_units()
        self.fields["categories"].queryset = active_categories()
        if with_area:
            self.fields["area"] = AreaChoiceField(
                queryset=_areas(user, "cases.dispatch", ("district", "street", "community")),
                label=_("Area"),
                empty_label=_("Choose an area"),
            )
            self.order_fields(["title", "area", "owner_unit", "period"])


class TopicStatusForm(forms.Form):
    status = forms.ChoiceField(label=_("New status"), choices=TopicStatus.choices)
    note = forms.CharField(label=_("Note"), required=False, max_length=500)


class LinkCasesForm(forms.Form):
    numbers = forms.CharField(
        label=_("Case numbers"),
        max_length=2000,
        widget=forms.TextInput(attrs={"placeholder": _("Numbers separated by spaces or commas")}),
    )

    def numbers_list(self) -> list[str]:
        return [
            n for n in self.cleaned_data["numbers"].replace(",", " ").replace("，", " ").split()
        ]


class TaskForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=100)
    description = forms.CharField(
        label=_("What to do"), max_length=4000, widget=forms.Textarea(attrs={"rows": 4})
    )
    unit = forms.ModelChoiceField(
        label=_("Dispatch to unit"),
        required=False,
        queryset=active_units(),
        empty_label=_("No unit: the grid's workers take it"),
    )
    category = forms.ModelChoiceField(
        label=_("Category"),
        required=False,
        queryset=active_categories(),
        empty_label=_("No category"),
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=Kind.choices, initial=Kind.REPORT)
    urgency = forms.ChoiceField(label=_("Urgency"), choices=Urgency.choices, initial=Urgency.NORMAL)
    hotspot = forms.CharField(
        label=_("Hotspot"),
        required=False,
        max_length=200,
        help_text=_("What the task answers, when it does not come from a topic."),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = active_units()
        self.fields["category"].queryset = active_categories()
        self.fields["area"] = AreaChoiceField(
            queryset=_areas(user, "cases.dispatch", ("street", "community", "grid")),
            label=_("Where"),
            empty_label=_("Choose a grid or an area"),
        )
        self.order_fields(["title", "description", "area", "unit", "category", "kind", "urgency"])
