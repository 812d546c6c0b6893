"""The scoped admin: a staff user sees their own subtree in /admin and nothing else."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse

from civicgrid.accounts.models import User
from civicgrid.areas.models import Area
from civicgrid.registry.models import Household
from tests.builders import build_household, build_resident, build_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def dispatcher(personas):
    user = personas["street_dispatcher"]
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    return user


@pytest.fixture
def households(town):
    return {
        "A": build_household(town.grids["A2-1"], address="金牛路100号"),
        "B": build_household(town.grids["B1-1"], address="青羊路200号"),
    }


def test_street_dispatcher_lists_only_their_streets_areas(client, town, dispatcher):
    client.force_login(dispatcher)
    page = client.get(reverse("admin:areas_area_changelist"))
    assert page.status_code == 200
    listed = set(page.context["cl"].result_list)
    assert town.streets["A"] in listed and town.grids["A2-2"] in listed
    assert town.streets["B"] not in listed
    assert town.district not in listed
    assert not any(area.path.startswith(town.streets["B"].path) for area in listed)


def test_street_dispatcher_lists_only_their_streets_households(client, dispatcher, households):
    client.force_login(dispatcher)
    page = client.get(reverse("admin:registry_household_changelist"))
    assert page.status_code == 200
    assert list(page.context["cl"].result_list) == [households["A"]]
    assert "青羊路200号" not in page.text


def test_a_hidden_object_in_the_admin_is_missing(client, dispatcher, households):
    client.force_login(dispatcher)
    url = reverse("admin:registry_household_change", args=[households["B"].pk])
    response = client.get(url)
    # Django's admin answers a missing object with a redirect to the index and a message
    assert response.status_code == 302
    assert "青羊路200号" not in client.get(response["Location"]).text
    own = client.get(reverse("admin:registry_household_change", args=[households["A"].pk]))
    assert own.status_code == 200


def test_admin_filter_and_form_choices_are_scoped(town, dispatcher):
    request = RequestFactory().get("/admin/registry/household/")
    request.user = dispatcher
    model_admin = admin.site._registry[Household]
    field = model_admin.formfield_for_foreignkey(Household._meta.get_field("area"), request)
    assert set(field.queryset) == set(Area.objects.filter(path__startswith=town.streets["A"].path))
    filters = model_admin.get_list_filter(request)
    area_filter = dict(f for f in filters if isinstance(f, tuple))["area"]
    choices = area_filter.field_choices(
        area_filter, Household._meta.get_field("area"), request, model_admin
    )
    names = {name for _pk, name in choices}
    assert f"A1社区 ({town.communities['A1'].code})" in names
    assert not any(name.startswith("B1社区") for name in names)


def test_admin_is_read_only_for_registry_data(client, dispatcher, households):
    client.force_login(dispatcher)
    assert client.get(reverse("admin:registry_household_add")).status_code == 403
    response = client.post(
        reverse("admin:registry_household_change", args=[households["A"].pk]),
        {"address": "改过的地址"},
    )
    assert response.status_code == 403
    households["A"].refresh_from_db()
    assert households["A"].address == "金牛路100号"


def test_admin_masks_personal_data(client, personas, town):
    user = personas["community_worker"]
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    home = build_household(town.grids["A1-1"], contact_phone="13912345678")
    resident = build_resident(home, id_number="510106198005171236", phone="13812345678")
    client.force_login(user)
    page = client.get(reverse("admin:registry_resident_changelist"))
    assert "5101**********1236" in page.text and "510106198005171236" not in page.text
    page = client.get(reverse("admin:registry_resident_change", args=[resident.pk]))
    assert page.status_code == 200
    assert "510106198005171236" not in page.text and "13812345678" not in page.text
    page = client.get(reverse("admin:registry_household_change", args=[home.pk]))
    assert "13912345678" not in page.text and "139****5678" in page.text


def test_staff_without_a_scope_sees_nothing(client, town, households):
    nobody = build_user(is_staff=True)
    client.force_login(nobody)
    index = client.get(reverse("admin:index"))
    assert index.status_code == 200
    assert index.context["app_list"] == []
    for name in ["areas_area", "registry_household", "registry_resident", "core_auditentry"]:
        assert client.get(reverse(f"admin:{name}_changelist")).status_code == 403, name


def test_a_role_without_the_capability_does_not_get_the_model(client, town, personas):
    auditor = personas["auditor"]
    auditor.is_staff = True
    auditor.save(update_fields=["is_staff"])
    client.force_login(auditor)
    assert client.get(reverse("admin:registry_household_changelist")).status_code == 403
    assert client.get(reverse("admin:core_auditentry_changelist")).status_code == 200


def test_accounts_are_for_superusers_only(client, dispatcher, personas):
    client.force_login(dispatcher)
    assert client.get(reverse("admin:accounts_user_changelist")).status_code == 403
    client.force_login(personas["admin"])
    page = client.get(reverse("admin:accounts_user_changelist"))
    assert page.status_code == 200
    assert "street_dispatcher" in page.text
    page = client.get(reverse("admin:accounts_user_change", args=[dispatcher.pk]))
    assert "role_assignments" in page.text
    response = client.post(
        reverse("admin:accounts_user_add"),
        {
            "username": "new_worker",
            "display_name": "新网格员",
            "password1": "a-long-pass-phrase-1",
            "password2": "a-long-pass-phrase-1",
            "usable_password": "true",
            "role_assignments-TOTAL_FORMS": "0",
            "role_assignments-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert User.objects.get(username="new_worker").display_name == "新网格员"


def test_superuser_sees_everything(client, personas, town, households):
    client.force_login(personas["admin"])
    page = client.get(reverse("admin:registry_household_changelist"))
    assert set(page.context["cl"].result_list) == set(households.values())
