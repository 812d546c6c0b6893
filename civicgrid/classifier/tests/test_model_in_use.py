"""services.model_in_use: intake's per-process memory of the model in use (or of none) is read
without a query between checks, sees this process's activations and rollbacks at once and
another process's within CLASSIFIER_CHECK_SECONDS."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from civicgrid.cases.tests.builders import build_category
from civicgrid.classifier import data, services
from civicgrid.classifier.choices import ModelStatus
from civicgrid.classifier.models import ClassifierModel
from civicgrid.classifier.tests.fixtures import write_csv

pytestmark = pytest.mark.django_db

BUS = ("家门口的公交车站线路太少", "公交车线路太少，等车很久，早晚高峰堵车严重")


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch, settings):
    settings.CLASSIFIER_CHECK_SECONDS = 5
    fake = Clock()
    monkeypatch.setattr(services.time, "monotonic", fake)
    services._forget()
    yield fake
    services._forget()


def train(tmp_path, name: str = "train.csv") -> ClassifierModel:
    bus = build_category("公交线路", parent=build_category("交通运输", code="JT"), code="JT01")
    dataset = data.read_labelled(write_csv(tmp_path / name), ["留言主题", "留言详情"], "一级标签")
    return services.train_model(dataset, cv_folds=0, label_map={"交通运输": bus.code})


def queries(call) -> tuple[object, int]:
    with CaptureQueriesContext(connection) as ctx:
        result = call()
    return result, len(ctx.captured_queries)


def test_no_model_is_remembered_without_a_query_until_the_check(town, clock):
    assert queries(services.model_in_use) == (None, 1)
    clock.now += 4.9
    assert queries(services.model_in_use) == (None, 0)
    assert queries(lambda: services.suggest(*BUS)) == (None, 0)
    clock.now += 0.2
    assert queries(services.model_in_use) == (None, 1)


def test_an_activation_in_this_process_is_seen_at_once(town, tmp_path, clock):
    model = train(tmp_path)
    assert services.model_in_use() is None
    services.activate_model(model, actor=None)
    assert services.model_in_use().pk == model.pk
    assert services.suggest(*BUS).model.pk == model.pk
    services.rollback(actor=None)
    assert services.model_in_use() is None
    assert services.suggest(*BUS) is None


def test_an_activation_in_another_process_is_seen_at_the_next_check(town, tmp_path, clock):
    model = train(tmp_path)
    assert services.model_in_use() is None
    # Another process activates it: the row changes, this process's memory is not told.
    ClassifierModel.objects.filter(pk=model.pk).update(status=ModelStatus.ACTIVE)
    assert services.model_in_use() is None
    clock.now += 5
    assert services.model_in_use().pk == model.pk
    assert services.suggest(*BUS).model.pk == model.pk


def test_a_rollback_in_another_process_is_seen_at_the_next_check(town, tmp_path, clock):
    model = train(tmp_path)
    services.activate_model(model, actor=None)
    assert services.model_in_use().pk == model.pk
    ClassifierModel.objects.filter(pk=model.pk).update(status=ModelStatus.RETIRED)
    clock.now += 5
    assert services.model_in_use() is None
    assert services.suggest(*BUS) is None


def test_with_no_delay_every_call_reads_the_model(town, settings):
    settings.CLASSIFIER_CHECK_SECONDS = 0
    services._forget()
    assert queries(services.model_in_use) == (None, 1)
    assert queries(services.model_in_use) == (None, 1)
