"""manage.py load_demo refuses options it cannot honour, with a message saying why."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from civicgrid.areas.models import Area

pytestmark = pytest.mark.django_db


def load(**options) -> None:
    call_command("load_demo", **{"scale": 0.005, "streets": 1, **options}, stdout=StringIO())


def test_scale_must_be_positive():
    with pytest.raises(CommandError, match="scale must be positive"):
        load(scale=0)


def test_streets_must_be_at_least_one():
    with pytest.raises(CommandError, match="at least 1"):
        load(streets=0)


def test_a_district_without_demo_data_is_refused():
    with pytest.raises(CommandError, match="No demo outline for district 110101"):
        load(district="110101")


def test_a_missing_data_dir_is_named_and_nothing_is_written(tmp_path):
    with pytest.raises(CommandError, match="missing.*--data-dir"):
        load(data_dir=tmp_path / "nowhere")
    assert not Area.objects.exists()
