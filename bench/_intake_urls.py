"""The product's URLs plus a bare endpoint for bench/intake.py: it parses the same JSON with
the same authentication and inserts the same Case row, and does nothing else (no validation
beyond the schema, no locating, numbering, event, audit, deadlines or routing). It exists
only in the benchmark's server process."""

import itertools

from django.urls import path
from ninja import NinjaAPI, Status

from civicgrid.areas.models import Area
from civicgrid.cases.models import Case
from civicgrid.cases.schemas import CaseIn
from civicgrid.core.api import TokenAuth
from config.urls import urlpatterns as product_urlpatterns

bare = NinjaAPI(title="bench", version="bench", auth=[TokenAuth()], urls_namespace="bench")
_numbers = itertools.count(1)
_root: list[str] = []


@bare.post("/cases", response={201: dict})
def bare_case(request, payload: CaseIn):
    if not _root:
        _root.append(Area.objects.filter(parent__isnull=True).order_by("path").first().path)
    case = Case.objects.create(
        number=f"B{next(_numbers):012d}",
        channel=payload.channel,
        kind=payload.kind,
        category_id=payload.category,
        title=payload.title,
        description=payload.description,
        lat=payload.lat,
        lon=payload.lon,
        address=payload.address,
        area_path=_root[0],
        reporter_name=payload.reporter_name,
        reporter_phone=payload.reporter_phone,
        urgency=payload.urgency,
        created_by=request.user,
    )
    return Status(201, {"id": case.pk, "number": case.number})


urlpatterns = [*product_urlpatterns, path("bench/v1/", bare.urls)]
