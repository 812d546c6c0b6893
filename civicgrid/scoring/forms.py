"""The scorecard form: which preset, which period, what to rank, where."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils.translation import gettext_lazy as _

from civicgrid.core import clock
from civicgrid.core.errors import ServiceError
from civicgrid.scoring import presets, selectors
from civicgrid.scoring.models import PeriodKind, Subject
from civicgrid.scoring.scorecards import Period, period


def last_month() -> dt.date:
    return (clock.today().replace(day=1) - dt.timedelta(days=1)).replace(day=1)


class ScorecardForm(forms.Form):
    preset = forms.ChoiceField(label=_("Rules"))
    period = forms.ChoiceField(label=_("Period"), choices=PeriodKind.choices, initial="month")
    date = forms.DateField(
        label=_("Date in the period"), widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        label=_("Last day (date range)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    subject = forms.ChoiceField(label=_("Rank"), choices=Subject.choices, initial="unit")
    area = forms.ChoiceField(label=_("Area"), required=False)

    def __init__(self, data=None, *, user, **kwargs):
        self.user = user
        if data is not None:
            data = data.copy()
            for name, value in self.defaults().items():
                data.setdefault(name, value)
        super().__init__(data, **kwargs)
        self.fields["preset"].choices = [
            (p.code, f"{p.name} (v{p.version})") for p in presets.latest()
        ]
        self.fields["area"].choices = [("", _("All my areas"))] + [
            (a.pk, f"{'—' * max(0, a.path.count('/') - 3)} {a.name}")
            for a in selectors.area_choices(user)
        ]

    @staticmethod
    def defaults() -> dict:
        return {
            "preset": "zhungeer",
            "period": PeriodKind.MONTH,
            "date": last_month().isoformat(),
            "subject": Subject.UNIT,
        }

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            data["resolved_period"] = period(data["period"], data["date"], data.get("end"))
        except ServiceError as exc:
            self.add_error(exc.field if exc.field in self.fields else None, exc.message)
        return data

    def resolved(self) -> tuple:
        """(preset, period, subject, area) of a valid form."""
        data = self.cleaned_data
        preset = presets.get(data["preset"])
        area = selectors.area_or_404(self.user, int(data["area"]) if data.get("area") else None)
        per: Period = data["resolved_period"]
        return preset, per, data["subject"], area


class PublishForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200, required=False)
