import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from civicgrid.areas.models import Area
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
from civicgrid.registry.models import Building


def call(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_import_divisions_prints_a_table(db, tmp_path):
    folder = write_divisions(tmp_path / "d", FILES)
    out = call("import_divisions", "--data-dir", str(folder), "--root", "1101")
    lines = out.splitlines()
    assert lines[0].split() == ["level", "created", "updated", "unchanged", "errors"]
    assert lines[2].split() == ["province", "1", "0", "0", "0"]
    assert lines[5].split() == ["street", "3", "0", "0", "0"]
    assert "Imported." in out
    assert "Already up to date" in call(
        "import_divisions", "--data-dir", str(folder), "--root", "1101"
    )


def test_import_divisions_fails_on_row_errors(db, tmp_path):
    folder = write_divisions(
        tmp_path / "d", dict(FILES, **{"cities.csv": [*FILES["cities.csv"], '9901,"无省市",99']})
    )
    with pytest.raises(CommandError, match="1 rows in error"):
        call("import_divisions", "--data-dir", str(folder))
    assert not Area.objects.exists()
    with pytest.raises(CommandError, match="2, 4, 6 or 9 digits"):
        call("import_divisions", "--data-dir", str(folder), "--root", "1")


def test_import_boundaries_prints_features_and_siblings(community, tmp_path):
    path = tmp_path / "grids.geojson"
    data = collection(feature("一", column(0)), feature("二", column(1)))
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    args = ["import_boundaries", str(path), "--parent", community.code, "--name-field", "name"]
    out = call(*args, "--dry-run")
    assert "Dry run" in out and not Area.objects.filter(parent=community).exists()
    out = call(*args)
    assert "510188001001001" in out and "2 created" in out
    assert "0 overlaps, 1 gaps" in out  # the third column is missing
    assert Area.objects.filter(parent=community).count() == 2


def test_import_boundaries_fails_on_a_bad_feature(community, tmp_path):
    path = tmp_path / "grids.geojson"
    path.write_text(json.dumps(collection(feature("蝴蝶", BOWTIE))), encoding="utf-8")
    with pytest.raises(CommandError, match="nothing was written"):
        call("import_boundaries", str(path), "--parent", community.code, "--name-field", "name")


def test_locate_prints_json(community, tmp_path):
    path = tmp_path / "one.geojson"
    path.write_text(json.dumps(collection(feature("一", column(0, W)))), encoding="utf-8")
    call("import_boundaries", str(path), "--parent", community.code, "--name-field", "name")
    found = json.loads(call("locate", str(Y0 + W / 2), str(X0 + W / 2)))
    assert found["status"] == "inside"
    assert found["grid"]["name"] == "一"
    assert found["community"]["code"] == community.code
    grid = Area.objects.get(name="一")
    Building.objects.create(grid=grid, address="幸福路1号", lat=Y0 + 0.001, lon=X0 + 0.001)
    found = json.loads(call("locate", "--address", "幸福路1号2单元"))
    assert (found["matched_address"], found["grid"]["id"]) == ("幸福路1号", grid.pk)
    outside = json.loads(call("locate", "0", "0"))
    assert outside["status"] == "outside"


@pytest.mark.parametrize("args", [[], ["95", "104"], ["30", "104", "--address", "x"]])
def test_locate_refuses_bad_input(db, args):
    with pytest.raises(CommandError):
        call("locate", *args)
