"""The legacy hotline import in the browser: upload a CSV, check it (dry run) or take it in,
and read the row-level report. The rows go through `importers.import_cases`, the same function
`manage.py import_cases` calls, so the rules and the all-or-nothing transaction are the same."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from civicgrid.cases import importers
from civicgrid.cases.forms import CaseImportForm
from civicgrid.cases.views.common import add_service_errors, require
from civicgrid.core.errors import ServiceError


@login_required
def import_cases(request: HttpRequest) -> HttpResponse:
    """导入历史工单: the report is shown on the same page, the file is not kept."""
    require(request, "cases.dispatch")
    report = None
    status = 200
    if request.method == "POST":
        form = CaseImportForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                report = importers.import_cases(
                    upload.read(),
                    actor=request.user,
                    channel=form.cleaned_data["channel"],
                    dry_run=form.cleaned_data["dry_run"],
                    file_name=upload.name,
                )
            except ServiceError as exc:
                add_service_errors(form, exc)
        if not form.is_valid() or (report is not None and report.errors):
            status = 400
    else:
        form = CaseImportForm()
    headers = [(h, h in importers.REQUIRED) for h in importers.COLUMNS]
    return render(
        request,
        "cases/import.html",
        {"form": form, "report": report, "headers": headers},
        status=status,
    )
