"""Partner systems: registration (the key once, only its hash kept, a scoped service user),
updates and key replacement (audited), the management command, the admin and the demo's
partner."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import CommandError, call_command

from civicgrid.accounts.choices import Role
from civicgrid.accounts.models import PartnerSystem
from civicgrid.cases.models import Case
from civicgrid.core.errors import ServiceError
from civicgrid.core.models import AuditEntry
from civicgrid.core.scoping import scope_of
from civicgrid.open311 import partners


def test_register_keeps_only_a_hash_and_a_scoped_service_user(town):
    partner, key = partners.register_partner(name="随手拍", jurisdiction=town.streets["A"])
    assert key.startswith("o311_") and len(key) > 40
    assert partner.key_hash == PartnerSystem.hash_key(key) and key not in partner.key_hash
    assert partner.key_prefix == key[:12]
    assert not partner.user.has_usable_password()
    assignment = partner.user.role_assignments.get()
    assert (assignment.role, assignment.area) == (Role.HOTLINE_OPERATOR, town.streets["A"])
    assert scope_of(partner.user).can("cases.intake")
    assert partners.authenticate(key) == partner
    assert partners.authenticate(key + "x") is None
    assert partners.authenticate("") is None
    entry = AuditEntry.objects.get(object_type="accounts.partnersystem")
    assert key not in str(entry.fields)


def test_register_refuses_bad_input_and_writes_nothing(town):
    partners.register_partner(name="随手拍", jurisdiction=town.district)
    for kwargs, field in (
        ({"name": "随手拍", "jurisdiction": town.district}, "name"),
        ({"name": " ", "jurisdiction": town.district}, "name"),
        ({"name": "新系统", "jurisdiction": None}, "jurisdiction"),
        (
            {"name": "新系统", "jurisdiction": town.district, "rate_limit_per_minute": 0},
            "rate_limit_per_minute",
        ),
    ):
        with pytest.raises(ServiceError) as caught:
            partners.register_partner(**kwargs)
        assert field in caught.value.errors
    assert PartnerSystem.objects.count() == 1


def test_update_and_replace_key_are_audited(town):
    partner, old = partners.register_partner(name="随手拍", jurisdiction=town.district)
    partners.update_partner(partner, rate_limit_per_minute=5, is_active=False)
    partner.refresh_from_db()
    assert partner.rate_limit_per_minute == 5 and not partner.is_active
    partner.user.refresh_from_db()
    assert not partner.user.is_active
    assert partners.authenticate(old) is None
    partners.update_partner(partner, rate_limit_per_minute=5, is_active=True)
    new = partners.replace_key(partner)
    assert partners.authenticate(old) is None
    assert partners.authenticate(new) == partner
    updates = AuditEntry.objects.filter(
        object_type="accounts.partnersystem", action=AuditEntry.Action.UPDATE
    )
    assert [e.fields for e in updates.order_by("id")] == [
        {"rate_limit_per_minute": 5, "is_active": False},
        {"is_active": True},
        {"api_key": "replaced"},
    ]


def test_management_command(town):
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "open311_partner",
        "add",
        "街道小程序",
        "--area",
        town.streets["B"].code,
        "--rate",
        "30",
        stdout=out,
        stderr=err,
    )
    key = out.getvalue().strip()
    partner = partners.authenticate(key)
    assert partner.jurisdiction == town.streets["B"] and partner.rate_limit_per_minute == 30
    listing = io.StringIO()
    call_command("open311_partner", "list", stdout=listing)
    assert "街道小程序" in listing.getvalue() and key not in listing.getvalue()
    call_command("open311_partner", "disable", "街道小程序", stdout=io.StringIO())
    assert partners.authenticate(key) is None
    call_command("open311_partner", "enable", "街道小程序", stdout=io.StringIO())
    replaced = io.StringIO()
    call_command("open311_partner", "replace-key", "街道小程序", stdout=replaced, stderr=err)
    assert partners.authenticate(replaced.getvalue().strip()) == partner
    with pytest.raises(CommandError):
        call_command("open311_partner", "add", "x", "--area", "nowhere", stdout=out)
    with pytest.raises(CommandError):
        call_command("open311_partner", "disable", "nobody", stdout=out)


def test_admin_registers_a_partner_and_shows_the_key_once(client, personas, town):
    client.force_login(personas["admin"])
    response = client.post(
        "/admin/accounts/partnersystem/add/",
        {"name": "网格通", "jurisdiction": town.district.pk, "rate_limit_per_minute": 100},
        follow=True,
    )
    assert response.status_code == 200
    partner = PartnerSystem.objects.get(name="网格通")
    shown = [str(m) for m in response.context["messages"]]
    key = next(re.search(r"o311_[\w-]+", m).group() for m in shown if "o311_" in m)
    assert partners.authenticate(key) == partner
    page = client.get(f"/admin/accounts/partnersystem/{partner.pk}/change/")
    assert key not in page.content.decode()
    client.post(
        f"/admin/accounts/partnersystem/{partner.pk}/change/",
        {"rate_limit_per_minute": 7, "is_active": ""},
    )
    partner.refresh_from_db()
    assert partner.rate_limit_per_minute == 7 and not partner.is_active


@pytest.mark.parametrize("who", ["district_officer", "hotline_operator", "outsider"])
def test_only_administrators_see_partner_systems_in_admin(client, personas, town, who):
    partners.register_partner(name="网格通", jurisdiction=town.district)
    user = personas[who]
    user.is_staff = True
    user.save()
    client.force_login(user)
    assert client.get("/admin/accounts/partnersystem/").status_code == 403
    assert client.get("/admin/accounts/partnersystem/add/").status_code == 403


def test_the_demo_partner_is_registered_once(town):
    from civicgrid.demo.generator import DEMO_PARTNER_KEY, _open311_partner

    _open311_partner(town.district, lambda message: None)
    _open311_partner(town.district, lambda message: None)
    assert PartnerSystem.objects.count() == 1
    assert partners.authenticate(DEMO_PARTNER_KEY).jurisdiction == town.district
    assert not Case.objects.exists()


def test_api_registers_and_manages_partners(client, personas, town):
    client.force_login(personas["admin"])
    created = client.post(
        "/api/v1/open311/partners",
        {"name": "网格通", "jurisdiction": town.district.code, "rate_limit_per_minute": 30},
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    partner = partners.authenticate(body["api_key"])
    assert partner.pk == body["id"] and body["jurisdiction"] == town.district.code
    listed = client.get("/api/v1/open311/partners").json()
    assert [p["name"] for p in listed] == ["网格通"] and "api_key" not in listed[0]
    patched = client.patch(
        f"/api/v1/open311/partners/{partner.pk}",
        {"is_active": False},
        content_type="application/json",
    )
    assert patched.json()["is_active"] is False and patched.json()["rate_limit_per_minute"] == 30
    assert partners.authenticate(body["api_key"]) is None
    client.patch(
        f"/api/v1/open311/partners/{partner.pk}",
        {"is_active": True},
        content_type="application/json",
    )
    new = client.post(f"/api/v1/open311/partners/{partner.pk}/key").json()["api_key"]
    assert partners.authenticate(new) == partner
    bad = client.post(
        "/api/v1/open311/partners",
        {"name": "x", "jurisdiction": "nowhere"},
        content_type="application/json",
    )
    assert bad.status_code == 422
    duplicate = client.post(
        "/api/v1/open311/partners",
        {"name": "网格通", "jurisdiction": town.district.code},
        content_type="application/json",
    )
    assert duplicate.status_code == 422
    assert duplicate.json()["errors"][0]["field"] == "name"


@pytest.mark.parametrize("who", ["district_officer", "hotline_operator", "outsider"])
def test_api_refuses_everyone_but_administrators(client, personas, town, who):
    partner, _key = partners.register_partner(name="网格通", jurisdiction=town.district)
    client.force_login(personas[who])
    assert client.get("/api/v1/open311/partners").status_code == 403
    created = client.post(
        "/api/v1/open311/partners",
        {"name": "另一个", "jurisdiction": town.district.code},
        content_type="application/json",
    )
    assert created.status_code == 403
    assert client.post(f"/api/v1/open311/partners/{partner.pk}/key").status_code == 404
    patched = client.patch(
        f"/api/v1/open311/partners/{partner.pk}",
        {"is_active": False},
        content_type="application/json",
    )
    assert patched.status_code == 404
    assert PartnerSystem.objects.count() == 1 and partners.authenticate(_key) == partner
