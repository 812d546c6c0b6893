"""Area pages: the tree and map, lazy children, detail, the locate panel, grid GeoJSON."""

from __future__ import annotations

import pytest
from django.urls import reverse

from civicgrid.registry import services as registry_services
from tests.builders import ORIGIN_LAT, ORIGIN_LON, Town, build_area, build_household, square

pytestmark = pytest.mark.django_db


def login(client, user):
    client.force_login(user)
    return client


def test_tree_starts_at_the_top_of_each_scope(client, town, personas):
    expected = {
        "district_officer": ["测试区"],
        "street_dispatcher": ["A街道"],
        "community_worker": ["A1社区"],
        "grid_worker": ["第1网格"],
        "admin": ["测试区"],
    }
    for persona, names in expected.items():
        page = login(client, personas[persona]).get(reverse("areas:tree"))
        assert page.status_code == 200
        assert [node["name"] for node in page.context["roots"]] == names, persona
        assert "data-grid-map" in page.text


def test_tree_children_load_lazily_and_stay_in_scope(client, town, personas):
    login(client, personas["street_dispatcher"])
    street = town.streets["A"]
    page = client.get(reverse("areas:tree"))
    # the street is a collapsed node that fetches its children with htmx
    assert f'data-children-url="{reverse("areas:children", args=[street.pk])}"' in page.text
    fragment = client.get(reverse("areas:children", args=[street.pk]), HTTP_HX_REQUEST="true")
    assert fragment.status_code == 200
    assert "A1社区" in fragment.text and "A2社区" in fragment.text
    assert "<html" not in fragment.text
    # an area of street B does not exist for the street A dispatcher
    other = town.communities["B1"]
    assert client.get(reverse("areas:children", args=[other.pk])).status_code == 404


def test_resident_gets_the_grid_finder_without_the_tree(client, town, personas):
    page = login(client, personas["resident"]).get(reverse("areas:tree"))
    assert page.status_code == 200
    assert page.context["roots"] == []
    assert page.context["geojson_url"] == ""
    assert "data-geojson-url" not in page.text


def test_grid_geojson_holds_only_visible_grids(client, town, personas):
    login(client, personas["community_worker"])
    data = client.get(reverse("areas:grids_geojson")).json()
    codes = {f["properties"]["code"] for f in data["features"]}
    assert codes == {town.grids["A1-1"].code, town.grids["A1-2"].code}
    # the next level under the street is hidden: the community worker only sees A1
    data = client.get(reverse("areas:area_grids_geojson", args=[town.communities["A1"].pk])).json()
    assert {f["properties"]["name"] for f in data["features"]} == {"第1网格", "第2网格"}
    response = client.get(reverse("areas:area_grids_geojson", args=[town.communities["B1"].pk]))
    assert response.status_code == 404


def test_grid_geojson_of_a_grid_is_the_grid_itself(client, town, personas):
    login(client, personas["grid_worker"])
    grid = town.grids["A1-1"]
    data = client.get(reverse("areas:area_grids_geojson", args=[grid.pk]), {"all": "1"}).json()
    assert [f["id"] for f in data["features"]] == [grid.pk]


def test_locate_panel_names_the_chain(client, town, personas):
    grid = town.grids["B2-2"]
    lat, lon = Town.centre(grid)
    login(client, personas["street_dispatcher"])  # street A: B2 is outside their scope
    page = client.get(reverse("areas:locate"), {"lat": lat, "lon": lon})
    assert page.status_code == 200
    assert page.context["location"].grid.id == grid.pk
    assert [ref["name"] for ref in page.context["chain"]] == [
        "第2网格",
        "B2社区",
        "B街道",
        "测试区",
    ]
    assert f'data-grid-id="{grid.pk}"' in page.text
    assert 'data-status="inside"' in page.text
    # names are shown, but only areas in the user's scope are links
    assert reverse("areas:detail", args=[grid.pk]) not in page.text
    own = Town.centre(town.grids["A1-2"])
    page = client.get(reverse("areas:locate"), {"lat": own[0], "lon": own[1]})
    assert reverse("areas:detail", args=[town.grids["A1-2"].pk]) in page.text


def test_locate_panel_reports_nearest_and_outside(client, town, personas):
    login(client, personas["resident"])
    # 20 m west of the town's edge: in the gap tolerance of the nearest grid
    page = client.get(
        reverse("areas:locate"), {"lat": ORIGIN_LAT + 0.005, "lon": ORIGIN_LON - 0.0002}
    )
    assert page.context["location"].status == "nearest"
    assert 'data-status="nearest"' in page.text
    page = client.get(reverse("areas:locate"), {"lat": 10.0, "lon": 10.0})
    assert page.context["location"].status == "outside"
    assert page.context["chain"] == []


def test_locate_panel_reports_overlaps(client, town, personas):
    grid = town.grids["A1-1"]
    # a second grid drawn over the south half of A1-1, with higher priority
    overlay = build_area(
        "grid",
        town.communities["A1"],
        name="叠加网格",
        geometry=square(ORIGIN_LON, ORIGIN_LAT, 0.01, 0.004),
        priority=5,
        check_containment=False,
    )
    login(client, personas["community_worker"])
    page = client.get(
        reverse("areas:locate"), {"lat": ORIGIN_LAT + 0.002, "lon": ORIGIN_LON + 0.005}
    )
    location = page.context["location"]
    assert location.status == "overlap"
    assert location.grid.id == overlay.pk
    assert grid.code in page.text


def test_locate_by_address_uses_the_building_registry(client, town, personas):
    grid = town.grids["A2-1"]
    lat, lon = Town.centre(grid)
    registry_services.create_building(
        actor=None, grid=grid, address="锦江路3号2栋", lat=lat, lon=lon
    )
    login(client, personas["resident"])
    page = client.get(reverse("areas:locate"), {"address": "锦江路3号2栋1单元501"})
    assert page.context["location"].grid.id == grid.pk
    assert "锦江路3号2栋" in page.text


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"lat": "91", "lon": "104"}, "lat"),
        ({"lat": "30.6"}, "lon"),
        ({"lat": "abc", "lon": "104"}, "lat"),
        ({}, "address"),
    ],
)
def test_locate_panel_bad_input_names_the_field(client, personas, params, field):
    page = login(client, personas["resident"]).get(reverse("areas:locate"), params)
    assert page.status_code == 200
    assert field in page.context["form"].errors
    assert 'class="notice error"' in page.text


def test_area_detail_shows_chain_children_counts_and_sibling_check(client, town, personas):
    build_household(town.grids["A1-2"])
    community = town.communities["A1"]
    page = login(client, personas["street_dispatcher"]).get(
        reverse("areas:detail", args=[community.pk])
    )
    assert page.status_code == 200
    # breadcrumb: district (not in scope: text) > street (link) > community
    assert "测试区" in page.text
    assert reverse("areas:detail", args=[town.streets["A"].pk]) in page.text
    rows = {row["area"].name: row for row in page.context["children"]}
    assert rows["第2网格"]["households"] == 1 and rows["第1网格"]["households"] == 0
    assert page.context["siblings"].ok
    assert "无缝隙、无重叠" in page.text


def test_grid_detail_shows_staff_and_buildings(client, town, personas):
    grid = town.grids["A1-1"]
    registry_services.assign_grid_worker(actor=None, grid=grid, worker=personas["grid_worker"])
    registry_services.create_building(actor=None, grid=grid, address="金牛路8号1栋")
    page = login(client, personas["grid_worker"]).get(reverse("areas:detail", args=[grid.pk]))
    assert page.status_code == 200
    assert page.context["is_grid"]
    assert [a.worker for a in page.context["staff"]] == [personas["grid_worker"]]
    assert "金牛路8号1栋" in page.text
    assert page.context["siblings"] is None


def test_sibling_check_reports_a_gap(client, town, personas):
    # a community whose single grid covers only half of it
    community = build_area(
        "community",
        town.streets["B"],
        name="缺口社区",
        geometry=square(ORIGIN_LON + 0.03, ORIGIN_LAT, 0.01, 0.02),
        check_containment=False,
    )
    build_area(
        "grid",
        community,
        name="半格",
        geometry=square(ORIGIN_LON + 0.03, ORIGIN_LAT, 0.01, 0.01),
    )
    page = login(client, personas["admin"]).get(reverse("areas:detail", args=[community.pk]))
    assert page.context["siblings"].gaps
    assert "m²" in page.text


@pytest.mark.parametrize("persona", ["outsider", "grid_worker", "resident"])
def test_hidden_areas_are_404(client, town, personas, persona):
    login(client, personas[persona])
    other = town.grids["B1-1"]
    assert client.get(reverse("areas:detail", args=[other.pk])).status_code == 404
    assert client.get(reverse("areas:children", args=[other.pk])).status_code == 404
    assert client.get(reverse("areas:area_grids_geojson", args=[other.pk])).status_code == 404


def test_outsider_sees_an_empty_tree_and_no_grids(client, town, personas):
    login(client, personas["outsider"])
    assert client.get(reverse("areas:tree")).context["roots"] == []
    assert client.get(reverse("areas:grids_geojson")).json()["features"] == []


def test_map_tiles_come_from_the_setting_only(client, personas, settings):
    login(client, personas["district_officer"])
    page = client.get(reverse("areas:tree"))
    assert 'data-tile-url=""' in page.text  # default: vectors on a plain background
    settings.MAP_TILE_URL = "https://tiles.example.org/{z}/{x}/{y}.png"
    page = client.get(reverse("areas:tree"))
    assert 'data-tile-url="https://tiles.example.org/{z}/{x}/{y}.png"' in page.text
    # every script and stylesheet is served locally (no CDN)
    assert "/static/vendor/leaflet/leaflet.js" in page.text
    assert "/static/vendor/htmx/htmx.min.js" in page.text
    assert "unpkg" not in page.text and "cdn" not in page.text.lower()


def test_area_page_shows_its_recorded_history(client, town, personas):
    grid = town.grids["A1-1"]
    page = login(client, personas["grid_worker"]).get(reverse("areas:detail", args=[grid.pk]))
    changes = list(page.context["history"])
    assert [c.kind for c in changes] == ["create"]
    assert grid.code in page.text
