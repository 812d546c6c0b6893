"""The dashboard's period picker: a period kind and a day in it (a month by default), or any
date range, and optionally one area of the caller's scope."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from civicgrid.core import clock
from civicgrid.core.errors import ServiceError
from civicgrid.dashboards import selectors
from civicgrid.scoring.models import PeriodKind
from civicgrid.scoring.scorecards import period


class DashboardForm(forms.Form):
    period = forms.ChoiceField(label=_("Period"), choices=PeriodKind.choices, initial="month")
    date = forms.DateField(
        label=_("Date in the period"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("For a date range: its first day."),
    )
    end = forms.DateField(
        label=_("Last day (date range)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    area = forms.ChoiceField(label=_("Area"), required=False)

    def __init__(self, data=None, *, user, **kwargs):
        self.user = user
        if data is not None:
            data = data.copy()
            data.setdefault("period", PeriodKind.MONTH)
        super().__init__(data, **kwargs)
        choices = [("", _("All my areas"))] + [
            (str(a.pk), f"{'—' * max(0, a.path.count('/') - 2)} {a.name}")
            for a in selectors.area_choices(user)
        ]
        # An area outside the caller's scope is a 404 (as if it did not exist), never a
        # field error that tells it exists; one inside it but not offered (a grid) is kept.
        asked = selectors.area_or_404(user, (data or {}).get("area"))
        if asked is not None and str(asked.pk) not in {value for value, _label in choices}:
            choices.append((str(asked.pk), asked.name))
        self.fields["area"].choices = choices

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            data["resolved_period"] = period(
                data["period"], data.get("date") or clock.today(), data.get("end")
            )
        except ServiceError as exc:
            self.add_error(exc.field if exc.field in self.fields else None, exc.message)
        return data

    def resolved(self):
        """(period, area) of a valid form; an area outside the scope is a 404."""
        data = self.cleaned_data
        return data["resolved_period"], selectors.area_or_404(self.user, data.get("area"))
