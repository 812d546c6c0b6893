"""What one intake over the API asks the database (the setting of bench/intake.py: a district
hotline operator with a token, a dispatch rule that dispatches automatically, a time-limit
policy, no classifier model): the caller's roles are read once per request, and with no model
in use the classifier costs no query between checks. A role removed is no longer allowed in
the next request."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from civicgrid.accounts.api import issue_token
from civicgrid.accounts.choices import Role
from civicgrid.accounts.models import RoleAssignment
from civicgrid.cases.models import Case, DispatchRule
from civicgrid.cases.tests.builders import build_category, build_unit
from civicgrid.classifier import services as classifier
from tests.builders import build_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(town):
    leaf = build_category(
        "占道经营", parent=build_category("市容环境", parent=build_category("城市管理"))
    )
    unit = build_unit("城管执法中队", areas=[town.district])
    DispatchRule.objects.create(category=leaf, area=town.district, unit=unit, auto_dispatch=True)
    call_command("load_sla_presets", "--activate", "jinniu", verbosity=0)
    operator = build_user("intake_operator", role=Role.HOTLINE_OPERATOR, area=town.district)
    _token, key = issue_token(operator, "intake", actor=None)
    return {"town": town, "leaf": leaf, "operator": operator, "key": key}


def post(world, n: int):
    lat, lon = world["town"].centre(world["town"].grids["A1-1"])
    body = {
        "channel": "hotline",
        "kind": "complaint",
        "category": world["leaf"].pk,
        "title": f"占道经营 {n}",
        "description": "菜市场门口每天早上有人摆摊,堵住了人行道。",
        "lat": lat,
        "lon": lon,
        "reporter_name": "王小明",
        "reporter_phone": "13812345678",
        "idempotency_key": f"queries-{n}",
    }
    with CaptureQueriesContext(connection) as ctx:
        response = Client().post(
            "/api/v1/cases",
            body,
            content_type="application/json",
            headers={"Authorization": f"Bearer {world['key']}", "Accept-Language": "en"},
        )
    return response, [q["sql"] for q in ctx.captured_queries]


def test_an_intake_reads_the_roles_once_and_no_classifier_model_between_checks(world, settings):
    settings.CLASSIFIER_CHECK_SECONDS = 60
    classifier._forget()
    try:
        first, _ = post(world, 1)
        response, sql = post(world, 2)
    finally:
        classifier._forget()
    assert first.status_code == response.status_code == 201
    print(f"\n{connection.vendor}: {len(sql)} queries per intake")
    assert not [q for q in sql if "classifier_classifiermodel" in q]
    # The caller's scope: one read of their role assignments (the other RoleAssignment reads
    # are the notifications' recipients, aliased "r").
    assert len([q for q in sql if q.startswith('SELECT "accounts_roleassignment".')]) == 1
    assert Case.objects.get(pk=response.json()["id"]).lead_unit is not None


def test_a_role_removed_is_no_longer_allowed_in_the_next_request(world):
    assert post(world, 1)[0].status_code == 201
    RoleAssignment.objects.filter(user=world["operator"]).delete()
    response, _ = post(world, 2)
    assert response.status_code == 403
    assert Case.objects.count() == 1


def test_a_role_moved_elsewhere_is_seen_in_the_next_request(world):
    assert post(world, 1)[0].status_code == 201
    RoleAssignment.objects.filter(user=world["operator"]).update(role=Role.RESIDENT)
    assert post(world, 2)[0].status_code == 403
