from __future__ import annotations

import datetime as dt

from ninja import Schema
from pydantic import Field


class SuggestIn(Schema):
    title: str = Field("", max_length=100)
    description: str = Field("", max_length=4000)


class SuggestedCategory(Schema):
    id: int
    code: str
    name: str
    is_leaf: bool = Field(description="false: a case needs one of its sub-categories")


class SuggestionOut(Schema):
    label: str = Field(description="the model's label (a category code when trained on cases)")
    confidence: float = Field(description="calibrated probability, 0..1")
    words: list[str] = Field(description="the words of the text that drove this suggestion")
    category: SuggestedCategory | None = Field(
        description="the category of the active taxonomy the label maps to, if any"
    )


class SuggestOut(Schema):
    model_version: str | None = Field(description="null: no model is active")
    suggestions: list[SuggestionOut]


class ModelOut(Schema):
    version: str
    status: str
    source: str
    taxonomy_version: str
    labels: list[str]
    label_map: dict[str, str]
    metrics: dict
    training_summary: dict
    options: dict
    checksum: str
    size: int
    created_at: dt.datetime
    activated_at: dt.datetime | None
    previous: str | None


class RollbackOut(Schema):
    active: ModelOut | None = Field(description="the model in use now (null: none)")


class LabelMapIn(Schema):
    label_map: dict[str, str]


class AcceptanceRow(Schema):
    category_id: int | None
    category_code: str
    category_name: str
    suggested: int
    accepted: int
    in_top3: int
    filled: int
    auto_dispatched: int
    rate: float | None
    top3_rate: float | None


class AcceptanceOut(Schema):
    total: AcceptanceRow
    categories: list[AcceptanceRow]
