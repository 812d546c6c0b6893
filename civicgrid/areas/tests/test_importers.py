import json
from pathlib import Path

import pytest
from django.conf import settings

from civicgrid.areas import locator
from civicgrid.areas.choices import ChangeKind, GridLayer, Level
from civicgrid.areas.importers import Status, division_code, import_boundaries, import_divisions
from civicgrid.areas.models import Area, AreaChange, AreaParentLink, AreaRevision
from civicgrid.areas.services import AreaError
from civicgrid.areas.tests.data import (
    BOWTIE,
    FILES,
    X0,
    Y0,
    W,
    collection,
    column,
    feature,
    write_divisions,
)
from civicgrid.core.models import AuditEntry
from tests.builders import build_area, square

SHARED_DIVISIONS = Path(settings.BASE_DIR).parent / "shared" / "data" / "admin_divisions"


@pytest.fixture
def divisions(db, tmp_path) -> Path:
    return write_divisions(tmp_path / "divisions", FILES)


def test_division_codes_are_padded_to_twelve_digits():
    assert division_code("11") == "110000000000"
    assert division_code("1101") == "110100000000"
    assert division_code("110101") == "110101000000"
    assert division_code("110101001") == "110101001000"
    # Entries that only add zeros to their parent's code keep a level letter.
    assert division_code("441900") == "441900000000D"
    assert division_code("350527000") == "350527000000S"


def test_import_builds_the_tree_with_history(divisions, personas):
    officer = personas["district_officer"]
    before = set(Area.objects.values_list("pk", flat=True))
    report = import_divisions(divisions, actor=officer)
    assert report.ok and report.written
    assert {level: c.created for level, c in report.levels.items()} == {
        Level.PROVINCE: 2,
        Level.CITY: 2,
        Level.DISTRICT: 3,
        Level.STREET: 4,
    }
    imported = Area.objects.exclude(pk__in=before)
    assert imported.count() == 11
    street = Area.objects.get(code="110101001000")
    chain = [Area.objects.get(pk=pk).code for pk in street.ancestor_ids()]
    assert chain == ["110000000000", "110100000000", "110101000000"]
    assert street.path == f"{street.parent.path}{street.pk}/" and street.depth == 3
    assert (
        Area.objects.get(code="110000000000").path
        == f"/{Area.objects.get(code='110000000000').pk}/"
    )
    dongguan = Area.objects.get(code="441900003000")
    assert dongguan.parent.code == "441900000000D"
    assert dongguan.parent.parent.code == "441900000000"
    assert AreaParentLink.objects.filter(area__in=imported, valid_to__isnull=True).count() == 11
    assert not Area.objects.filter(path="").exists()
    entries = AuditEntry.objects.filter(action=AuditEntry.Action.IMPORT)
    assert entries.count() == 1 and entries.get().actor == officer
    assert AreaChange.objects.get(kind=ChangeKind.CREATE, targets=street)


def test_import_twice_creates_nothing_and_renames(divisions):
    import_divisions(divisions)
    revision = AreaRevision.objects.get(pk=1).value
    again = import_divisions(divisions)
    assert again.ok and not again.written
    assert again.total("created") == again.total("updated") == 0
    assert again.total("unchanged") == 11
    assert AreaRevision.objects.get(pk=1).value == revision
    renamed = dict(
        FILES,
        **{
            "streets.csv": [
                *FILES["streets.csv"][:2],
                '110101002,"景山新街道",110101,11,1101',
                *FILES["streets.csv"][3:],
            ]
        },
    )
    write_divisions(divisions, renamed)
    report = import_divisions(divisions)
    assert report.levels[Level.STREET].updated == 1
    assert Area.objects.get(code="110101002000").name == "景山新街道"
    assert AreaChange.objects.filter(kind=ChangeKind.RENAME).count() == 1


def test_root_imports_the_subtree_and_its_ancestors(divisions):
    report = import_divisions(divisions, root_code="110101")
    assert report.total("created") == 5
    assert set(Area.objects.values_list("code", flat=True)) == {
        "110000000000",
        "110100000000",
        "110101000000",
        "110101001000",
        "110101002000",
    }
    # Widening the root later adds the rest without touching what is there.
    report = import_divisions(divisions, root_code="11")
    assert (report.total("created"), report.total("unchanged")) == (2, 5)


@pytest.mark.parametrize("root", ["1", "11010", "abcd", "1101010011"])
def test_bad_root_is_refused(divisions, root):
    with pytest.raises(AreaError) as exc:
        import_divisions(divisions, root_code=root)
    assert exc.value.field == "root_code"


def test_root_must_exist(divisions):
    with pytest.raises(AreaError, match="No division with code 12"):
        import_divisions(divisions, root_code="12")


def test_any_row_error_writes_nothing(divisions):
    before = Area.objects.count()
    bad = dict(
        FILES,
        **{
            "streets.csv": [
                *FILES["streets.csv"],
                '11010100,"短码街道",110101,11,1101',  # 8 digits
                '110199001,"孤儿街道",110199,11,1101',  # no such district
                '110101003,"",110101,11,1101',  # no name
                '110101004,"景山街道",110101,11,1101',  # name taken under 东城区
            ]
        },
    )
    write_divisions(divisions, bad)
    report = import_divisions(divisions)
    assert not report.ok and not report.written
    assert [(e.file, e.line, e.code) for e in report.errors] == [
        ("streets.csv", 6, "11010100"),
        ("streets.csv", 8, "110101003"),
        ("streets.csv", 7, "110199001"),
        ("streets.csv", 9, "110101004"),
    ]
    assert "景山街道" in report.errors[-1].message
    assert report.levels[Level.STREET].errors == 4
    assert Area.objects.count() == before


def test_clash_with_a_hand_made_area_is_reported(divisions):
    build_area(Level.PROVINCE, name="北京市", code="BJ")
    report = import_divisions(divisions)
    assert [e.code for e in report.errors][:1] == ["11"]
    assert "already has an area named 北京市" in report.errors[0].message


def test_dry_run_counts_but_writes_nothing(divisions):
    report = import_divisions(divisions, dry_run=True)
    assert report.total("created") == 11 and not report.written
    assert not Area.objects.filter(code="110000000000").exists()


@pytest.mark.skipif(not SHARED_DIVISIONS.is_dir(), reason="shared division codes not present")
def test_real_codes_of_a_province(db):
    report = import_divisions(SHARED_DIVISIONS, root_code="44")
    assert report.ok, report.errors[:3]
    assert report.levels[Level.PROVINCE].created == 1
    assert report.levels[Level.STREET].created > 1500
    town = Area.objects.get(code="441900003000")
    assert [a.code for a in Area.objects.filter(pk__in=town.ancestor_ids())] == [
        "440000000000",
        "441900000000",
        "441900000000D",
    ]


# --- boundaries -----------------------------------------------------------------------------


def three_grids():
    return collection(*(feature(f"第{i + 1}网格", column(i)) for i in range(3)))


def run(data, community, **kwargs):
    kwargs.setdefault("level", Level.GRID)
    kwargs.setdefault("name_field", "name")
    return import_boundaries(data, parent_code=community.code, **kwargs)


def test_features_become_grids_with_generated_codes(community):
    report = run(three_grids(), community)
    assert report.ok and report.written
    assert [(f.index, f.name, f.code, f.status) for f in report.features] == [
        (0, "第1网格", "510188001001001", Status.CREATED),
        (1, "第2网格", "510188001001002", Status.CREATED),
        (2, "第3网格", "510188001001003", Status.CREATED),
    ]
    grids = Area.objects.filter(parent=community).order_by("code")
    assert [g.level for g in grids] == [Level.GRID] * 3
    assert report.siblings.ok and report.siblings.children == 3
    found = locator.locate(Y0 + W / 2, X0 + W / 2)
    assert found.grid.code == "510188001001002"
    assert AuditEntry.objects.filter(action=AuditEntry.Action.IMPORT).count() == 1


def test_running_the_file_again_updates_only_what_changed(community):
    run(three_grids(), community)
    data = three_grids()
    data["features"][2]["geometry"] = square(X0 + 2 * W / 3, Y0, W / 3, W / 2)
    report = run(data, community)
    assert [f.status for f in report.features] == [
        Status.UNCHANGED,
        Status.UNCHANGED,
        Status.UPDATED,
    ]
    assert report.features[2].code == "510188001001003"
    assert Area.objects.filter(parent=community).count() == 3
    assert len(report.siblings.gaps) == 1  # the top of the third column is now uncovered


def test_new_codes_continue_after_retired_numbers(community):
    run(three_grids(), community)
    from civicgrid.areas import services

    last = Area.objects.get(code="510188001001003")
    services.retire_area(last, actor=None, effective_date=last.valid_from)
    report = run(collection(feature("新网格", column(2))), community)
    assert report.features[0].code == "510188001001004"


def test_code_field_is_appended_to_the_parent_code_or_used_whole(community):
    data = collection(
        feature("甲", column(0), nc="7"),
        feature("乙", column(1), nc="510188001001123"),
        feature("丙", column(2), nc="C9"),
    )
    report = run(data, community, code_field="nc")
    assert [f.code for f in report.features] == [
        "510188001001007",
        "510188001001123",
        "510188001001C9",
    ]
    renamed = collection(feature("甲二", column(0), nc="7"))
    report = run(renamed, community, code_field="nc")
    assert report.features[0].status == Status.UPDATED
    assert Area.objects.get(code="510188001001007").name == "甲二"


def test_any_bad_feature_writes_nothing_and_each_is_reported(community):
    data = collection(
        feature("好网格", column(0), nc="1"),
        feature("蝴蝶", BOWTIE, nc="2"),
        {"type": "Feature", "properties": {"nc": "3"}, "geometry": column(1)},
        feature("重码", column(2), nc="1"),
        feature("越界", square(X0 - W, Y0, W, W), nc="5"),
        feature("点", {"type": "Point", "coordinates": [X0, Y0]}, nc="6"),
        feature("好网格", column(2), nc="7"),
    )
    report = run(data, community, code_field="nc")
    assert not report.ok and not report.written
    by_index = {f.index: f for f in report.features}
    assert by_index[0].status == Status.CREATED
    assert "Self-intersection" in by_index[1].message
    assert by_index[2].message == "No 'name' property."
    assert by_index[3].message == "Same code as feature 0."
    assert "outside" in by_index[4].message
    assert "Polygon" in by_index[5].message
    assert by_index[6].message == "Same name as feature 0."
    assert [f.status for f in report.features].count(Status.ERROR) == 6
    assert not Area.objects.filter(parent=community).exists()
    assert report.siblings is None


@pytest.mark.parametrize(
    "source, message",
    [
        ("{not json", "Not valid GeoJSON"),
        (b'{"type": "Point", "coordinates": [1, 2]}', "Not a GeoJSON FeatureCollection"),
        ({"type": "FeatureCollection", "features": []}, "no features"),
    ],
)
def test_file_level_errors(community, source, message):
    report = run(source, community)
    assert not report.ok and message in report.file_errors[0]
    assert report.features == []


def test_unknown_parent_and_wrong_level_are_file_errors(community):
    report = import_boundaries(
        three_grids(), level=Level.GRID, parent_code="nope", name_field="name"
    )
    assert "No current area" in report.file_errors[0]
    report = import_boundaries(
        three_grids(), level=Level.GRID, parent_code=community.parent.code, name_field="name"
    )
    assert "cannot sit under a street" in report.file_errors[0]


def test_dry_run_reports_the_future_siblings_without_writing(community, tmp_path):
    overlapping = collection(
        feature("一", column(0, W / 2 + 0.001)), feature("二", square(X0 + W / 2, Y0, W / 2, W))
    )
    path = tmp_path / "grids.geojson"
    path.write_text(json.dumps(overlapping, ensure_ascii=False), encoding="utf-8")
    report = run(str(path), community, dry_run=True)
    assert report.ok and not report.written
    assert [f.status for f in report.features] == [Status.CREATED, Status.CREATED]
    assert len(report.siblings.overlaps) == 1
    assert report.siblings.overlaps[0].area_m2 == pytest.approx(
        0.001 * W * 111195 * 95700, rel=0.02
    )
    assert not Area.objects.filter(parent=community).exists()


def test_layers_hold_their_own_grids(community):
    run(three_grids(), community)
    party = collection(feature("党建网格", square(X0, Y0, W, W)))
    report = run(party, community, layer=GridLayer.PARTY)
    assert report.ok
    assert report.siblings.layer == GridLayer.PARTY and report.siblings.ok
    assert locator.locate(Y0 + 0.001, X0 + 0.009, layer=GridLayer.PARTY).grid.name == "党建网格"
