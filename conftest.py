"""Shared fixtures: a small town and the personas who work in it (tests/builders.py)."""

from __future__ import annotations

import pytest
from django.utils import translation

from civicgrid.areas import locator
from tests.builders import PERSONAS, Town, build_user


@pytest.fixture(autouse=True)
def _fresh_locator(settings):
    # Tests change areas inside transactions that roll back; never reuse an index across tests.
    settings.LOCATOR_VERSION_CHECK_SECONDS = 0
    settings.CLASSIFIER_CHECK_SECONDS = 0  # likewise the classifier model in use
    # The production hasher costs ~0.4 s per user on purpose; tests create many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    locator.invalidate()
    yield
    locator.invalidate()


@pytest.fixture(autouse=True)
def _english_messages():
    # Services and API errors are asserted in English. Pages pick their language per request
    # (LocaleMiddleware: zh-hans unless the user switched), so view tests still see Chinese.
    with translation.override("en"):
        yield


@pytest.fixture
def town(db) -> Town:
    return Town()


@pytest.fixture
def personas(town) -> dict:
    """Users of every role, scoped inside street A / community A1 / grid A1-1, plus an outsider
    (no role) and an administrator."""
    targets = {
        "district": town.district,
        "street": town.streets["A"],
        "community": town.communities["A1"],
        "grid": town.grids["A1-1"],
    }
    users = {
        name: build_user(name, role=role, area=targets[level])
        for name, (role, level) in PERSONAS.items()
    }
    users["outsider"] = build_user("outsider")
    users["admin"] = build_user("admin", is_superuser=True, is_staff=True)
    return users
