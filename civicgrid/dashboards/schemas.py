import datetime as dt
from typing import Literal

from ninja import Field, Schema


class DashboardQuery(Schema):
    period: Literal["day", "week", "month", "quarter", "year", "range"] = "month"
    date: dt.date | None = Field(None, description="A day in the period (default: today).")
    end: dt.date | None = Field(None, description="The last day, for period=range.")
    area: int | None = Field(None, description="Limit to this area's subtree (in your scope).")


class DashboardOut(Schema):
    period: dict = Field(description="kind, start, end, label")
    previous_period: dict
    granularity: Literal["day", "week", "month"] = Field(description="The trend's buckets.")
    scope: dict = Field(description="label, area, level: what the figures cover")
    preset: str = Field(description="The scorecard rules the rates use")
    totals: dict = Field(
        description="received (and received_before, change against the previous period), "
        "scored, resolved (resolved_url: its cases), invalid, merged, proactive; url: the "
        "cases received, in the console"
    )
    trend: list[dict] = Field(
        description="Per bucket: start, end, label, total, response_on_time and "
        "resolved_on_time (shares, null without due cases), url"
    )
    channels: list[dict] = Field(description="key, label, total, url; the largest first")
    kinds: list[dict] = Field(description="key, label, total, url; the largest first")
    categories: list[dict] = Field(description="Top-level categories: id, label, total, url")
    rates: list[dict] = Field(
        description="The three rates (三率): metric, label, rate, numerator, denominator, "
        "numerator_url, denominator_url"
    )
    compliance: list[dict] = Field(
        description="Time-limit compliance (response, resolution): rate, on_time, due, late, "
        "on_time_url, due_url"
    )
    deadlines: dict = Field(
        description="Now: open, near_due, overdue open cases and their console URLs"
    )
    map: dict = Field(
        description="geojson_url (grid boundaries) and grids: {grid id: name, total, open, "
        "overdue, overdue_share, url, overdue_url}"
    )
