import json

import pytest
from django.core.management import CommandError, call_command

from civicgrid.classifier import data, services
from civicgrid.classifier.choices import ModelStatus
from civicgrid.classifier.models import ClassifierModel
from civicgrid.classifier.tests.fixtures import rows, write_csv
from civicgrid.core.errors import ServiceError
from civicgrid.core.models import AuditEntry

pytestmark = pytest.mark.django_db

COLUMNS = ["--text-cols", "留言主题,留言详情", "--label-col", "一级标签"]


def run(*args) -> str:
    from io import StringIO

    out = StringIO()
    call_command("classifier", *args, stdout=out)
    return out.getvalue()


def train(tmp_path, **kwargs) -> ClassifierModel:
    dataset = data.read_labelled(
        write_csv(tmp_path / "train.csv"), ["留言主题", "留言详情"], "一级标签"
    )
    return services.train_model(dataset, cv_folds=kwargs.pop("cv_folds", 0), **kwargs)


def test_train_list_activate_evaluate_rollback_from_the_command_line(tmp_path):
    path = write_csv(tmp_path / "train.csv")
    out = run("train", "--csv", str(path), *COLUMNS, "--cv-folds", "3")
    assert "Trained v1 on 36 rows (3 labels" in out
    assert "3-fold cross-validation" in out
    model = ClassifierModel.objects.get(version="v1")
    assert model.status == ModelStatus.TRAINED
    assert model.metrics["macro_f1"] > 0.5 and model.training_summary["rows"] == 36
    assert "v1" in run("list") and "trained" in run("list")

    run("activate", "v1")
    scores = json.loads(run("evaluate", "--csv", str(path), *COLUMNS))
    assert set(scores) == {"n", "accuracy", "macro_f1", "per_class", "docs_per_second"}
    assert scores["n"] == 36 and set(scores["per_class"]) == {"交通运输", "教育文体", "环境保护"}

    assert model.options["title_block"] == 0.7
    run(
        "train", "--csv", str(path), *COLUMNS, "--cv-folds", "0", "--title-block", "0", "--activate"
    )
    assert ClassifierModel.objects.get(version="v2").status == ModelStatus.ACTIVE
    assert ClassifierModel.objects.get(version="v2").options["title_block"] == 0.0
    assert ClassifierModel.objects.get(version="v1").status == ModelStatus.RETIRED
    assert "v1 is in use again" in run("rollback")
    assert ClassifierModel.objects.get(version="v1").status == ModelStatus.ACTIVE
    assert ClassifierModel.objects.get(version="v2").status == ModelStatus.RETIRED
    assert "no model is in use" in run("rollback")
    with pytest.raises(CommandError, match="nothing to roll back"):
        run("rollback")
    assert AuditEntry.objects.filter(object_type="classifier.classifiermodel").count() >= 6


@pytest.mark.parametrize(
    ("data_rows", "columns", "message"),
    [
        (
            rows(),
            ["留言主题", "一级标签"],
            r"Missing column\(s\) 留言详情; the file has: 留言主题, 一级标签",
        ),
        (
            rows()[:5] + [{"留言主题": " ", "留言详情": "\u3000\n", "一级标签": "交通运输"}],
            None,
            r"1 row\(s\) have no text in 留言主题, 留言详情: line\(s\) 7",
        ),
        (rows()[:12], None, r"at least two labels; 一级标签 has 交通运输"),
        (rows()[:3] + [{"留言主题": "x", "留言详情": "y", "一级标签": ""}], None, r"no label"),
    ],
    ids=["missing column", "empty text", "one class only", "empty label"],
)
def test_a_bad_csv_is_refused_with_a_clear_message_and_nothing_stored(
    tmp_path, data_rows, columns, message
):
    path = write_csv(tmp_path / "bad.csv", data_rows, columns)
    with pytest.raises(CommandError, match=message):
        run("train", "--csv", str(path), *COLUMNS)
    with pytest.raises(CommandError, match=message):
        run("evaluate", "--csv", str(path), *COLUMNS)
    assert not ClassifierModel.objects.exists()


def test_evaluate_without_an_active_model_says_so(tmp_path):
    train(tmp_path)
    with pytest.raises(CommandError, match="No model is active"):
        run("evaluate", "--csv", str(write_csv(tmp_path / "t.csv")), *COLUMNS)


def test_a_model_that_is_not_activated_is_never_used(tmp_path):
    model = train(tmp_path)
    assert services.suggest("公交车线路太少", "等车很久") is None
    services.activate_model(model, actor=None)
    suggestions = services.suggest("公交车线路太少", "等车很久")
    assert suggestions.model == model and suggestions.top.label == "交通运输"
    services.rollback(actor=None)
    assert services.suggest("公交车线路太少", "等车很久") is None


def test_a_model_whose_bytes_do_not_match_its_checksum_is_refused(tmp_path):
    model = train(tmp_path)
    services.activate_model(model, actor=None)
    ClassifierModel.objects.filter(pk=model.pk).update(checksum="0" * 64)
    services._forget()
    with pytest.raises(services.ModelIntegrityError):
        services.suggest("公交车线路太少", "等车很久")


def test_labels_map_to_categories_of_the_active_taxonomy(tmp_path):
    from civicgrid.cases.tests.builders import build_category

    traffic = build_category("交通运输", code="JT")
    school = build_category("学校", code="JY")
    model = train(tmp_path)
    assert model.label_map == {"交通运输": "JT"}  # by name; the others are unmapped
    services.set_label_map(model, {"交通运输": "JT", "教育文体": "JY"}, actor=None)
    with pytest.raises(ServiceError, match="No such category code"):
        services.set_label_map(model, {"交通运输": "NOPE"}, actor=None)
    services.activate_model(model, actor=None)
    top = services.suggest("学校乱收补课费用", "老师乱收费").top
    assert top.category == school
    assert services.suggest("公交车线路太少", "等车很久").top.category == traffic


def test_training_from_closed_cases_labels_by_category_code(town):
    from civicgrid.cases.choices import State
    from civicgrid.cases.tests.builders import build_case, build_category

    categories = [build_category(label, code=f"K{i}") for i, label in enumerate(["a", "b"])]
    for r in rows():
        if r["一级标签"] == "环境保护":
            continue
        category = categories[0] if r["一级标签"] == "交通运输" else categories[1]
        build_case(
            town,
            title=r["留言主题"][:100],
            description=r["留言详情"],
            category=category,
            state=State.CLOSED,
        )
    build_case(town, title="open case", category=categories[0])
    out = run("train", "--cv-folds", "0")
    model = ClassifierModel.objects.get()
    assert "on 24 rows" in out
    assert model.source == "cases" and model.label_map == {"K0": "K0", "K1": "K1"}


def test_training_from_cases_without_enough_cases_is_refused(db):
    with pytest.raises(CommandError, match="at least two categories"):
        run("train")


def test_train_unless_active_trains_only_while_no_model_is_active(tmp_path):
    path = write_csv(tmp_path / "train.csv")
    args = ("train", "--csv", str(path), *COLUMNS, "--cv-folds", "0", "--unless-active")
    assert "Trained v1" in run(*args, "--activate")
    assert "Model v1 is active; nothing trained." in run(*args, "--activate")
    assert ClassifierModel.objects.count() == 1
