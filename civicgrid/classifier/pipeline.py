"""The fitted classifier: features, a linear model, calibration, explanations. No Django.

`CaseClassifier` is what a ClassifierModel stores (pickled): it is trained on this platform
only, from the platform's own cases or a CSV, optionally helped by unlabelled messages
(self-training: the model labels the unlabelled messages it is surest of and learns from them
too). See docs/classifier.md for what was measured and why these choices.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from scipy.sparse import hstack, vstack
from scipy.special import expit
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.svm import LinearSVC

from civicgrid.classifier.clusters import WordClusters, WordVectorMean, word_vectors
from civicgrid.classifier.features import CharNgramTfidf
from civicgrid.classifier.text import case_text, normalise, words

# A label needs this many examples: calibration splits each label's examples into folds.
MIN_EXAMPLES_PER_LABEL = 3
CALIBRATION_FOLDS = 3
EXPLAIN_WORDS = 5


class TrainingError(ValueError):
    """The training data cannot make a model (too few labels, no text ...)."""


@dataclass(frozen=True)
class Options:
    """How a model is trained. The defaults are what bench/classify.py measured best."""

    # Character 1..n-grams; longer ones only where they are words of the vocabulary below.
    char_n: int = 1
    use_words: bool = False  # jieba words as a second feature block (slow: see the docs)
    # Words longer than char_n, up to this many characters, learnt once at training time by
    # segmenting the training (and unlabelled) texts with jieba: at run time the character
    # grams of those lengths count where they are such a word (a lookup, no segmenting).
    # 0 turns it off; `word_vocabulary_title` uses them in the title's block too. Unigrams
    # and these words measured better than all 1-2 grams (docs/classifier.md).
    word_vocabulary: int = 4
    word_vocabulary_title: bool = True
    min_df: int = 2  # a feature must occur in this many training texts
    c: float = 2.0  # LinearSVC regularisation (smaller: smoother)
    balanced: bool = False  # LinearSVC class_weight="balanced"
    title_weight: int = 2
    # A second block of character n-grams from the title alone, scaled by this (0 turns it
    # off). Both blocks are L2-normalised, so 0.7 gives the title most of the say of the whole
    # text on top of what it has in it: measured best (docs/classifier.md).
    title_block: float = 0.7
    # Self-training: the share of unlabelled texts, surest first, added with the labels the
    # first model gives them (0 turns it off), and how many rounds of it.
    self_training_share: float = 0.0
    self_training_rounds: int = 1
    # Fit the vocabulary and IDF on the training and the unlabelled texts together (no
    # effect without unlabelled texts).
    vocabulary_from_unlabelled: bool = True
    # Distant rows (messages labelled by the unit that answered them, data.distant_labels):
    # their weight in training against a labelled row's 1, and whether only those the model
    # trained on the labelled rows alone agrees with are kept.
    distant_weight: float = 1.0
    distant_agreeing_only: bool = False
    # Word clusters (clusters.py): k-means clusters of the vocabulary words' vectors (PPMI
    # of jieba-token co-occurrence within `cluster_window` in the training and unlabelled
    # texts, truncated SVD to `cluster_dimensions`), one block of cluster counts per number
    # of clusters in `word_clusters` (empty: off), each scaled by `cluster_weight`. 1,000
    # clusters at 0.3 measured best (0.897 -> 0.903, better on each shuffle; docs).
    word_clusters: tuple[int, ...] = (1000,)
    cluster_weight: float = 0.3
    cluster_window: int = 2
    cluster_dimensions: int = 100
    cluster_seed: int = 0  # k-means' (and the SVD's) random state
    # The IDF-weighted mean of the same word vectors as a dense block, scaled by this (0: off).
    word_vector_block: float = 0.0
    # Per-label offsets added to the log-probabilities before the argmax (predict and the
    # order of suggestions; the probabilities shown stay the calibrated ones), learnt to
    # maximise macro-F1 on out-of-fold scores of the training rows (see _offsets). Off: they
    # lowered the cross-validated macro-F1 (docs/classifier.md).
    decision_offsets: bool = False

    def as_dict(self) -> dict:
        return asdict(self)


def _identity(tokens: list[str]) -> list[str]:
    return tokens


@dataclass
class Prediction:
    label: str
    probability: float
    words: list[str]


class CaseClassifier:
    """Texts (title, description) -> labels with calibrated probabilities and the words that
    drove them."""

    def __init__(self, options: Options | None = None) -> None:
        self.options = options or Options()
        self.labels: list[str] = []
        self.chars = CharNgramTfidf(n=self.options.char_n, min_df=self.options.min_df)
        self.title_chars: CharNgramTfidf | None = (
            CharNgramTfidf(n=self.options.char_n, min_df=self.options.min_df)
            if self.options.title_block
            else None
        )
        self.clusters: list[WordClusters | WordVectorMean] = []
        self.offsets: np.ndarray | None = None
        self.words: TfidfVectorizer | None = None
        self.word_names: np.ndarray = np.array([])
        self.model: CalibratedClassifierCV | None = None
        self.summary: dict = {}
        self.dropped: list[str] = []

    # --- features ---------------------------------------------------------------------------

    def text(self, title: str, description: str) -> str:
        return case_text(title, description, title_weight=self.options.title_weight)

    def _title(self, title: str) -> str:
        return normalise(title)

    def _vocabulary(self, tokenised: Sequence[Sequence[str]]) -> list[str]:
        """Words of char_n+1 .. word_vocabulary characters that jieba finds in at least min_df
        of the texts (`tokenised`: their jieba words)."""
        shortest, longest = self.options.char_n + 1, self.options.word_vocabulary
        df: Counter = Counter()
        for tokens in tokenised:
            df.update({w for w in tokens if shortest <= len(w) <= longest})
        least = min(self.options.min_df, len(tokenised))
        return sorted(w for w, n in df.items() if n >= least)

    def _fit_features(self, texts: Sequence[str], titles: Sequence[str]) -> None:
        options = self.options
        word_clusters = getattr(options, "word_clusters", ())
        tokenised = (
            [words(t) for t in texts] if options.word_vocabulary or options.use_words else []
        )
        vocabulary = self._vocabulary(tokenised) if options.word_vocabulary else []
        self.chars.fit(texts, words=vocabulary)
        if self.title_chars is not None:
            self.title_chars.fit(titles, words=vocabulary if options.word_vocabulary_title else ())
        self.clusters = []
        vector_block = getattr(options, "word_vector_block", 0.0)
        if (word_clusters or vector_block) and vocabulary:
            vectors = word_vectors(
                tokenised,
                vocabulary,
                window=options.cluster_window,
                dimensions=options.cluster_dimensions,
                min_count=options.min_df,
                seed=getattr(options, "cluster_seed", 0),
            )
            positions = self.chars.word_positions(vocabulary)
            hits: list[np.ndarray] = []
            self.chars.transform(texts, hits=hits)
            keys = len(self.chars.word_keys)
            self.clusters = [
                WordClusters(k, seed=getattr(options, "cluster_seed", 0)).fit(
                    vectors, positions, keys, hits
                )
                for k in word_clusters
            ]
            if vector_block:
                self.clusters.append(WordVectorMean().fit(vectors, positions, keys, hits))
        if self.options.use_words:
            self.words = TfidfVectorizer(
                analyzer=_identity, sublinear_tf=True, min_df=min(self.options.min_df, len(texts))
            ).fit(tokenised)
            self.word_names = self.words.get_feature_names_out()

    def _features(self, texts: Sequence[str], titles: Sequence[str]):
        clusters = getattr(self, "clusters", [])  # not in models pickled before them
        hits: list[np.ndarray] | None = [] if clusters else None
        blocks = [self.chars.transform(texts, hits=hits)]
        title_chars = getattr(self, "title_chars", None)  # None in models pickled before it
        if title_chars is not None:
            blocks.append(self.options.title_block * title_chars.transform(titles))
        for block in clusters:
            weight = (
                self.options.word_vector_block
                if isinstance(block, WordVectorMean)
                else self.options.cluster_weight
            )
            blocks.append(weight * block.transform(hits))
        if self.words is not None:
            blocks.append(self.words.transform([words(t) for t in texts]))
        return blocks[0] if len(blocks) == 1 else hstack(blocks, format="csr")

    def _pairs(self, pairs: Sequence[tuple[str, str]]) -> tuple[list[str], list[str]]:
        """(documents, normalised titles) of (title, description) pairs."""
        return [self.text(t, d) for t, d in pairs], [self._title(t) for t, _d in pairs]

    # --- training ---------------------------------------------------------------------------

    def fit(
        self,
        texts: Sequence[tuple[str, str]],
        labels: Sequence[str],
        unlabelled: Sequence[tuple[str, str]] = (),
        distant: Sequence[tuple[str, str]] = (),
        distant_labels: Sequence[str] = (),
    ) -> CaseClassifier:
        """Fit on (title, description) pairs and their labels; `unlabelled` pairs are used only
        as the options say: for the vocabulary and IDF (on by default: it helped), and for
        self-training (off by default: it did not help; see docs/classifier.md). `distant`
        pairs with `distant_labels` (labels from the unit that answered, noisier than a
        person's) are training rows too, weighted by `options.distant_weight`; those whose
        label is not one of the labelled rows' are left out."""
        docs, titles, labels = self._checked(texts, labels)
        known = set(labels)
        distant_rows = [
            (pair, label)
            for pair, label in zip(distant, distant_labels, strict=True)
            if label in known
        ]
        d_docs, d_titles = self._pairs([pair for pair, _label in distant_rows])
        seen = set(unlabelled)
        fresh = [pair for pair, _label in distant_rows if pair not in seen]
        extra, extra_titles = (
            self._pairs([*unlabelled, *fresh])
            if self.options.vocabulary_from_unlabelled
            else ([], [])
        )
        self._fit_features(docs + extra, titles + extra_titles)
        x = self._features(docs, titles)
        y = np.asarray(labels)
        x_labelled, y_labelled = x, y
        self.model = self._fit_model(x, y)
        weights = None
        used_distant = 0
        if distant_rows:
            x_distant = self._features(d_docs, d_titles)
            y_distant = np.asarray([label for _pair, label in distant_rows])
            if self.options.distant_agreeing_only:
                keep = self.model.classes_[self._svc().decision_function(x_distant).argmax(1)]
                keep = keep == y_distant
                x_distant, y_distant = x_distant[keep], y_distant[keep]
            used_distant = len(y_distant)
            weights = np.concatenate(
                [np.ones(len(y)), np.full(len(y_distant), self.options.distant_weight)]
            )
            x, y = vstack([x, x_distant], format="csr"), np.concatenate([y, y_distant])
            self.model = self._fit_model(x, y, weights)
        added = 0
        share = self.options.self_training_share
        if share > 0 and unlabelled:
            x_unlabelled = self._features(*self._pairs(unlabelled))
            for _round in range(self.options.self_training_rounds):
                pseudo, keep = self._surest(x_unlabelled, share)
                self.model = self._fit_model(
                    vstack([x, x_unlabelled[keep]]),
                    np.concatenate([y, pseudo[keep]]),
                    None if weights is None else np.concatenate([weights, np.ones(keep.sum())]),
                )
                added = int(keep.sum())
        self.labels = [str(label) for label in self.model.classes_]
        self.offsets = (
            self._offsets(x_labelled, y_labelled)
            if getattr(self.options, "decision_offsets", False)
            else None
        )
        counts = Counter(labels)
        self.summary = {
            "rows": len(labels),
            "labels": dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))),
            "unlabelled_rows": len(unlabelled),
            "pseudo_labelled_rows": added,
            "distant_rows": used_distant,
            "features": int(x.shape[1]),
            "dropped_labels": self.dropped,
        }
        return self

    def _checked(self, texts, labels) -> tuple[list[str], list[str], list[str]]:
        if len(texts) != len(labels):
            raise TrainingError("texts and labels differ in length")
        counts = Counter(labels)
        keep = {label for label, n in counts.items() if n >= MIN_EXAMPLES_PER_LABEL}
        rows = [(t, label) for t, label in zip(texts, labels, strict=True) if label in keep]
        if len(keep) < 2:
            raise TrainingError(
                f"at least two labels with {MIN_EXAMPLES_PER_LABEL} or more examples each are "
                f"needed; found {len(keep)} ({', '.join(sorted(counts)) or 'none'})"
            )
        self.dropped = sorted(label for label in counts if label not in keep)
        docs, titles = self._pairs([pair for pair, _label in rows])
        if not any(docs):
            raise TrainingError("every text is empty")
        return docs, titles, [label for _t, label in rows]

    def _fit_model(self, x, y, weights=None) -> CalibratedClassifierCV:
        folds = min(CALIBRATION_FOLDS, min(Counter(y).values()))
        model = CalibratedClassifierCV(
            LinearSVC(
                C=self.options.c,
                class_weight="balanced" if getattr(self.options, "balanced", False) else None,
            ),
            method="sigmoid",
            cv=StratifiedKFold(folds, shuffle=True, random_state=0),
            ensemble=False,
        )
        return model.fit(x, y, sample_weight=weights)

    def _surest(self, x, share: float) -> tuple[np.ndarray, np.ndarray]:
        """Labels the current model gives `x`, and a mask of the `share` it is surest of."""
        scores = self._svc().decision_function(x)
        if scores.ndim == 1:
            scores = np.column_stack([-scores, scores])
        ordered = np.sort(scores, axis=1)
        margin = ordered[:, -1] - ordered[:, -2]
        keep = margin >= np.quantile(margin, 1 - share) if share < 1 else np.ones(len(margin), bool)
        return self.model.classes_[scores.argmax(axis=1)], keep

    def _offsets(self, x, y: np.ndarray) -> np.ndarray:
        """Per-label offsets to the log-probabilities that maximise macro-F1 of the argmax on
        out-of-fold scores of the labelled training rows (the calibration's own folds, so the
        scores are those its sigmoids were fitted on): coordinate ascent over a grid, a few
        passes, ties kept at the smaller offset. Only ever sees the rows it is trained on."""
        folds = min(CALIBRATION_FOLDS, min(Counter(y).values()))
        scores = cross_val_predict(
            LinearSVC(C=self.options.c),
            x,
            y,
            cv=StratifiedKFold(folds, shuffle=True, random_state=0),
            method="decision_function",
        )
        log_p = np.log(np.clip(self._probabilities(scores), 1e-12, None))
        truth = np.searchsorted(self.model.classes_, y)
        return best_offsets(log_p, truth)

    def _svc(self) -> LinearSVC:
        return self.model.calibrated_classifiers_[0].estimator

    # --- prediction -------------------------------------------------------------------------

    def predict_proba(self, texts: Sequence[tuple[str, str]]) -> np.ndarray:
        """Calibrated probabilities, one row per text, columns in `self.labels` order."""
        return self._calibrated(self._features(*self._pairs(texts)))

    def _calibrated(self, x) -> np.ndarray:
        """What `self.model.predict_proba(x)` gives (each label's LinearSVC score through its
        sigmoid, normalised over the labels), without scikit-learn's per-call input checks:
        those cost several milliseconds for a single row, more than everything else."""
        svc = self._svc()
        return self._probabilities(np.asarray(x @ svc.coef_.T) + svc.intercept_)

    def _probabilities(self, scores: np.ndarray) -> np.ndarray:
        """The LinearSVC's scores through the calibration's sigmoids, normalised."""
        calibrators = self.model.calibrated_classifiers_[0].calibrators
        a = np.array([c.a_ for c in calibrators])
        b = np.array([c.b_ for c in calibrators])
        if scores.ndim == 1:
            scores = scores[:, None]
        probabilities = expit(-(scores * a + b))
        if len(self.labels) == 2:  # one score, for the second label
            return np.column_stack([1.0 - probabilities[:, 0], probabilities[:, 0]])
        total = probabilities.sum(axis=1, keepdims=True)
        uniform = np.full_like(probabilities, 1.0 / probabilities.shape[1])
        return np.divide(probabilities, total, out=uniform, where=total != 0)

    def _ranking(self, probabilities: np.ndarray) -> np.ndarray:
        """What the labels are ranked by: the probabilities, or their logarithms plus the
        learnt offsets."""
        offsets = getattr(self, "offsets", None)
        if offsets is None:
            return probabilities
        return np.log(np.clip(probabilities, 1e-12, None)) + offsets

    def predict(self, texts: Sequence[tuple[str, str]]) -> list[str]:
        ranking = self._ranking(self.predict_proba(texts))
        return [self.labels[i] for i in ranking.argmax(axis=1)]

    def suggest(self, title: str, description: str, k: int = 3) -> list[Prediction]:
        """The `k` likeliest labels with their probability and the words that pushed the text
        towards each one (largest contributions to that label's score)."""
        text, title = self.text(title, description), self._title(title)
        x = self._features([text], [title])
        probabilities = self._calibrated(x)[0]
        order = np.argsort(-self._ranking(probabilities), kind="stable")[:k]
        names = self._names(text, title)
        return [
            Prediction(self.labels[i], float(probabilities[i]), self._drivers(x, i, names))
            for i in order
        ]

    def _names(self, text: str, title: str):
        """A function column -> the term of `text` (or of the title's block) behind it."""
        chars = self.chars.term_finder(text)
        offset = self.chars.size
        title_chars = getattr(self, "title_chars", None)
        title_terms = title_chars.term_finder(title) if title_chars is not None else None
        clusters_offset = offset + (title_chars.size if title_chars is not None else 0)
        words_offset = clusters_offset + sum(b.clusters for b in getattr(self, "clusters", []))

        def name(column: int) -> str:
            if column < offset:
                return chars(column)
            if column < clusters_offset:
                return title_terms(column - offset)
            if column < words_offset:  # a cluster of words: no one term of the text
                return ""
            return str(self.word_names[column - words_offset])

        return name

    def _drivers(self, x, label_index: int, name) -> list[str]:
        coef = self._svc().coef_
        if coef.shape[0] == 1:  # two labels: one row of weights, for the second label
            weights = coef[0] if label_index == 1 else -coef[0]
        else:
            weights = coef[label_index]
        contributions = x.data * weights[x.indices]
        chosen: list[str] = []
        for j in np.argsort(-contributions):
            if contributions[j] <= 0 or len(chosen) == EXPLAIN_WORDS:
                break
            term = name(int(x.indices[j]))
            # Single characters say little to a person; overlapping n-grams say it twice.
            if len(term) < 2 or any(term in seen or seen in term for seen in chosen):
                continue
            chosen.append(term)
        return chosen


OFFSET_GRID = np.round(np.arange(-1.0, 1.0001, 0.1), 2)
OFFSET_PASSES = 3


def macro_f1(truth: np.ndarray, predicted: np.ndarray, labels: int) -> float:
    """Macro-F1 over label indices 0..labels-1 (a label neither true nor predicted scores 0,
    as scikit-learn's zero_division=0 does)."""
    confusion = np.bincount(truth * labels + predicted, minlength=labels * labels)
    confusion = confusion.reshape(labels, labels)
    right = np.diag(confusion)
    total = confusion.sum(axis=0) + confusion.sum(axis=1)
    return float(np.mean(np.divide(2.0 * right, total, out=np.zeros(labels), where=total > 0)))


def best_offsets(log_p: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Per-column offsets (from OFFSET_GRID) to `log_p` whose argmax has the best macro-F1
    against `truth` (column indices): coordinate ascent, OFFSET_PASSES passes over the columns;
    an offset changes only for a strictly better score, and among equal scores the one nearest
    0 wins, so with nothing to gain the offsets stay 0."""
    labels = log_p.shape[1]
    offsets = np.zeros(labels)
    best = macro_f1(truth, log_p.argmax(axis=1), labels)
    by_size = OFFSET_GRID[np.argsort(np.abs(OFFSET_GRID), kind="stable")]
    for _pass in range(OFFSET_PASSES):
        changed = False
        for j in range(labels):
            current = offsets[j]
            for value in by_size:
                offsets[j] = value
                score = macro_f1(truth, (log_p + offsets).argmax(axis=1), labels)
                if score > best + 1e-12:
                    best, current, changed = score, value, True
            offsets[j] = current
        if not changed:
            break
    return offsets
