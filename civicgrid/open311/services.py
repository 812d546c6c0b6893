"""Posting a GeoReport v2 service request: check it, then hand it to `intake.receive_case`.

Nothing here writes a case: intake does, on the partner channel, with the partner's service
user as the actor, so routing, deadlines, audit and notifications are those of any case. The
token is the case's idempotency key, so `tokens/{token}` finds the case through intake's own
mechanism, and a retried POST with the same token gives back the same case.
"""

from __future__ import annotations

import re
import uuid

from django.utils import translation
from django.utils.translation import gettext as _

from civicgrid.accounts.models import PartnerSystem
from civicgrid.areas import locator
from civicgrid.areas.models import Area
from civicgrid.cases import intake
from civicgrid.cases.choices import Channel, Kind
from civicgrid.cases.models import Case
from civicgrid.core.errors import PermissionDeniedError, ServiceError
from civicgrid.open311 import attributes, selectors

TOKEN_PREFIX = "o311-"
DETAILS_MARKER = selectors.DETAILS_MARKER  # where the attribute answers start, see below
MAX_ID_FIELD = 100  # device_id, account_id, address_id
MAX_MEDIA_URL = 1000
# A document type declaration has no business in a form field; it is how entity expansion
# (billion laughs) and external entities get into whatever parses the text later.
_XML_DECLARATIONS = re.compile(r"<!\s*(DOCTYPE|ENTITY|ELEMENT|ATTLIST)|<\?xml", re.IGNORECASE)
# intake's field names -> the GeoReport v2 names a client sent.
_FIELD_NAMES = {
    "lon": "long",
    "lat": "lat",
    "address": "address_string",
    "reporter_name": "first_name",
    "reporter_phone": "phone",
    "category": "service_code",
    "idempotency_key": "token",
}


def new_token() -> str:
    return TOKEN_PREFIX + uuid.uuid4().hex


def is_token(value: str) -> bool:
    return value.startswith(TOKEN_PREFIX) and len(value) == len(TOKEN_PREFIX) + 32


def _refuse(errors: dict[str, str]) -> ServiceError:
    return ServiceError(next(iter(errors.values())), errors=errors)


def _float(value: str, field: str, low: float, high: float, errors: dict) -> float | None:
    try:
        number = float(value)
        if not low <= number <= high:  # also refuses nan
            raise ValueError
    except ValueError:
        errors[field] = _("%(field)s must be a number between %(low)d and %(high)d.") % {
            "field": field,
            "low": low,
            "high": high,
        }
        return None
    return number


def submit_request(
    partner: PartnerSystem,
    params: dict[str, str],
    posted_attributes: dict[str, list[str]],
    *,
    jurisdiction: Area | None = None,
    token: str | None = None,
) -> tuple[Case, str]:
    """Take in one GeoReport v2 request for `partner`; returns (the case, its token).

    `params` are the form fields (api_key and jurisdiction_id already dealt with),
    `posted_attributes` the `attribute[code]` answers. Raises ServiceError with the client's
    field names for bad input (no case is written).
    """
    errors: dict[str, str] = {}
    for name, value in list(params.items()) + [
        (f"attribute[{k}]", v) for k, values in posted_attributes.items() for v in values
    ]:
        if value and _XML_DECLARATIONS.search(value):
            errors[name] = _("Markup declarations are not accepted.")
    if errors:
        raise _refuse(errors)

    code = params.get("service_code", "").strip()
    category = selectors.service(code) if code else None
    if not code:
        errors["service_code"] = _("Give a service_code.")
    elif category is None:
        errors["service_code"] = _("Unknown service_code %(code)s.") % {"code": code[:50]}

    lat_text, lon_text = params.get("lat", "").strip(), params.get("long", "").strip()
    address = params.get("address_string", "").strip()
    address_id = params.get("address_id", "").strip()
    lat = lon = None
    if lat_text or lon_text:
        if not (lat_text and lon_text):
            errors["long" if lat_text else "lat"] = _("Give both lat and long.")
        else:
            lat = _float(lat_text, "lat", -90, 90, errors)
            lon = _float(lon_text, "long", -180, 180, errors)
    elif not address and not address_id:
        errors["lat"] = _("Give a location: lat and long, address_string or address_id.")
    for name in ("device_id", "account_id", "address_id"):
        if len(params.get(name, "")) > MAX_ID_FIELD:
            errors[name] = _("%(field)s may have at most %(n)d characters.") % {
                "field": name,
                "n": MAX_ID_FIELD,
            }
    media_url = params.get("media_url", "").strip()
    if media_url and (len(media_url) > MAX_MEDIA_URL or not re.match(r"^https?://\S+$", media_url)):
        errors["media_url"] = _("media_url must be an http(s) address.")
    answers: dict = {}
    if category is not None:
        try:
            answers = attributes.clean_attributes(category.code, posted_attributes)
        except ServiceError as exc:
            errors.update(exc.errors)
    if lat is not None and lon is not None and "lat" not in errors and "long" not in errors:
        if _outside_jurisdiction(locator.locate(lat, lon), jurisdiction or partner.jurisdiction):
            errors["lat"] = _("This location is outside the jurisdiction of your api_key.")
    elif lat is None and address and "lat" not in errors and "long" not in errors:
        # An address the registry knows places the case as surely as a point does.
        found = locator.locate_address(address)
        if _outside_jurisdiction(found, jurisdiction or partner.jurisdiction):
            errors["address_string"] = _(
                "This address is outside the jurisdiction of your api_key."
            )
    if errors:
        raise _refuse(errors)

    name = " ".join(
        p for p in (params.get("first_name", "").strip(), params.get("last_name", "").strip()) if p
    )
    description = params.get("description", "").strip() or category.name
    if len(description) <= intake.MAX_DESCRIPTION:  # longer ones are intake's to refuse
        notes = details_block(category.code, answers, media_url)
        if notes and len(description) + len(notes) > intake.MAX_DESCRIPTION:
            raise _refuse(
                {
                    "description": _(
                        "With the attribute answers and media_url the description may have at "
                        "most %(n)d characters."
                    )
                    % {"n": intake.MAX_DESCRIPTION - len(notes)}
                }
            )
        description += notes
    extra = {"partner": partner.name}
    for key, value in (
        ("media_url", media_url),
        ("address_id", address_id),
        ("device_id", params.get("device_id", "").strip()),
        ("account_id", params.get("account_id", "").strip()),
    ):
        if value:
            extra[key] = value
    if answers:
        extra["attributes"] = answers
    token = token or new_token()
    try:
        case = intake.receive_case(
            actor=partner.user,
            channel=Channel.PARTNER,
            kind=Kind.REPORT,
            title=category.name,
            description=description,
            category=category,
            lat=lat,
            lon=lon,
            # The partner's own address id is the best text there is when nothing else came.
            address=address or address_id,
            reporter_name=name,
            reporter_phone=params.get("phone", "").strip(),
            idempotency_key=token,
            extra=extra,
        )
    except PermissionDeniedError:
        raise
    except ServiceError as exc:
        renamed = {_FIELD_NAMES.get(k, k): v for k, v in exc.errors.items()} or {"": exc.message}
        raise _refuse(renamed) from None
    return case, token


def details_block(code: str, answers: dict, media_url: str) -> str:
    """The attribute answers and the media URL as lines after DETAILS_MARKER, appended to the
    description so the units see them on the case page and the work order; `request_row`
    cuts them off again. Labels in Chinese, like the rest of the units' pages."""
    if not answers and not media_url:
        return ""
    lines = []
    with translation.override(selectors.NOTES_LANGUAGE):
        for attribute in attributes.for_category(code):
            value = answers.get(attribute["code"])
            if value is None:
                continue
            names = {v["key"]: v["name"] for v in attribute["values"]}
            values = value if isinstance(value, list) else [value]
            shown = "、".join(names.get(v, v) for v in values)
            lines.append(f"{attribute['description'] or attribute['code']}：{shown}")
        if media_url:
            lines.append(_("Photo: %(url)s") % {"url": media_url})
    return DETAILS_MARKER + "\n".join(lines)


def _outside_jurisdiction(found: locator.Location, jurisdiction: Area) -> bool:
    """Whether a located point or address lies in a grid outside `jurisdiction` (one in no
    grid at all is filed under the jurisdiction, as intake does for any case)."""
    if found.grid is None:
        return False
    return jurisdiction.pk not in {ref.id for ref in found.chain}


def case_for_token(token: str, partner: PartnerSystem | None) -> Case | None:
    """The case a token (an Open311 idempotency key) made, if the caller may read it."""
    if not is_token(token):
        return None
    cases = selectors.requests_visible(partner, None)
    return cases.filter(idempotency_key=token).only("id", "number").first()
