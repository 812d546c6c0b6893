"""The dashboards API: the figures of one period in the caller's scope (what the charts draw).
Scoped to `cases.view`; an area outside the scope is a 404, a bad period a 422."""

from django.http import Http404
from ninja import Query, Router

from civicgrid.core import clock
from civicgrid.core.api import ErrorOut
from civicgrid.dashboards import selectors
from civicgrid.dashboards.schemas import DashboardOut, DashboardQuery
from civicgrid.scoring import scorecards

router = Router(tags=["dashboards"])


@router.get(
    "/dashboards/summary",
    response={200: DashboardOut, 404: ErrorOut, 422: ErrorOut},
    summary="Every dashboard figure of a period in the caller's scope, with the URLs of the "
    "cases behind each",
)
def dashboard_summary(request, q: Query[DashboardQuery]):
    if not selectors.can_view(request.user):
        raise Http404
    per = scorecards.period(q.period, q.date or clock.today(), q.end)
    area = selectors.area_or_404(request.user, q.area)
    return selectors.summary(request.user, per, area=area)
