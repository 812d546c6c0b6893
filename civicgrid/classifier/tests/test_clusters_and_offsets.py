"""Word clusters (clusters.py) and the per-label decision offsets (pipeline.best_offsets)."""

from __future__ import annotations

import numpy as np
import pytest

from civicgrid.classifier.clusters import WordClusters, word_vectors
from civicgrid.classifier.features import CharNgramTfidf
from civicgrid.classifier.pipeline import CaseClassifier, Options, best_offsets, macro_f1
from civicgrid.classifier.tests.fixtures import rows


def test_words_used_in_the_same_contexts_get_close_vectors():
    tokenised = [
        ["公交车", "线路", "太少"],
        ["地铁", "线路", "太少"],
        ["公交车", "站点", "太远"],
        ["地铁", "站点", "太远"],
        ["污水", "直排", "河道"],
        ["废气", "直排", "河道"],
    ] * 2
    vocabulary = ["公交车", "地铁", "污水", "废气"]
    vectors = word_vectors(tokenised, vocabulary, window=2, dimensions=3)
    assert vectors.shape[0] == 4
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
    similar = vectors @ vectors.T
    assert similar[0, 1] > similar[0, 2] and similar[2, 3] > similar[2, 1]


def test_a_message_counts_the_clusters_of_the_vocabulary_words_found_in_it():
    vocabulary = ["公交车", "地铁", "污水", "废气"]
    chars = CharNgramTfidf(n=1, min_df=1).fit(["公交车地铁", "污水废气"], words=vocabulary)
    positions = chars.word_positions([*vocabulary, "不是词"])
    assert (positions[:4] >= 0).all() and positions[4] == -1
    vectors = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    hits: list[np.ndarray] = []
    chars.transform(["坐公交车换地铁", "污水", "没有词"], hits=hits)
    assert [len(h) for h in hits] == [2, 1, 0]
    clusters = WordClusters(2).fit(vectors, positions[:4], len(chars.word_keys), hits)
    block = clusters.transform(hits).toarray()
    assert block.shape == (3, 2)
    assert np.count_nonzero(block[0]) == 1 and np.isclose(np.linalg.norm(block[0]), 1.0)
    assert np.count_nonzero(block[1]) == 1 and block[0] @ block[1] == 0  # other cluster
    assert not block[2].any()


def test_a_model_with_word_clusters_trains_suggests_and_explains_with_words():
    data_rows = rows()
    texts = [(r["留言主题"], r["留言详情"]) for r in data_rows]
    labels = [r["一级标签"] for r in data_rows]
    plain = CaseClassifier(Options(word_clusters=())).fit(texts, labels)
    model = CaseClassifier(Options(word_clusters=(4,), cluster_dimensions=8)).fit(texts, labels)
    assert model.summary["features"] == plain.summary["features"] + 4
    top = model.suggest("家门口的公交车站", "公交车线路太少，等车很久")
    assert top[0].label == "交通运输"
    assert top[0].words and all(len(w) >= 2 for w in top[0].words)
    assert model.predict(texts[:3]) == labels[:3]


def test_macro_f1_matches_its_definition():
    truth = np.array([0, 0, 1, 1, 2])
    predicted = np.array([0, 1, 1, 1, 0])
    # label 0: 2*1/(2+2) = 0.5; label 1: 2*2/(2+3) = 0.8; label 2: 0
    assert np.isclose(macro_f1(truth, predicted, 3), (0.5 + 0.8 + 0.0) / 3)


def test_offsets_raise_macro_f1_on_the_rows_they_are_learnt_on_and_stay_zero_without_gain():
    # Label 1 is always second-likeliest where it is true: the argmax never predicts it.
    log_p = np.log(
        np.array([[0.6, 0.4, 0.0], [0.55, 0.45, 0.0], [0.7, 0.1, 0.2], [0.1, 0.1, 0.8]]) + 1e-9
    )
    truth = np.array([1, 1, 0, 2])
    offsets = best_offsets(log_p, truth)
    assert macro_f1(truth, (log_p + offsets).argmax(1), 3) == 1.0
    assert macro_f1(truth, log_p.argmax(1), 3) < 1.0
    assert (best_offsets(log_p, log_p.argmax(1)) == 0).all()


def test_offsets_change_the_ranking_not_the_probabilities_shown():
    data_rows = rows()
    texts = [(r["留言主题"], r["留言详情"]) for r in data_rows]
    labels = [r["一级标签"] for r in data_rows]
    model = CaseClassifier(Options(decision_offsets=True)).fit(texts, labels)
    assert model.offsets is not None and model.offsets.shape == (3,)
    model.offsets = np.array([0.0, 0.0, 50.0])  # the third label always first
    top = model.suggest("家门口的公交车站", "公交车线路太少，等车很久")
    probabilities = model.predict_proba([("家门口的公交车站", "公交车线路太少，等车很久")])[0]
    assert top[0].label == model.labels[2]
    assert {p.label: p.probability for p in top} == pytest.approx(
        dict(zip(model.labels, probabilities, strict=True))
    )
    assert set(model.predict(texts)) == {model.labels[2]}
