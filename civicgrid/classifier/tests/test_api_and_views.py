import json

import pytest
from django.test import Client

from civicgrid.cases.tests.builders import build_case, build_category
from civicgrid.classifier import data, services
from civicgrid.classifier.choices import ModelStatus
from civicgrid.classifier.models import ClassifierModel, Suggestion
from civicgrid.classifier.tests.fixtures import write_csv

SUGGEST = "/api/v1/classifier/suggest"
TEXT = {"title": "家门口的公交车站", "description": "公交车线路太少，等车很久"}


def as_user(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def model(db, tmp_path) -> ClassifierModel:
    build_category("交通运输", code="JT")
    dataset = data.read_labelled(
        write_csv(tmp_path / "train.csv"), ["留言主题", "留言详情"], "一级标签"
    )
    return services.train_model(dataset, cv_folds=0)


def test_suggest_without_an_active_model_answers_empty(personas, model):
    response = as_user(personas["hotline_operator"]).post(
        SUGGEST, TEXT, content_type="application/json"
    )
    assert response.status_code == 200
    assert response.json() == {"model_version": None, "suggestions": []}


def test_suggest_gives_three_categories_with_confidence_and_words(personas, model):
    services.activate_model(model, actor=None)
    response = as_user(personas["hotline_operator"]).post(
        SUGGEST, TEXT, content_type="application/json"
    )
    body = response.json()
    assert body["model_version"] == model.version
    first = body["suggestions"][0]
    assert len(body["suggestions"]) == 3
    assert first["label"] == "交通运输" and first["category"]["code"] == "JT"
    assert first["category"]["is_leaf"]
    assert 0.3 < first["confidence"] <= 1 and first["words"]
    assert body["suggestions"][1]["category"] is None  # unmapped label


def test_suggest_is_refused_to_roles_that_do_not_take_cases(personas, model):
    for name in ("auditor", "outsider"):
        response = as_user(personas[name]).post(SUGGEST, TEXT, content_type="application/json")
        assert response.status_code == 403


def test_models_api_activate_and_rollback_need_the_configuration_capability(personas, model):
    admin = as_user(personas["admin"])
    assert [m["version"] for m in admin.get("/api/v1/classifier/models").json()] == ["v1"]
    operator = as_user(personas["hotline_operator"])
    assert operator.get("/api/v1/classifier/models").status_code == 403
    assert operator.post("/api/v1/classifier/models/v1/activate").status_code == 404
    assert ClassifierModel.objects.get().status == ModelStatus.TRAINED

    response = admin.post("/api/v1/classifier/models/v1/activate")
    assert response.status_code == 200 and response.json()["status"] == "active"
    assert admin.post("/api/v1/classifier/models/v1/activate").status_code in (400, 409, 422)
    response = admin.post("/api/v1/classifier/rollback")
    assert response.status_code == 200 and response.json() == {"active": None}
    assert admin.post("/api/v1/classifier/rollback").status_code in (400, 409, 422)


def test_label_map_api_field_errors(personas, model):
    admin = as_user(personas["admin"])
    response = admin.put(
        "/api/v1/classifier/models/v1/label-map",
        json.dumps({"label_map": {"交通运输": "NOPE"}}),
        content_type="application/json",
    )
    assert response.status_code in (400, 422)
    assert "NOPE" in response.content.decode()
    assert ClassifierModel.objects.get().label_map == {"交通运输": "JT"}


def test_model_page_lists_metrics_and_activates(personas, model):
    admin = as_user(personas["admin"])
    page = admin.get("/classifier/")
    assert page.status_code == 200 and "v1" in page.content.decode()
    assert as_user(personas["hotline_operator"]).get("/classifier/").status_code == 404
    assert (
        as_user(personas["hotline_operator"]).post("/classifier/models/v1/activate/").status_code
        == 404
    )
    admin.post("/classifier/models/v1/activate/")
    assert ClassifierModel.objects.get().status == ModelStatus.ACTIVE
    admin.post("/classifier/rollback/")
    assert ClassifierModel.objects.get().status == ModelStatus.RETIRED


def test_suggestion_fragment_for_the_intake_form(personas, model):
    operator = as_user(personas["hotline_operator"])
    assert (
        "data-suggested-category" not in operator.get("/classifier/suggest/", TEXT).content.decode()
    )
    services.activate_model(model, actor=None)
    html = operator.post("/classifier/suggest/", TEXT).content.decode()
    assert "data-suggested-category" in html and "交通运输" in html
    ClassifierModel.objects.filter(pk=model.pk).update(checksum="0" * 64)
    services._forget()
    broken = operator.post("/classifier/suggest/", TEXT)
    assert broken.status_code == 200 and "data-suggested-category" not in broken.content.decode()
    assert as_user(personas["resident"]).get("/classifier/suggest/", TEXT).status_code == 404


def test_acceptance_is_counted_per_suggested_category_in_scope(personas, model, town):
    services.activate_model(model, actor=None)
    traffic = ClassifierModel.objects.get().label_map["交通运输"]
    from civicgrid.cases.models import Category

    category = Category.objects.get(code=traffic)
    other = build_category("其他")
    for grid, chosen in (("A1-1", category), ("A1-1", other), ("B1-1", category)):
        case = build_case(town, grid=grid, category=chosen, **TEXT)
        services.record_suggestion(case, services.suggest(TEXT["title"], TEXT["description"]))
    assert Suggestion.objects.filter(accepted=True).count() == 2

    admin = as_user(personas["admin"]).get("/api/v1/classifier/acceptance").json()
    assert admin["total"]["suggested"] == 3 and admin["total"]["accepted"] == 2
    assert admin["categories"][0]["category_code"] == "JT"
    street = as_user(personas["street_dispatcher"]).get("/api/v1/classifier/acceptance").json()
    assert street["total"]["suggested"] == 2 and street["total"]["accepted"] == 1
    assert as_user(personas["outsider"]).get("/api/v1/classifier/acceptance").status_code == 403
    page = as_user(personas["street_dispatcher"]).get("/classifier/acceptance/")
    assert page.status_code == 200 and "50%" in page.content.decode()
