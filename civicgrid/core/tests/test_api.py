"""The API's plumbing: authentication, errors, `/me`, `/audit`, OpenAPI and the docs page."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

from civicgrid.accounts.api import issue_token
from civicgrid.areas.models import Area
from civicgrid.core import audit, clock
from civicgrid.core.models import AuditEntry
from tests.builders import build_user

API = "/api/v1"


def as_user(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def test_unauthenticated_gets_401_json(db):
    response = Client().get(f"{API}/me")
    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication required."}


def test_me_lists_roles_capabilities_and_scope_roots(town, personas):
    body = as_user(personas["grid_worker"]).get(f"{API}/me").json()
    assert body["username"] == "grid_worker"
    assert [r["role"] for r in body["roles"]] == ["grid_worker"]
    assert body["roles"][0]["area"]["code"] == town.grids["A1-1"].code
    assert "registry.reveal" in body["capabilities"]
    assert "audit.view" not in body["capabilities"]
    assert body["everything"] is False
    assert [a["code"] for a in body["areas"]] == [town.grids["A1-1"].code]


def test_me_of_outsider_and_admin(personas):
    outsider = as_user(personas["outsider"]).get(f"{API}/me").json()
    assert outsider["roles"] == [] and outsider["capabilities"] == [] and outsider["areas"] == []
    admin = as_user(personas["admin"]).get(f"{API}/me").json()
    assert admin["everything"] is True
    assert "audit.view" in admin["capabilities"]


def test_bearer_token_authenticates_and_records_use(personas):
    token, key = issue_token(personas["community_worker"], "hotline bridge", actor=None)
    response = Client().get(f"{API}/me", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 200
    assert response.json()["username"] == "community_worker"
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_bad_revoked_or_inactive_token_is_401(personas):
    assert Client().get(f"{API}/me", HTTP_AUTHORIZATION="Bearer cg_nonsense").status_code == 401
    token, key = issue_token(personas["grid_worker"], "old", actor=None)
    token.revoked_at = clock.now()
    token.save()
    assert Client().get(f"{API}/me", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 401
    _, key2 = issue_token(personas["community_worker"], "new", actor=None)
    personas["community_worker"].is_active = False
    personas["community_worker"].save()
    assert Client().get(f"{API}/me", HTTP_AUTHORIZATION=f"Bearer {key2}").status_code == 401


def test_token_post_is_not_refused_as_csrf_failure(personas):
    # A system posts with its token and no cookies; the CSRF check is for sessions only.
    _, key = issue_token(personas["auditor"], "siem", actor=None)
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        f"{API}/tokens",
        {"name": "x"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    # Reaches the handler (which refuses token-minted tokens), not the CSRF check.
    assert response.status_code == 403
    assert "session" in response.json()["detail"]


def test_session_post_without_csrf_token_is_refused(personas):
    client = Client(enforce_csrf_checks=True)
    client.force_login(personas["auditor"])
    response = client.post(f"{API}/tokens", {"name": "x"}, content_type="application/json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


def _entries(town, personas):
    grid = town.grids["A1-1"]
    other_street_grid = town.grids["B1-1"]
    with clock.frozen(dt.datetime(2024, 5, 1, 2, 0, tzinfo=dt.UTC)):
        audit.record(personas["grid_worker"], AuditEntry.Action.REVEAL, grid, reason="visit")
    with clock.frozen(dt.datetime(2024, 5, 3, 2, 0, tzinfo=dt.UTC)):
        audit.record(personas["community_worker"], AuditEntry.Action.UPDATE, grid)
        audit.record(personas["admin"], AuditEntry.Action.UPDATE, other_street_grid)
    audit.record(personas["admin"], AuditEntry.Action.LOGIN, object_type="accounts.user")
    return grid, other_street_grid


def test_audit_log_is_scoped_to_the_auditors_subtree(town, personas):
    grid, other = _entries(town, personas)
    district_auditor = as_user(personas["auditor"])
    body = district_auditor.get(f"{API}/audit", {"page_size": 200}).json()
    # Building the town wrote one `create` row per area; the rest are ours.
    ids = {(e["object_id"], e["action"]) for e in body["items"] if e["action"] != "create"}
    assert ids == {(str(grid.pk), "reveal"), (str(grid.pk), "update"), (str(other.pk), "update")}
    # Entries with no area (a login) belong to nobody's subtree but the administrator's.
    assert all(e["action"] != "login" for e in body["items"])
    assert body["count"] == len(body["items"]) == 3 + Area.objects.count()
    admin_body = as_user(personas["admin"]).get(f"{API}/audit", {"action": "login"}).json()
    assert admin_body["count"] == 1

    street_auditor = build_user("street_auditor", role="auditor", area=town.streets["A"])
    body = as_user(street_auditor).get(f"{API}/audit", {"action": "update"}).json()
    assert {e["object_id"] for e in body["items"]} == {str(grid.pk)}


def test_audit_filters(town, personas):
    grid, _ = _entries(town, personas)
    client = as_user(personas["auditor"])

    def ids(**params):
        params.setdefault("object_type", "areas.area")
        body = client.get(f"{API}/audit", params).json()
        body["items"] = [e for e in body["items"] if e["actor"] is not None]
        return [(e["actor"]["username"], e["action"]) for e in body["items"]]

    assert ids(actor="grid_worker") == [("grid_worker", "reveal")]
    assert ids(actor=str(personas["grid_worker"].pk)) == [("grid_worker", "reveal")]
    assert ids(action="update", object_id=str(grid.pk)) == [("community_worker", "update")]
    # Same instant: newest id first.
    assert ids(**{"from": "2024-05-02", "to": "2024-05-04"}) == [
        ("admin", "update"),
        ("community_worker", "update"),
    ]
    # A date as `to` includes that whole day (Asia/Shanghai): 2024-05-01 10:00 local.
    assert ids(to="2024-05-01") == [("grid_worker", "reveal")]
    assert ids(to="2024-04-30") == []
    assert ids(to="2024-05-01T09:00:00+08:00") == []
    assert ids(**{"from": "2024-05-01T10:00+08:00", "to": "2024-05-01T10:00+08:00"}) == [
        ("grid_worker", "reveal")
    ]


def test_audit_filters_reject_bad_input_with_field_errors(personas):
    client = as_user(personas["auditor"])
    response = client.get(f"{API}/audit", {"from": "yesterday", "action": "dance"})
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"from", "action"}


@pytest.mark.parametrize("persona", ["outsider", "grid_worker", "district_officer"])
def test_audit_log_is_empty_without_audit_capability(town, personas, persona):
    _entries(town, personas)
    body = as_user(personas[persona]).get(f"{API}/audit").json()
    assert body == {"items": [], "count": 0}


def test_audit_page_size_is_capped_at_200(town, personas):
    for _ in range(205):
        audit.record(None, AuditEntry.Action.UPDATE, town.grids["A1-1"])
    client = as_user(personas["auditor"])
    body = client.get(f"{API}/audit", {"page_size": 500, "action": "update"}).json()
    assert body["count"] == 205 and len(body["items"]) == 200
    page2 = client.get(f"{API}/audit", {"page": 2, "action": "update"}).json()
    assert len(page2["items"]) == 50


def test_openapi_schema_is_served(db):
    response = Client().get(f"{API}/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["info"]["title"] == "CivicGrid API"
    expected = {
        "/me": {"get"},
        "/audit": {"get"},
        "/tokens": {"get", "post"},
        "/tokens/{token_id}": {"delete"},
        "/areas": {"get", "post"},
        "/areas/tree": {"get"},
        "/areas/{area_id}": {"get", "patch"},
        "/areas/{area_id}/geojson": {"get"},
        "/areas/{area_id}/children.geojson": {"get"},
        "/areas/{area_id}/siblings-report": {"get"},
        "/locate": {"get"},
        "/buildings": {"get"},
        "/buildings/{building_id}": {"get"},
        "/households": {"get"},
        "/households/{household_id}": {"get"},
        "/households/{household_id}/reveal": {"post"},
        "/residents": {"get", "post"},
        "/residents/{resident_id}": {"get", "patch"},
        "/residents/{resident_id}/reveal": {"post"},
        "/coverage": {"get"},
        "/coverage.xlsx": {"get"},
        "/residents.xlsx": {"get"},
        "/households.xlsx": {"get"},
        "/imports": {"post"},
        "/imports/{job_id}": {"get"},
    }
    for path, methods in expected.items():
        assert set(schema["paths"][f"/api/v1{path}"]) >= methods, path
    # Every operation but the public schema and /public/* needs a session or a bearer token.
    for path, operations in schema["paths"].items():
        if path.startswith("/api/v1/public/"):
            assert all("security" not in operation for operation in operations.values())
            continue
        for operation in operations.values():
            assert len(operation["security"]) == 2
    schemes = schema["components"]["securitySchemes"]
    assert {s["type"] for s in schemes.values()} >= {"http", "apiKey"}


def test_docs_page_loads_swagger_from_our_own_static_files(db):
    response = Client().get(f"{API}/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "cdn." not in html and "unpkg" not in html
    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert "/static/ninja/swagger-ui.css" in html
    assert finders.find("ninja/swagger-ui-bundle.js") is not None
    assert finders.find("ninja/swagger-ui.css") is not None
