"""The classifier at intake: no model changes nothing, the operator's choice is recorded,
a confident suggestion dispatches only where the catalogue names one unit."""

import pytest

from civicgrid.cases import intake
from civicgrid.cases.choices import Action, Channel, Kind, State
from civicgrid.cases.models import DispatchRule
from civicgrid.cases.tests.builders import build_category, build_unit
from civicgrid.classifier import data, services
from civicgrid.classifier.models import ClassifierModel, Suggestion
from civicgrid.classifier.tests.fixtures import write_csv

pytestmark = pytest.mark.django_db

BUS = {
    "title": "家门口的公交车站线路太少",
    "description": "公交车线路太少，等车很久，早晚高峰堵车严重",
}


@pytest.fixture
def bus(town):
    """A leaf category the label 交通运输 maps to."""
    return build_category("公交线路", parent=build_category("交通运输", code="JT"), code="JT01")


@pytest.fixture
def model(bus, tmp_path) -> ClassifierModel:
    dataset = data.read_labelled(
        write_csv(tmp_path / "train.csv"), ["留言主题", "留言详情"], "一级标签"
    )
    return services.train_model(dataset, cv_folds=0, label_map={"交通运输": bus.code})


def receive(actor, town, **overrides):
    lat, lon = town.centre(town.grids["A1-1"])
    values = dict(
        actor=actor,
        channel=Channel.HOTLINE,
        kind=Kind.COMPLAINT,
        lat=lat,
        lon=lon,
        reporter_phone="13812345678",
        **BUS,
    )
    values.update(overrides)
    return intake.receive_case(**values)


def test_intake_works_when_no_model_exists(personas, town):
    case = receive(personas["hotline_operator"], town)
    assert case.state == State.RECEIVED and case.category is None
    assert not Suggestion.objects.exists()


def test_a_trained_model_that_is_not_activated_is_not_used_at_intake(personas, town, model):
    receive(personas["hotline_operator"], town)
    assert not Suggestion.objects.exists()


def test_the_operators_choice_is_recorded_with_the_suggestions(personas, town, model, bus):
    services.activate_model(model, actor=None)
    chosen = receive(personas["hotline_operator"], town, category=bus)
    other = receive(personas["hotline_operator"], town, category=build_category("其他"))
    none = receive(personas["hotline_operator"], town)
    first = Suggestion.objects.get(case=chosen)
    assert first.accepted and first.chosen_rank == 1 and first.model == model
    assert first.top[0]["category_code"] == "JT01" and len(first.top) == 3
    assert first.area_path == chosen.area_path
    second = Suggestion.objects.get(case=other)
    assert not second.accepted and second.chosen_rank is None
    third = Suggestion.objects.get(case=none)
    assert not third.accepted and third.chosen_category is None and not third.category_filled
    assert none.category is None and none.state == State.RECEIVED  # automatic dispatch is off


def test_a_confident_suggestion_dispatches_where_the_catalogue_names_one_unit(
    personas, town, model, bus, settings
):
    settings.CLASSIFIER_AUTO_CONFIDENCE = 0.3
    unit = build_unit("公交集团", areas=[town.district])
    DispatchRule.objects.create(category=bus, area=town.district, unit=unit, auto_dispatch=False)
    services.activate_model(model, actor=None)
    case = receive(personas["hotline_operator"], town)
    assert case.category == bus and case.state == State.DISPATCHED and case.lead_unit == unit
    event = case.events.get(action=Action.DISPATCH)
    assert event.actor is None and "classifier" in event.reason.lower()
    row = Suggestion.objects.get(case=case)
    assert row.auto_dispatched and row.category_filled and not row.accepted


def test_no_automatic_dispatch_when_two_units_share_the_route(personas, town, model, bus, settings):
    settings.CLASSIFIER_AUTO_CONFIDENCE = 0.3
    for name in ("公交一公司", "公交二公司"):
        DispatchRule.objects.create(
            category=bus, area=town.district, unit=build_unit(name, areas=[town.district])
        )
    services.activate_model(model, actor=None)
    case = receive(personas["hotline_operator"], town)
    assert case.state == State.RECEIVED and case.route.ambiguous
    assert not Suggestion.objects.get(case=case).auto_dispatched


def test_no_automatic_dispatch_below_the_confidence(personas, town, model, bus, settings):
    settings.CLASSIFIER_AUTO_CONFIDENCE = 0.999
    unit = build_unit("公交集团", areas=[town.district])
    DispatchRule.objects.create(category=bus, area=town.district, unit=unit)
    services.activate_model(model, actor=None)
    case = receive(personas["hotline_operator"], town)
    assert case.category is None and case.state == State.RECEIVED


def test_a_broken_model_does_not_stop_intake(personas, town, model):
    services.activate_model(model, actor=None)
    ClassifierModel.objects.filter(pk=model.pk).update(checksum="0" * 64)
    services._forget()
    case = receive(personas["hotline_operator"], town)
    assert case.pk and not Suggestion.objects.exists()
