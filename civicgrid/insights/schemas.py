"""API shapes of insight: hotspots, mining runs and candidates, topics, proactive tasks."""

from __future__ import annotations

import datetime as dt

from ninja import Field, Schema

from civicgrid.cases.choices import Kind, Urgency
from civicgrid.insights.choices import TopicStatus


class HotspotFilter(Schema):
    week: dt.date | None = Field(
        None, description="Any day of the ISO week; default the last full week."
    )
    level: str = Field("community", pattern="^(street|community|grid)$")
    category: int | None = None
    area: int | None = None
    all: bool = Field(False, description="Also the series that were judged and not flagged.")


class RiseOut(Schema):
    category_id: int
    category: str
    area_id: int
    area: str
    week: dt.date
    count: int
    baseline_mean: float
    ratio: float
    p_value: float
    flagged: bool
    history: list[int]


class ClusterOut(Schema):
    category_id: int
    category: str
    size: int
    case_ids: list[int]
    lat: float
    lon: float
    radius_m: float
    hull_m2: float
    first_at: dt.datetime
    last_at: dt.datetime
    address: str
    place: str


class RepeatCallerOut(Schema):
    phone: str
    key: str
    count: int
    categories: int
    first_at: dt.datetime
    last_at: dt.datetime


class RepeatAddressOut(Schema):
    address: str
    count: int
    first_at: dt.datetime
    last_at: dt.datetime
    case_ids: list[int]


class RuleOut(Schema):
    baseline_weeks: int
    min_count: int
    alpha: float


class HotspotsOut(Schema):
    week: dt.date
    level: str
    rule: RuleOut
    window_start: dt.datetime
    window_end: dt.datetime
    phones_masked: bool
    rises: list[RiseOut]
    clusters: list[ClusterOut]
    repeat_callers: list[RepeatCallerOut]
    repeat_addresses: list[RepeatAddressOut]


class MiningRunIn(Schema):
    area: int
    since: dt.date
    until: dt.date = Field(description="Exclusive.")


class CandidateOut(Schema):
    id: int
    rank: int
    key_phrases: list[str]
    place: str
    description: str
    first_at: dt.datetime
    last_at: dt.datetime
    size: int
    volume: float
    growth: float
    repeat_rate: float
    unresolved: float
    score: float


class MiningRunOut(Schema):
    id: int
    area_id: int
    area: str
    since: dt.datetime
    until: dt.datetime
    case_count: int
    created_at: dt.datetime
    candidates: list[CandidateOut] = []


class TopicIn(Schema):
    title: str
    description: str = ""
    owner_unit: int
    area: int
    period: dt.date = Field(description="Any day of the month the topic is worked on.")
    candidate: int | None = None
    categories: list[int] = []
    keywords: str = Field("", description="Words separated by spaces.")
    cases: list[str] = Field([], description="Case numbers to link.")


class TopicUpdateIn(Schema):
    title: str
    description: str = ""
    owner_unit: int
    period: dt.date = Field(description="Any day of the month the topic is worked on.")
    categories: list[int] = []
    keywords: str = ""


class TopicStatusIn(Schema):
    status: TopicStatus
    note: str = ""


class TopicCasesIn(Schema):
    link: list[str] = Field([], description="Case numbers to link.")
    unlink: list[int] = Field([], description="Case ids to unlink.")


class TopicOut(Schema):
    id: int
    title: str
    description: str
    status: str
    period: dt.date
    owner_unit_id: int
    owner_unit: str
    area_id: int
    area: str
    keywords: str
    category_ids: list[int]
    candidate_id: int | None
    created_at: dt.datetime
    closed_at: dt.datetime | None


class ProgressOut(Schema):
    months: list[dt.date]
    counts: list[int]
    resolved: list[int]
    period: dt.date
    before_mean: float | None
    after_mean: float | None
    change: float | None
    resolved_share: float | None
    falling: bool | None


class TaskIn(Schema):
    title: str
    description: str
    area: int = Field(description="Where the task is: a grid (its workers see it) or an area.")
    unit: int | None = Field(None, description="Dispatch to this unit at once.")
    category: int | None = None
    topic: int | None = None
    hotspot: str = Field("", description="What hotspot it answers, when not a topic.")
    kind: Kind = Kind.REPORT
    urgency: Urgency = Urgency.NORMAL


class TaskOut(Schema):
    id: int
    source: str
    topic_id: int | None
    hotspot: str
    case_id: int
    case_number: str
    title: str
    state: str
    grid: str
    lead_unit: str
    resolve_due_at: dt.datetime | None
    created_at: dt.datetime


class TopicDetail(TopicOut):
    progress: ProgressOut
    tasks: list[TaskOut]
    case_ids: list[int]
