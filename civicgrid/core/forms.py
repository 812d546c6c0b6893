"""Forms of the core pages: the audit log filter."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from civicgrid.core.models import AuditEntry


class AuditFilterForm(forms.Form):
    actor = forms.CharField(label=_("Actor (user name)"), required=False, max_length=150)
    action = forms.ChoiceField(
        label=_("Action"),
        required=False,
        choices=[("", _("All actions")), *AuditEntry.Action.choices],
    )
    object_type = forms.CharField(
        label=_("Object type"),
        required=False,
        max_length=64,
        widget=forms.TextInput(attrs={"placeholder": "registry.resident"}),
    )
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end date is before the start date."))
        return data

    def filter(self, entries):
        """Narrow an already scoped queryset of audit entries by the valid filters."""
        data = self.cleaned_data
        if data.get("actor"):
            entries = entries.filter(actor__username__icontains=data["actor"].strip())
        if data.get("action"):
            entries = entries.filter(action=data["action"])
        if data.get("object_type"):
            entries = entries.filter(object_type__icontains=data["object_type"].strip())
        if data.get("date_from"):
            entries = entries.filter(at__gte=_start_of(data["date_from"]))
        if data.get("date_to"):
            entries = entries.filter(at__lt=_start_of(data["date_to"] + dt.timedelta(days=1)))
        return entries


def _start_of(day: dt.date) -> dt.datetime:
    # Dates are typed in local time (Asia/Shanghai); rows are stored in UTC.
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def add_service_errors(form: forms.Form, exc, aliases: dict[str, str] | None = None) -> None:
    """Show a service's refusal (`ServiceError`) next to the fields it names, or above the
    form when it names none of them. `aliases` maps a service's field names to the form's
    (`{"sources": "others"}`)."""
    aliases = aliases or {}
    errors = exc.errors or {exc.field: exc.message}
    for field, message in errors.items():
        name = aliases.get(field, field)
        form.add_error(name if name in form.fields else None, message)
