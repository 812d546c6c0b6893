"""Insight records in the scoped admin: read-only (writes go through insights.services)."""

from __future__ import annotations

from django.contrib import admin

from civicgrid.core.admin import ScopedModelAdmin
from civicgrid.insights.models import MiningRun, Topic, TopicCandidate


@admin.register(Topic)
class TopicAdmin(ScopedModelAdmin):
    list_display = ["title", "period", "status", "area", "owner_unit", "created_at"]
    list_filter = ["status"]
    search_fields = ["title", "keywords"]
    raw_id_fields = ["cases", "candidate"]


@admin.register(MiningRun)
class MiningRunAdmin(ScopedModelAdmin):
    list_display = ["created_at", "area", "since", "until", "case_count", "created_by"]


@admin.register(TopicCandidate)
class TopicCandidateAdmin(ScopedModelAdmin):
    list_display = ["run", "rank", "description", "place", "size", "score"]
    raw_id_fields = ["cases"]
