"""Shapes of the registry API. People and households leave the server masked
(`selectors.masked_resident`, `masked_household`) unless a reveal was asked for and audited."""

import datetime as dt

from ninja import Field, Schema
from pydantic import field_validator

from civicgrid.registry.choices import (
    ELDERLY_TAG,
    Gender,
    GridPost,
    HouseholdType,
    ImportKind,
    ImportStatus,
    PopulationType,
    Relation,
    ResidentTag,
)

TAG_CODES = (ELDERLY_TAG, *ResidentTag.values)


class GridRef(Schema):
    id: int
    code: str
    name: str


class BuildingOut(Schema):
    id: int
    grid: GridRef
    estate: str
    number: str
    address: str
    floors: int | None
    lat: float | None
    lon: float | None
    household_count: int = Field(description="Households registered in the building.")


class BuildingFilter(Schema):
    q: str | None = Field(None, description="Part of the address or estate name.")
    grid: int | None = Field(None, description="Only buildings under this area (id).")


class BuildingCreate(Schema):
    address: str = Field(max_length=200, description="Stored normalised; unique.")
    grid: int | None = Field(None, description="Grid id; without it, found from lat and lon.")
    estate: str = Field("", max_length=100)
    number: str = Field("", max_length=32)
    floors: int | None = Field(None, ge=1, le=299)
    lat: float | None = Field(None, ge=-90, le=90, allow_inf_nan=False)
    lon: float | None = Field(None, ge=-180, le=180, allow_inf_nan=False)


class HouseholdCreate(Schema):
    area: int | None = Field(
        None, description="Grid id (or community id while it is not placed in a grid)."
    )
    building: int | None = Field(None, description="Building id; its grid is the household's.")
    address: str = Field("", description="Default in a building: building + entrance + room.")
    entrance: str = ""
    room: str = ""
    household_type: HouseholdType = HouseholdType.OWNER
    contact_name: str = ""
    contact_phone: str = ""


class HouseholdUpdate(Schema):
    """Fields of a PATCH; only those sent change. A new `building` brings its grid along;
    `building: null` takes the household out of its building (the area stays). Moving the
    household to another area moves its residents with it."""

    area: int | None = None
    building: int | None = None
    address: str | None = None
    entrance: str | None = None
    room: str | None = None
    household_type: HouseholdType | None = None
    contact_name: str | None = None
    contact_phone: str | None = None


class WorkerRef(Schema):
    id: int
    username: str
    display_name: str


class StaffOut(Schema):
    id: int
    grid_id: int
    worker: WorkerRef
    post: GridPost
    since: dt.date


class StaffIn(Schema):
    worker: int = Field(description="User id, one of GET /grids/{id}/staff/candidates.")
    post: GridPost = Field(GridPost.A, description="a: patrol and data; b: specialist.")


class HouseholdOut(Schema):
    id: int
    address: str
    area_id: int
    building_id: int | None
    entrance: str
    room: str
    household_type: HouseholdType
    contact_name: str = Field(description="Masked: 张**.")
    contact_phone: str = Field(description="Masked: 138****5678.")
    masked: bool


class ResidentOut(Schema):
    id: int
    name: str = Field(description="Masked: 张**.")
    gender: Gender
    age: int = Field(description="Derived from the birth date, today.")
    id_number: str = Field(description="Masked: 5101**********1234.")
    phone: str = Field(description="Masked: 138****5678.")
    ethnicity: str
    relation: Relation
    population_type: PopulationType
    tags: list[str] = Field(
        description="Tag codes; elderly_60 is derived. Sensitive groups (released_prisoner, "
        "community_correction, drug_use, mental_disorder) only for roles that may reveal."
    )
    household_id: int | None
    address: str
    area_id: int
    arrived_on: dt.date | None
    masked: bool


class HouseholdDetail(HouseholdOut):
    residents: list[ResidentOut]


class HouseholdFilter(Schema):
    q: str | None = Field(
        None, description="Part of the address or contact name; a full phone or its last 4."
    )
    area: int | None = Field(None, description="Only households under this area (id).")


class ResidentFilter(Schema):
    q: str | None = Field(
        None,
        description="Part of the name or address; a full ID number or phone, or the last 4 "
        "characters of either.",
    )
    area: int | None = Field(None, description="Only residents under this area (id).")
    tag: str | None = Field(None, description="One tag code, e.g. elderly_60, disabled.")
    population_type: PopulationType | None = None

    @field_validator("tag")
    @classmethod
    def known_tag(cls, value: str | None) -> str | None:
        if value and value not in TAG_CODES:
            raise ValueError(f"Unknown tag; one of {', '.join(TAG_CODES)}.")
        return value or None


class RevealIn(Schema):
    reason: str = Field(
        min_length=2, max_length=500, description="Why you need the unmasked data (audited)."
    )

    @field_validator("reason")
    @classmethod
    def not_blank(cls, value: str) -> str:
        if len(value.strip()) < 2:
            raise ValueError("Say why you need the unmasked data.")
        return value.strip()


class RevealedResident(Schema):
    id: int
    name: str
    id_number: str
    phone: str


class RevealedHousehold(Schema):
    id: int
    contact_name: str
    contact_phone: str


class ResidentCreate(Schema):
    name: str = Field(max_length=64)
    id_number: str = Field(description="18-character GB 11643 ID number; gives birth date, gender.")
    household: int | None = Field(None, description="Household id; its area is the resident's.")
    area: int | None = Field(None, description="Area id, when the resident has no household.")
    phone: str = ""
    relation: Relation = Relation.OTHER
    population_type: PopulationType = PopulationType.REGISTERED
    tags: list[str] = Field(default_factory=list, description="Stored tag codes (not elderly_60).")
    ethnicity: str = ""
    arrived_on: dt.date | None = None


class ResidentUpdate(Schema):
    """Fields of a PATCH; only those sent are changed. `household: null` takes the resident
    out of their household (they stay in their area)."""

    name: str | None = Field(None, max_length=64)
    id_number: str | None = None
    phone: str | None = None
    relation: Relation | None = None
    population_type: PopulationType | None = None
    tags: list[str] | None = None
    ethnicity: str | None = None
    arrived_on: dt.date | None = None
    household: int | None = None


class ResidentExportFilter(ResidentFilter):
    reveal: bool = Field(False, description="Unmasked export (needs registry.reveal; audited).")
    reason: str = Field("", max_length=500, description="Required with reveal=true.")


class ImportErrorOut(Schema):
    row: int = Field(description="Row number as the spreadsheet shows it (header = 1).")
    column: str
    message: str


class ImportJobOut(Schema):
    id: int
    kind: ImportKind
    area_id: int
    file_name: str
    dry_run: bool
    status: ImportStatus = Field(
        description="pending → running → checked (dry run) | succeeded | failed (nothing written)."
    )
    total_rows: int
    processed_rows: int
    written_rows: int
    percent: int = Field(description="Rows validated so far, in percent.")
    errors: list[ImportErrorOut] = Field(
        description="Every bad cell, in row order (the first 1,000; `message` has the count)."
    )
    message: str
    created_at: dt.datetime
    finished_at: dt.datetime | None


class AreaRef(Schema):
    id: int
    code: str
    name: str
    level: str


class CoverageGrid(Schema):
    id: int
    code: str
    name: str
    community: str
    community_code: str
    households: int
    residents: int
    staff: int


class Bucket(Schema):
    low: int
    high: int
    grids: int
    label: str


class DistributionOut(Schema):
    grids: int
    minimum: int
    median: float
    maximum: int
    mean: float
    empty: int = Field(description="Grids without a household.")
    buckets: list[Bucket]


class UncoveredHousehold(Schema):
    id: int
    address: str
    area_code: str
    area_name: str


class UncoveredResident(Schema):
    id: int
    name: str = Field(description="Masked.")
    id_number: str = Field(description="Masked.")
    area_code: str
    area_name: str


class CoverageOut(Schema):
    """格不漏户、户不漏人: every household in a grid, every resident in a household, every grid
    staffed; counted over the part of the area the caller may see."""

    area: AreaRef
    generated_at: dt.datetime
    complete: bool
    min_staff: int
    max_staff: int
    households: int
    residents: int
    postings: int = Field(description="Grid postings (a worker in two grids counts twice).")
    workers: int = Field(description="Distinct grid workers.")
    households_without_grid: int
    residents_without_household: int
    grids: list[CoverageGrid]
    grids_without_staff: list[str] = Field(description="Grid codes.")
    understaffed: list[str] = Field(description="Grid codes: some staff, fewer than min_staff.")
    overstaffed: list[str] = Field(description="Grid codes: more staff than max_staff.")
    distribution: DistributionOut
    households_without_grid_rows: list[UncoveredHousehold] = Field(
        description="The first 1,000; the count above is complete."
    )
    residents_without_household_rows: list[UncoveredResident] = Field(
        description="The first 1,000; the count above is complete."
    )

    @staticmethod
    def resolve_grids_without_staff(obj) -> list[str]:
        return [g.code for g in obj.grids_without_staff]

    @staticmethod
    def resolve_understaffed(obj) -> list[str]:
        return [g.code for g in obj.understaffed]

    @staticmethod
    def resolve_overstaffed(obj) -> list[str]:
        return [g.code for g in obj.overstaffed]


class CoverageQuery(Schema):
    area: int = Field(description="The area whose subtree is reported (id).")


class HouseholdExportFilter(HouseholdFilter):
    reveal: bool = Field(False, description="Unmasked export (needs registry.reveal; audited).")
    reason: str = Field("", max_length=500, description="Required with reveal=true.")
