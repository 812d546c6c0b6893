"""Registry tests read the English source messages; the zh-hans catalogue may change wording."""

import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def _english_messages():
    with translation.override("en"):
        yield
