import numpy as np
import pytest

from civicgrid.classifier.features import CharNgramTfidf
from civicgrid.classifier.pipeline import CaseClassifier, Options, TrainingError
from civicgrid.classifier.tests.fixtures import rows
from civicgrid.classifier.text import case_text, normalise


def test_normalise_folds_scraped_whitespace_full_width_phones_and_places():
    text = "\n\t\t\u3000A3区ＡＢＣ大道12号楼\u3000联系138****1234，\t\n另一个13812345678"
    assert normalise(text) == "某区abc大道号楼 联系 电话 , 另一个 电话"


def test_case_text_weights_the_title():
    assert case_text("标题", "详情", title_weight=2) == "标题 。 标题 。 详情"


def test_hashed_ngrams_match_their_terms():
    features = CharNgramTfidf(n=2, min_df=1).fit(["公交车站", "地铁站"])
    row = features.transform(["公交站"])
    terms = features.terms("公交站")
    assert {terms[c] for c in row.indices} == {"公", "交", "站", "公交"}
    assert np.isclose((row.data**2).sum(), 1.0)


def _data():
    data = rows()
    return [(r["留言主题"], r["留言详情"]) for r in data], [r["一级标签"] for r in data]


def test_trained_classifier_suggests_calibrated_labels_with_words():
    texts, labels = _data()
    model = CaseClassifier(Options()).fit(texts, labels)
    top = model.suggest("家门口的公交车站", "公交车线路太少，等车很久")
    assert [p.label for p in top][0] == "交通运输"
    assert len(top) == 3
    assert sum(p.probability for p in top) == pytest.approx(1.0, abs=1e-6)
    assert top[0].words and all(len(w) >= 2 for w in top[0].words)
    assert model.predict([("学校乱收补课费用", "老师乱收费")]) == ["教育文体"]


def test_labels_with_too_few_examples_are_dropped_and_one_label_is_refused():
    texts, labels = _data()
    model = CaseClassifier().fit(texts + [("孤单的一条", "只有一条")], labels + ["民政"])
    assert "民政" not in model.labels
    with pytest.raises(TrainingError, match="at least two labels"):
        CaseClassifier().fit(texts[:12], labels[:12])


def test_self_training_adds_pseudo_labelled_rows():
    texts, labels = _data()
    unlabelled = [("公交车太挤", "地铁站人太多"), ("工厂废气", "污水直排")] * 5
    model = CaseClassifier(Options(self_training_share=0.5)).fit(texts, labels, unlabelled)
    assert model.summary["pseudo_labelled_rows"] == 5


def test_fast_probabilities_equal_scikit_learns_and_terms_match():
    texts, labels = _data()
    for subset in (None, ["交通运输", "教育文体"]):  # several labels, and two
        rows = [(t, y) for t, y in zip(texts, labels, strict=True) if not subset or y in subset]
        model = CaseClassifier().fit([t for t, _y in rows], [y for _t, y in rows])
        x = model._features(*model._pairs(texts[:10]))
        assert np.allclose(model._calibrated(x), model.model.predict_proba(x))
    text = model.text(*texts[0])
    find = model.chars.term_finder(text)
    for column, term in model.chars.terms(text).items():
        assert len(find(column)) <= len(term) and find(column) in text.replace(" ", "")


def test_title_block_columns_are_explained_by_the_title():
    texts, labels = _data()
    model = CaseClassifier(Options(title_block=0.5)).fit(texts, labels)
    plain = CaseClassifier(Options(title_block=0)).fit(texts, labels)
    assert plain.title_chars is None
    assert model.summary["features"] == plain.summary["features"] + model.title_chars.size
    title, description = "公交车站太远", "小区门口没有车站"
    x = model._features([model.text(title, description)], [model._title(title)])
    name = model._names(model.text(title, description), model._title(title))
    title_end = model.chars.size + model.title_chars.size
    in_title = [c for c in x.indices if model.chars.size <= c < title_end]
    assert in_title
    assert all(name(int(c)) and name(int(c)) in title for c in in_title)
    in_clusters = [c for c in x.indices if c >= title_end]  # the word clusters' block
    assert in_clusters and not any(name(int(c)) for c in in_clusters)
