"""Shapes of the cases API. Reporters leave the server through `selectors.masked_reporter`;
the public endpoints carry no personal data at all."""

import datetime as dt
from typing import Literal

from ninja import Field, Schema

from civicgrid.cases.choices import (
    CallbackMethod,
    Channel,
    Kind,
    ReturnReason,
    Satisfaction,
    Solved,
    State,
    Urgency,
)


class Ref(Schema):
    id: int
    code: str
    name: str


class CategoryOut(Schema):
    id: int
    code: str
    name: str
    level: int
    path: str = Field(description="Names from the top of the tree: 城市管理 > 市容环境 > 占道经营.")


class CaseIn(Schema):
    channel: Channel
    kind: Kind
    title: str = Field(description="1 to 100 characters.")
    description: str = Field(description="1 to 4000 characters.")
    category: int | None = Field(None, description="An active leaf of the active taxonomy.")
    lat: float | None = None
    lon: float | None = None
    address: str = Field("", description="Needed when no point is given.")
    reporter_name: str = ""
    reporter_phone: str = ""
    anonymous: bool = False
    urgency: Urgency = Urgency.NORMAL
    tags: list[str] = Field([], description="Tag codes.")
    idempotency_key: str | None = Field(
        None, description="Or the Idempotency-Key header: a retry returns the first case."
    )


def _inline(schema: dict) -> dict:
    """A pydantic JSON schema with its `$defs` written in place, for an OpenAPI body that no
    component names."""
    defs = schema.pop("$defs", {})

    def walk(node):
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return walk(dict(defs[ref.removeprefix("#/$defs/")]))
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(schema)


def case_in_body() -> dict:
    """The OpenAPI request body of `POST /cases`: JSON, or the same fields as a multipart form
    with photos (`photos`, repeated; tags as repeated `tags` fields)."""
    fields = _inline(CaseIn.model_json_schema())
    form = {**fields, "properties": dict(fields["properties"])}
    form["properties"]["photos"] = {
        "type": "array",
        "items": {"type": "string", "format": "binary"},
        "description": "Up to 9 photos (JPEG, PNG, ...), 10 MB each.",
    }
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": fields},
                "multipart/form-data": {"schema": form},
            },
        }
    }


class ReporterOut(Schema):
    name: str
    phone: str
    anonymous: bool
    masked: bool
    has_account: bool


class CaseOut(Schema):
    id: int
    number: str
    channel: str
    kind: str
    category: CategoryOut | None
    title: str
    state: State
    urgency: str
    lat: float | None
    lon: float | None
    address: str
    grid: Ref | None
    locate_status: str
    lead_unit: Ref | None
    received_at: dt.datetime
    respond_due_at: dt.datetime | None
    resolve_due_at: dt.datetime | None
    deadline_status: str
    supervised: bool
    version: int
    reporter: ReporterOut


class EventOut(Schema):
    id: int
    at: dt.datetime
    actor: str | None
    action: str
    from_state: str
    to_state: str
    unit: Ref | None
    reason: str
    data: dict


class HandlerOut(Schema):
    unit: Ref
    role: str
    assigned_at: dt.datetime
    reply: str
    replied_at: dt.datetime | None
    active: bool


class CallbackOut(Schema):
    id: int
    at: dt.datetime
    method: str
    contacted: bool
    solved: str
    satisfaction: str
    note: str


class ExtensionOut(Schema):
    id: int
    requested_at: dt.datetime
    reason: str
    requested_due_at: dt.datetime
    status: str
    decided_at: dt.datetime | None
    decision_note: str


class AttachmentOut(Schema):
    id: int
    url: str
    content_type: str
    size: int


class CaseDetail(CaseOut):
    description: str
    reply: str
    invalid_reason: str
    parent_id: int | None
    accepted_at: dt.datetime | None
    resolved_at: dt.datetime | None
    closed_at: dt.datetime | None
    reopen_count: int
    return_count: int
    tags: list[str]
    allowed_actions: list[str]
    timeline: list[EventOut]
    handlers: list[HandlerOut]
    callbacks: list[CallbackOut]
    extensions: list[ExtensionOut]
    attachments: list[AttachmentOut]


class CaseFilter(Schema):
    state: State | None = None
    area: int | None = Field(None, description="Only cases under this area (id).")
    unit: int | None = Field(None, description="Cases of this unit (lead or co-handler).")
    category: int | None = Field(None, description="This category and those under it.")
    channel: Channel | None = None
    due: Literal["near_due", "overdue"] | None = None
    q: str | None = Field(None, description="A case number, or part of the text or address.")


class RouteOut(Schema):
    units: list[Ref]
    ambiguous: bool
    auto: bool


class CreatedCase(CaseOut):
    candidates: RouteOut = Field(description="What the dispatch catalogue suggests.")


class DuplicateOut(Schema):
    case: CaseOut
    score: float
    distance_m: float
    reasons: list[str]
    likely: bool = Field(description="The score is at or above CIVICGRID_DUPLICATE_THRESHOLD.")


# --- actions --------------------------------------------------------------------------------


class Versioned(Schema):
    expected_version: int | None = Field(
        None, description="Refuse (409) if the case changed since this version was read."
    )


class DispatchIn(Versioned):
    unit: int
    co_units: list[int] = []
    note: str = ""


class ReassignIn(Schema):
    unit: int
    note: str = ""


class ReturnIn(Schema):
    reason_code: ReturnReason
    reason: str


class RuleIn(Schema):
    unit: int
    note: str = ""


class ExtensionIn(Schema):
    reason: str
    requested_due_at: dt.datetime


class DecideExtensionIn(Schema):
    approve: bool
    note: str = ""


class ReasonIn(Schema):
    reason: str


class SuperviseIn(Schema):
    reason: str
    new_due_at: dt.datetime | None = None


class UnitIn(Schema):
    unit: int


class ReplyIn(Schema):
    reply: str


class CallbackIn(Schema):
    method: CallbackMethod
    contacted: bool
    solved: Solved
    satisfaction: Satisfaction
    note: str = ""


class MergeIn(Schema):
    into: int = Field(description="The case this one duplicates.")
    reason: str = ""


class CommentIn(Schema):
    text: str


class WhistleIn(Schema):
    area: int
    units: list[int]
    reason: str
    case: int | None = None
    site: str = ""
    limit_minutes: int = Field(30, ge=1, le=24 * 60)


class SummonsOut(Schema):
    id: int
    unit: Ref
    due_at: dt.datetime
    reported_at: dt.datetime | None
    status: str


class WhistleOut(Schema):
    id: int
    area: Ref
    case_id: int | None
    site: str
    reason: str
    blown_at: dt.datetime
    limit_minutes: int
    closed_at: dt.datetime | None
    summonses: list[SummonsOut]


# --- public ---------------------------------------------------------------------------------


class BoardRow(Schema):
    category: str
    category_path: str
    kind: str
    street: str
    community: str
    state: str
    state_label: str
    received_at: dt.datetime
    resolved_at: dt.datetime | None
    duration_hours: float | None
    reply: str


class BoardFilter(Schema):
    area: int | None = None
    category: int | None = None
    page: int = Field(1, ge=1)
    page_size: int = Field(50, ge=1, le=200)


class BoardPage(Schema):
    count: int
    items: list[BoardRow]


class TrackIn(Schema):
    number: str
    phone: str


class PublicEvent(Schema):
    at: dt.datetime
    action: str
    state: str


class TrackOut(Schema):
    number: str
    kind: str
    category: str
    title: str
    state: str
    state_label: str
    received_at: dt.datetime
    resolved_at: dt.datetime | None
    reply: str
    can_rate: bool
    timeline: list[PublicEvent]


class PublicCallbackIn(TrackIn):
    solved: Solved
    satisfaction: Satisfaction
    note: str = ""


class PublicCaseIn(Schema):
    kind: Kind
    title: str
    description: str
    channel: Literal["web", "mobile"] = "web"
    category: int | None = None
    lat: float | None = None
    lon: float | None = None
    address: str = ""
    reporter_name: str = ""
    reporter_phone: str = Field(description="Needed to follow the case without an account.")
    anonymous: bool = False
    idempotency_key: str | None = None


class PublicReceipt(Schema):
    number: str
    received_at: dt.datetime
    respond_due_at: dt.datetime | None


class CaseNotificationOut(Schema):
    """One outbox row of a case; phones in `address` are masked."""

    id: int
    created_at: dt.datetime
    channel: str
    recipient: str = Field(description="The recipient's display name; empty for a webhook.")
    address: str
    subject: str
    status: Literal["pending", "sent", "failed"]
    sent_at: dt.datetime | None
    attempts: int
    error: str
    next_attempt_at: dt.datetime | None = Field(
        description="After a failure: not retried before this time (exponential back-off)."
    )
    given_up: bool = Field(description="Failed, with no attempt left.")


class ImportRowErrorOut(Schema):
    row: int = Field(description="As a spreadsheet shows it: the header is row 1.")
    column: str
    message: str


class CaseImportOut(Schema):
    """The report of a legacy import. `imported` counts the cases written (a dry run: the
    cases it would write); `already` the rows imported by an earlier run."""

    rows: int
    imported: int
    already: int
    dry_run: bool
    numbers: list[str]
    errors: list[ImportRowErrorOut]


class ImportRefusalItem(Schema):
    row: int
    field: str = Field(description="The column of the file (Chinese header).")
    message: str


class CaseImportRefused(Schema):
    """A file with refused rows: nothing was written. `errors` lists every refusal."""

    detail: str
    errors: list[ImportRefusalItem]
    report: CaseImportOut
