"""Fixtures for the areas tests."""

import pytest

from civicgrid.areas.choices import Level
from civicgrid.areas.tests.data import X0, Y0, W
from tests.builders import build_area, square


@pytest.fixture
def community(db):
    """A district, street and community sharing one W x W square at (X0, Y0), no grids."""
    district = build_area(Level.DISTRICT, code="510188", geometry=square(X0, Y0, W, W))
    street = build_area(Level.STREET, district, code="510188001", geometry=square(X0, Y0, W, W))
    return build_area(Level.COMMUNITY, street, code="510188001001", geometry=square(X0, Y0, W, W))
