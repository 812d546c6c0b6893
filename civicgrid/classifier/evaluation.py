"""Scores of a classifier: on a labelled set, and by stratified k-fold cross-validation.

No Django here: the benchmark runs it without a database.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support
from sklearn.model_selection import StratifiedKFold

from civicgrid.classifier.data import Dataset
from civicgrid.classifier.pipeline import CaseClassifier, Options


def evaluate(classifier: CaseClassifier, dataset: Dataset) -> dict:
    """{"n", "accuracy", "macro_f1", "per_class", "docs_per_second"} of `classifier` on
    `dataset` (labels the model does not know count as errors)."""
    started = time.perf_counter()
    predicted = classifier.predict(dataset.texts)
    seconds = time.perf_counter() - started
    return _scores(dataset.labels, predicted, seconds)


def _scores(truth: Sequence[str], predicted: Sequence[str], seconds: float | None) -> dict:
    labels = sorted(set(truth))
    precision, recall, f1, support = precision_recall_fscore_support(
        truth, predicted, labels=labels, zero_division=0
    )
    per_class = {
        label: {
            "precision": round(float(p), 4),
            "recall": round(float(r), 4),
            "f1": round(float(f), 4),
            "support": int(s),
        }
        for label, p, r, f, s in zip(labels, precision, recall, f1, support, strict=True)
    }
    return {
        "n": len(truth),
        "accuracy": round(float(accuracy_score(truth, predicted)), 4),
        "macro_f1": round(
            float(f1_score(truth, predicted, labels=labels, average="macro", zero_division=0)), 4
        ),
        "per_class": per_class,
        "docs_per_second": round(len(truth) / seconds, 1) if seconds else None,
    }


def cross_validate(
    dataset: Dataset,
    options: Options | None = None,
    *,
    folds: int = 5,
    unlabelled: Sequence[tuple[str, str]] = (),
    distant: Dataset | None = None,
    seed: int = 0,
) -> dict:
    """Stratified k-fold scores of a model trained like `train_model` would (the unlabelled
    texts, if any, only ever feed the vocabulary and self-training inside each fold's training
    part; the `distant` rows, labelled by the unit that answered them, are added to every fold's
    training part and never scored). `seed` shuffles the folds: several seeds tell a real gain from the folds' noise."""
    labels = np.asarray(dataset.labels)
    smallest = min(np.unique(labels, return_counts=True)[1])
    folds = max(2, min(folds, int(smallest)))
    predicted = np.empty(len(labels), dtype=object)
    splitter = StratifiedKFold(folds, shuffle=True, random_state=seed)
    for train, test in splitter.split(np.zeros(len(labels)), labels):
        model = CaseClassifier(options).fit(
            [dataset.texts[i] for i in train],
            labels[train].tolist(),
            unlabelled,
            distant=distant.texts if distant else (),
            distant_labels=distant.labels if distant else (),
        )
        predicted[test] = model.predict([dataset.texts[i] for i in test])
    scores = _scores(dataset.labels, list(predicted), None)
    scores["folds"] = folds
    del scores["docs_per_second"]
    return scores
