"""Read-only admin views: preset versions (never edited: a new rule is a new version, loaded
from scoring/presets) and published scorecards (immutable), scoped like the pages."""

from __future__ import annotations

from django.contrib import admin

from civicgrid.cases.admin import ConfigModelAdmin
from civicgrid.core.admin import ScopedModelAdmin
from civicgrid.scoring.models import Scorecard, ScorecardPreset


@admin.register(ScorecardPreset)
class ScorecardPresetAdmin(ConfigModelAdmin):
    list_display = ("code", "version", "name", "created_at")
    list_filter = ("code",)
    readonly_fields = ("code", "version", "name", "description", "definition", "created_at")


@admin.register(Scorecard)
class ScorecardAdmin(ScopedModelAdmin):
    view_capability = "cases.view"
    list_display = (
        "title",
        "subject",
        "period_start",
        "period_end",
        "preset_code",
        "preset_version",
        "published_at",
        "published_by",
    )
    list_filter = ("subject", "period_kind", "preset_code")
    readonly_fields = (
        "title",
        "preset",
        "preset_code",
        "preset_version",
        "definition",
        "subject",
        "period_kind",
        "period_start",
        "period_end",
        "scope_path",
        "scope_name",
        "rows",
        "summary",
        "published_by",
        "published_at",
    )
