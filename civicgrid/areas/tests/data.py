"""Test data for the areas tests: division code files and GeoJSON features."""

from __future__ import annotations

from pathlib import Path

from tests.builders import square

FILES = {
    "provinces.csv": ["code,name", '11,"北京市"', '44,"广东省"'],
    "cities.csv": ["code,name,provinceCode", '1101,"市辖区",11', '4419,"东莞市",44'],
    "areas.csv": [
        "code,name,cityCode,provinceCode",
        '110101,"东城区",1101,11',
        '110102,"西城区",1101,11',
        '441900,"东莞市",4419,44',
    ],
    "streets.csv": [
        "code,name,areaCode,provinceCode,cityCode",
        '110101001,"东华门街道",110101,11,1101',
        '110101002,"景山街道",110101,11,1101',
        '110102001,"西长安街街道",110102,11,1101',
        '441900003,"东城街道",441900,44,4419',
    ],
}


def write_divisions(folder: Path, files: dict[str, list[str]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, lines in files.items():
        (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


X0, Y0 = 104.1, 30.7
W = 0.01


def column(i: int, width: float = W / 3) -> dict:
    return square(X0 + i * width, Y0, width, W)


def feature(name, geometry, **props) -> dict:
    return {"type": "Feature", "properties": {"name": name, **props}, "geometry": geometry}


def collection(*features) -> dict:
    return {"type": "FeatureCollection", "features": list(features)}


BOWTIE = {
    "type": "Polygon",
    "coordinates": [[[X0, Y0], [X0 + W, Y0 + W], [X0 + W, Y0], [X0, Y0 + W], [X0, Y0]]],
}
