"""Distant labels (the unit that answered a message) and the learnt word vocabulary."""

import pytest
from django.core.management import CommandError

from civicgrid.classifier import data
from civicgrid.classifier.features import CharNgramTfidf
from civicgrid.classifier.models import ClassifierModel
from civicgrid.classifier.pipeline import CaseClassifier, Options
from civicgrid.classifier.tests.fixtures import rows, write_csv
from civicgrid.classifier.tests.test_cli_and_services import COLUMNS, run
from civicgrid.core.errors import ServiceError

ANSWERED_COLUMNS = ["留言编号", "留言主题", "留言详情", "答复意见"]


def answered(tmp_path, answers: list[str]):
    """An answered-messages CSV: one message per answer, the fixture's texts in turn."""
    texts = rows()
    data_rows = [
        {"留言编号": str(i), **texts[i], "答复意见": answer} for i, answer in enumerate(answers)
    ]
    return write_csv(tmp_path / "answered.csv", data_rows, ANSWERED_COLUMNS)


@pytest.mark.parametrize(
    ("answer", "label"),
    [
        ("网友：您好！经核实……特此回复。J7县教育局 2019年10月9日", "教育文体"),
        ("经市住建局调查，……下一步我局将督促整改。", "城乡建设"),
        ("您反映的问题已转县人社局，县人社局已责成企业补发工资。经派出所核实……", "劳动和社会保障"),
        ("您所反映的问题，A7县交通运输局答复如下", "交通运输"),  # not also 交通局
        ("经区环保局、区城管局联合执法……", None),  # two labels, once each
        ("银盆岭派出所已立刑事案件侦查，公安机关……", None),  # a body of another label
        ("县卫健委会同县公安局核查……", None),  # as many mentions of another label's body
        ("感谢您对我们工作的关心、监督与支持。2019年4月29日", None),  # no unit named
        ("", None),
    ],
)
def test_the_unit_an_answer_names_most_gives_the_label(answer, label):
    assert data.unit_label(answer) == label


def test_distant_labels_keep_the_text_never_the_answer_and_count_what_is_left_out(tmp_path):
    path = answered(
        tmp_path,
        [
            "经核实……A5区教育局",
            "已转市生态环境局处理。市生态环境局回复如下",
            "派出所已受理",
            "",
            "感谢您的来信",
        ],
    )
    distant = data.distant_labels(path, ["留言主题", "留言详情"], "答复意见")
    assert distant.labels == ["教育文体", "环境保护"]
    first = rows()[0]
    assert distant.texts[0] == (first["留言主题"], first["留言详情"].strip())
    assert not any("教育局" in t + d for t, d in distant.texts)
    assert distant.skipped == {
        "no_answer": 1,
        "unit_of_no_label_or_unclear": 2,
        "unit_table": "2024-1",
    }


def test_a_bad_distant_csv_is_refused_with_a_clear_message(tmp_path):
    no_answers = write_csv(tmp_path / "plain.csv", rows()[:3], ["留言主题", "留言详情"])
    with pytest.raises(ServiceError, match=r"Missing column\(s\) 答复意见"):
        data.distant_labels(no_answers, ["留言主题", "留言详情"], "答复意见")
    unknown_units = answered(tmp_path, ["派出所已受理", "感谢您的来信"])
    with pytest.raises(ServiceError, match="No row of answered.csv names a unit"):
        data.distant_labels(unknown_units, ["留言主题", "留言详情"], "答复意见")


def test_distant_rows_join_training_and_labels_the_labelled_rows_lack_are_left_out():
    data_rows = rows()
    texts = [(r["留言主题"], r["留言详情"]) for r in data_rows]
    labels = [r["一级标签"] for r in data_rows]
    distant = [("地铁站人太多", "早晚高峰挤不上车"), ("补课费", "学校乱收费"), ("工资", "拖欠")]
    distant_labels = ["交通运输", "教育文体", "劳动和社会保障"]  # the last: not a labelled label
    model = CaseClassifier().fit(texts, labels, distant=distant, distant_labels=distant_labels)
    assert model.summary["distant_rows"] == 2
    wrong = ["环境保护", "环境保护", "劳动和社会保障"]  # the labelled rows' model disagrees
    agreeing = CaseClassifier(Options(distant_agreeing_only=True)).fit(
        texts, labels, distant=distant, distant_labels=wrong
    )
    assert agreeing.summary["distant_rows"] == 0


@pytest.mark.django_db
def test_train_with_a_distant_csv_from_the_command_line(tmp_path):
    labelled = write_csv(tmp_path / "train.csv")
    distant = answered(tmp_path, ["A5区教育局", "交通运输局", "派出所"])
    out = run(
        "train", "--csv", str(labelled), *COLUMNS, "--cv-folds", "0", "--distant-csv", str(distant)
    )
    assert "Distant rows: 2 used of 2 labelled by their unit (answered.csv)" in out
    model = ClassifierModel.objects.get()
    assert model.training_summary["distant"]["rows"] == 2
    assert model.training_summary["distant"]["skipped"]["unit_of_no_label_or_unclear"] == 1
    bad = write_csv(tmp_path / "bad.csv", rows()[:3], ["留言主题", "留言详情"])
    with pytest.raises(CommandError, match=r"Missing column\(s\) 答复意见"):
        run("train", "--csv", str(labelled), *COLUMNS, "--distant-csv", str(bad))
    assert ClassifierModel.objects.count() == 1


def test_vocabulary_words_count_among_the_character_grams_only_where_they_are_words():
    features = CharNgramTfidf(n=1, min_df=1).fit(
        ["公交车站很远", "地铁站"], words=["公交车", "车站", "地铁", "公"]
    )
    terms = set(features.terms("公交车站很远").values())
    assert {"公交车", "车站"} <= terms
    assert not terms & {"公交", "交车", "站很", "很远", "公交车站"}  # not words
    row = features.transform(["坐公交车到车站"])
    find = features.term_finder("坐公交车到车站")
    assert {find(int(c)) for c in row.indices} >= {"公交车", "车站"}


def test_the_word_vocabulary_is_learnt_at_training_and_explains_suggestions():
    data_rows = rows()
    texts = [(r["留言主题"], r["留言详情"]) for r in data_rows]
    labels = [r["一级标签"] for r in data_rows]
    model = CaseClassifier(Options(char_n=1, word_vocabulary=4)).fit(texts, labels)
    assert model.chars.word_n >= 2 and len(model.chars.word_keys)
    top = model.suggest("家门口的公交车站", "公交车线路太少，等车很久")
    assert top[0].label == "交通运输"
    assert "公交车" in top[0].words
