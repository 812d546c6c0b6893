"""API shapes of the scoring endpoints."""

import datetime as dt
from typing import Any, Literal

from ninja import Field, Schema


class PresetOut(Schema):
    code: str
    version: int
    name: str
    description: str
    definition: dict[str, Any]


class ScorecardQuery(Schema):
    preset: str = Field("zhungeer", description="Preset code (its newest version).")
    version: int | None = Field(None, description="A preset version (default: the newest).")
    period: Literal["day", "week", "month", "quarter", "year", "range"] = "month"
    date: dt.date | None = Field(None, description="A day in the period (default: last month).")
    end: dt.date | None = Field(None, description="The last day, for period=range.")
    subject: Literal["unit", "street", "community", "grid"] = "unit"
    area: int | None = Field(None, description="Limit to this area's subtree.")


class PeriodOut(Schema):
    kind: str
    start: dt.date
    end: dt.date
    label: str


class RowOut(Schema):
    id: int
    name: str
    code: str = ""
    path: str = ""
    counts: dict[str, float]
    rates: dict[str, float | None]
    scores: dict[str, float | None]
    base: float | None
    bonus: float
    deduction: float
    total: float | None
    rank: int | None
    previous_total: float | None = None
    previous_rank: int | None = None
    change: float | None = None


class OverallOut(Schema):
    counts: dict[str, float]
    rates: dict[str, float | None]


class ScorecardOut(Schema):
    preset: str
    preset_version: int
    subject: str
    components: list[str]
    period: PeriodOut
    previous_period: PeriodOut | None
    rows: list[RowOut]
    red: list[int] = Field(description="Top of the ranking (红榜), by id.")
    black: list[int] = Field(description="Bottom of the ranking (黑榜), by id.")
    overall: OverallOut


class PublishIn(ScorecardQuery):
    title: str = Field("", max_length=200)


class PublishedOut(Schema):
    id: int
    title: str
    preset: str
    preset_version: int
    subject: str
    period_kind: str
    period_start: dt.date
    period_end: dt.date
    area_path: str
    area_name: str
    published_at: dt.datetime
    published_by: str | None


class PublishedDetail(PublishedOut):
    definition: dict[str, Any]
    scorecard: ScorecardOut


class CountsQuery(Schema):
    start: dt.date
    end: dt.date
    group_by: str = Field(
        "",
        description="Comma-separated: day, week, month, unit, role, area, street, community, "
        "category, channel, kind.",
    )
    area: int | None = Field(None, description="Limit to this area's subtree.")
    unit: int | None = None
    role: Literal["lead", "co", "all"] = "lead"
    category: int | None = None
    channel: str | None = None
    kind: str | None = None


class ExplainQuery(Schema):
    metric: str = Field(description="A rate (response_rate, ...) or a count (scored, ...).")
    part: Literal["numerator", "denominator"] = "denominator"
    start: dt.date
    end: dt.date
    subject: Literal["unit", "unit_co", "street", "community", "grid"] = "unit"
    id: int | None = Field(None, description="The unit or area of the figure.")
    area: int | None = None


class CaseRef(Schema):
    id: int
    number: str
    title: str
    state: str
    channel: str
    received_at: dt.datetime
    lead_unit: str | None = None
    area_path: str
