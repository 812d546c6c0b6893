"""The demo's request loop: configuration from cases/data and a case history with real
timelines in many states."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from civicgrid.accounts.models import Unit
from civicgrid.cases import catalogue, routing
from civicgrid.cases.models import Case, CaseEvent, DispatchRule, SlaPolicy
from civicgrid.core.scoping import scope_of

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        call_command("load_demo", scale=0.005, streets=1, cases=120, verbosity=0)
    yield
    with django_db_blocker.unblock():
        call_command("flush", interactive=False, verbosity=0)


def test_configuration_is_loaded(demo):
    taxonomy = catalogue.active_taxonomy()
    assert taxonomy.version == "jinniu-2026"
    assert [c.name for c in catalogue.search_categories("zdjy")] == ["占道经营"]
    bureau = Unit.objects.get(code="510106-CGJ")
    lights = Unit.objects.get(code="510106-CGJ-SZS-LDS")
    assert catalogue.unit_depth(lights) == 3 and lights.parent.parent == bureau
    assert Unit.objects.filter(kind="community").exists()
    assert SlaPolicy.objects.get(is_active=True).code == "jinniu"
    vendors = taxonomy.categories.get(code="09006")
    assert DispatchRule.objects.filter(category=vendors, auto_dispatch=True).exists()


def test_routing_sends_vendors_to_the_street_and_building_to_a_dispatcher(demo):
    taxonomy = catalogue.active_taxonomy()
    case = Case.objects.filter(grid__isnull=False).first()
    vendors = routing.route(taxonomy.categories.get(code="09006"), case.grid)
    assert [u.kind for u in vendors.units] == ["street"] and vendors.auto
    building = routing.route(taxonomy.categories.get(code="06001"), case.grid)
    assert building.ambiguous and len(building.units) == 2


def test_history_has_many_states_with_timelines(demo):
    cases = Case.objects.filter(idempotency_key__startswith="demo-")
    assert cases.count() == 120
    states = set(cases.values_list("state", flat=True))
    assert {"received", "dispatched", "accepted", "closed", "resolved"} <= states
    assert len(states) >= 7
    for case in cases.exclude(state="received")[:30]:
        actions = list(CaseEvent.objects.filter(case=case).values_list("action", flat=True))
        assert actions[0] == "receive" and len(actions) >= 2
    closed = cases.filter(state="closed").first()
    actions = set(closed.events.values_list("action", flat=True))
    assert {"receive", "accept", "resolve", "callback", "close"} <= actions
    assert closed.received_at < closed.closed_at


def test_department_login_sees_its_units_cases(demo):
    from civicgrid.accounts.models import User

    department = User.objects.get(username="department")
    assert scope_of(department).unit_ids == (Unit.objects.get(code="510106-CGJ").pk,)
