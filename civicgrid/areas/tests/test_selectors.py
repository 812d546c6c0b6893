import pytest

from civicgrid.areas import selectors
from civicgrid.areas.choices import GridLayer, Level
from tests.builders import CELL, ORIGIN_LAT, ORIGIN_LON, build_area, square


def codes(nodes):
    return [n["code"] for n in nodes]


def test_tree_of_a_street_dispatcher_starts_at_their_street(town, personas):
    tree = selectors.area_tree(personas["street_dispatcher"])
    assert codes(tree) == [town.streets["A"].code]
    street = tree[0]
    assert street["child_count"] == 2
    assert codes(street["children"]) == [town.communities["A1"].code, town.communities["A2"].code]
    grids = street["children"][0]["children"]
    assert codes(grids) == [town.grids["A1-1"].code, town.grids["A1-2"].code]
    assert grids[0] == {
        "id": town.grids["A1-1"].pk,
        "code": town.grids["A1-1"].code,
        "name": "第1网格",
        "level": Level.GRID,
        "layer": GridLayer.SERVICE,
        "child_count": 0,
        "children": [],
    }


def test_tree_depth_is_limited_but_counts_stay(town, personas):
    tree = selectors.area_tree(personas["district_officer"], max_depth=1)
    assert codes(tree) == [town.district.code]
    streets = tree[0]["children"]
    assert codes(streets) == [town.streets["A"].code, town.streets["B"].code]
    assert streets[0]["children"] == [] and streets[0]["child_count"] == 2


def test_tree_from_a_root(town, personas):
    tree = selectors.area_tree(personas["admin"], root=town.communities["B2"])
    assert codes(tree) == [town.communities["B2"].code]
    assert len(tree[0]["children"]) == 2


def test_outsider_and_hidden_roots_give_nothing(town, personas):
    assert selectors.area_tree(personas["outsider"]) == []
    assert selectors.area_tree(personas["street_dispatcher"], root=town.streets["B"]) == []
    assert list(selectors.children_of(personas["outsider"], town.district)) == []
    assert (
        selectors.grids_geojson(personas["grid_worker"], town.communities["B1"])["features"] == []
    )


def test_children_of_are_scoped_and_in_code_order(town, personas):
    worker = personas["community_worker"]  # community A1: not its sibling A2
    assert list(selectors.children_of(worker, town.streets["A"])) == [town.communities["A1"]]
    assert list(selectors.children_of(worker, town.communities["A1"])) == [
        town.grids["A1-1"],
        town.grids["A1-2"],
    ]


def test_grids_geojson_next_level_or_all_grids(town, personas):
    officer = personas["district_officer"]
    streets = selectors.grids_geojson(officer, town.district)
    assert [f["properties"]["code"] for f in streets["features"]] == [
        town.streets["A"].code,
        town.streets["B"].code,
    ]
    grids = selectors.grids_geojson(officer, town.streets["B"], all_grids=True)
    assert streets["type"] == grids["type"] == "FeatureCollection"
    assert len(grids["features"]) == 4
    feature = grids["features"][0]
    assert feature["geometry"]["type"] == "Polygon"
    assert feature["properties"] == {
        "id": town.grids["B1-1"].pk,
        "code": town.grids["B1-1"].code,
        "name": "第1网格",
        "level": Level.GRID,
        "layer": GridLayer.SERVICE,
    }


def test_grids_geojson_picks_the_layer(town, personas):
    party = build_area(
        Level.GRID,
        town.communities["A1"],
        layer=GridLayer.PARTY,
        geometry=square(ORIGIN_LON, ORIGIN_LAT, CELL, 2 * CELL),
    )
    build_area(Level.GRID, town.communities["A1"])  # no boundary: not drawn
    worker = personas["community_worker"]
    service = selectors.grids_geojson(worker, town.communities["A1"])
    assert len(service["features"]) == 2
    party_layer = selectors.grids_geojson(worker, town.communities["A1"], GridLayer.PARTY)
    assert [f["id"] for f in party_layer["features"]] == [party.pk]


def test_chain_of_runs_from_the_root_to_the_area(town):
    grid = town.grids["B2-1"]
    assert selectors.chain_of(grid) == [
        town.district,
        town.streets["B"],
        town.communities["B2"],
        grid,
    ]
    assert selectors.chain_of(town.district) == [town.district]


@pytest.mark.parametrize("role", ["street_dispatcher", "grid_worker"])
def test_tree_never_shows_more_than_the_scope(town, personas, role):
    visible = set()

    def walk(nodes):
        for node in nodes:
            visible.add(node["id"])
            walk(node["children"])

    walk(selectors.area_tree(personas[role]))
    root = town.streets["A"] if role == "street_dispatcher" else town.grids["A1-1"]
    from civicgrid.areas.models import Area

    assert visible == set(
        Area.objects.filter(path__startswith=root.path).values_list("id", flat=True)
    )


def test_history_of_lists_the_changes_an_area_took_part_in(town):
    from civicgrid.areas import services

    services.update_area(town.grids["A1-1"], actor=None, name="新名")
    kinds = [c.kind for c in selectors.history_of(town.grids["A1-1"])]
    assert kinds == ["rename", "create"]
