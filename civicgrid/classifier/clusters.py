"""Word clusters learnt from unlabelled text: a feature block for a small labelled set.

The classic semi-supervised trick (Brown clusters, Koo et al. 2008; Turian et al. 2010): words
that occur in the same contexts in many messages, labelled or not, land in one cluster, so a
test message using a word no labelled message had still shares a feature with those that used
its neighbours. Here, learnt once at training time, with scikit-learn only (no downloaded
embeddings): word vectors from the positive PMI of word-context co-occurrence within a small
window of jieba tokens, reduced by truncated SVD, then k-means over the vectors. At run time a
message's clusters are one array lookup per vocabulary word found among its character grams
(`CharNgramTfidf.transform(..., hits=...)`): no segmentation.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
from scipy.sparse import coo_matrix, csr_matrix
from sklearn.cluster import MiniBatchKMeans
from sklearn.decomposition import TruncatedSVD

from civicgrid.classifier.features import stack_rows, tfidf_row


def word_vectors(
    tokenised: Sequence[Sequence[str]],
    vocabulary: Sequence[str],
    *,
    window: int = 2,
    dimensions: int = 100,
    min_count: int = 2,
    seed: int = 0,
) -> np.ndarray:
    """One L2-normalised row per word of `vocabulary`: the truncated SVD of its positive PMI
    with the tokens (seen `min_count` times or more) within `window` of it in `tokenised`
    (context counts smoothed to the power 0.75, as word2vec does). A word never seen next to
    a context gets a zero row."""
    counts = Counter(token for tokens in tokenised for token in tokens)
    contexts = {t: i for i, t in enumerate(sorted(t for t, n in counts.items() if n >= min_count))}
    row_of = {w: i for i, w in enumerate(vocabulary)}
    # Every text's context ids and word rows in one array, `window` gaps between texts.
    gap = [-1] * window
    context_ids, word_rows = list(gap), list(gap)
    for tokens in tokenised:
        context_ids.extend(contexts.get(t, -1) for t in tokens)
        word_rows.extend(row_of.get(t, -1) for t in tokens)
        context_ids.extend(gap)
        word_rows.extend(gap)
    context_ids, word_rows = np.asarray(context_ids), np.asarray(word_rows)
    rows, columns = [], []
    for distance in range(1, window + 1):
        for word, context in (
            (word_rows[:-distance], context_ids[distance:]),
            (word_rows[distance:], context_ids[:-distance]),
        ):
            both = (word >= 0) & (context >= 0)
            rows.append(word[both])
            columns.append(context[both])
    rows, columns = np.concatenate(rows), np.concatenate(columns)
    shape = (len(vocabulary), max(len(contexts), 1))
    cooccurrence = coo_matrix((np.ones(len(rows)), (rows, columns)), shape=shape).tocsr()
    cooccurrence.sum_duplicates()
    if cooccurrence.nnz == 0:
        return np.zeros((len(vocabulary), 1))
    word_totals = np.asarray(cooccurrence.sum(axis=1)).ravel()
    smoothed = np.asarray(cooccurrence.sum(axis=0)).ravel() ** 0.75
    smoothed /= smoothed.sum()
    coo = cooccurrence.tocoo()
    # log P(w, c) / (P(w) P(c)^0.75), the totals cancelling out.
    pmi = np.log(coo.data / (word_totals[coo.row] * smoothed[coo.col]))
    keep = pmi > 0
    ppmi = csr_matrix((pmi[keep], (coo.row[keep], coo.col[keep])), shape=shape)
    k = max(1, min(dimensions, min(shape) - 1))
    reduced = TruncatedSVD(k, algorithm="randomized", random_state=seed).fit_transform(ppmi)
    norms = np.linalg.norm(reduced, axis=1, keepdims=True)
    return np.divide(reduced, norms, out=np.zeros_like(reduced), where=norms > 0)


class WordClusters:
    """Vocabulary words -> k-means clusters of their vectors -> a sublinear TF-IDF row of
    cluster counts per message, L2-normalised. `fit` takes the positions the words have in
    the character features' `word_keys`, so `transform` takes the hits that
    `CharNgramTfidf.transform` reports."""

    def __init__(self, clusters: int = 300, seed: int = 0) -> None:
        self.clusters = clusters
        self.seed = seed
        self.cluster_of: np.ndarray = np.zeros(0, dtype=np.int32)  # by word_keys position
        self.idf: np.ndarray = np.zeros(0)

    def fit(
        self,
        vectors: np.ndarray,
        positions: np.ndarray,
        keys: int,
        texts_hits: Sequence[np.ndarray],
    ) -> WordClusters:
        """`vectors`: one row per word; `positions`: each word's position among the `keys`
        vocabulary keys (-1: none); `texts_hits`: the training texts' hits, for the IDF."""
        k = max(1, min(self.clusters, len(vectors)))
        model = MiniBatchKMeans(k, random_state=self.seed, n_init=3, batch_size=2048)
        labels = model.fit_predict(vectors) if len(vectors) else np.zeros(0, dtype=np.int32)
        self.clusters = k
        self.cluster_of = np.full(keys, -1, dtype=np.int32)
        known = positions >= 0
        self.cluster_of[positions[known]] = labels[known]
        df = np.zeros(k)
        for hits in texts_hits:
            found = self.cluster_of[hits]
            df[np.unique(found[found >= 0])] += 1
        self.idf = np.log((1 + len(texts_hits)) / (1 + df)) + 1.0
        return self

    def transform(self, texts_hits: Sequence[np.ndarray]) -> csr_matrix:
        return stack_rows(
            [tfidf_row(self.cluster_of[hits], self.idf) for hits in texts_hits], self.clusters
        )


class WordVectorMean:
    """The IDF-weighted mean of the vectors of the vocabulary words found in a message,
    L2-normalised: a dense block of `word_vectors`' dimensions."""

    def __init__(self) -> None:
        self.vectors: np.ndarray = np.zeros((0, 0), dtype=np.float32)  # by word_keys position
        self.idf: np.ndarray = np.zeros(0)

    @property
    def clusters(self) -> int:  # the block's width, named as WordClusters' for the pipeline
        return self.vectors.shape[1]

    def fit(
        self,
        vectors: np.ndarray,
        positions: np.ndarray,
        keys: int,
        texts_hits: Sequence[np.ndarray],
    ) -> WordVectorMean:
        self.vectors = np.zeros((keys, vectors.shape[1]), dtype=np.float32)
        known = positions >= 0
        self.vectors[positions[known]] = vectors[known]
        df = np.zeros(keys)
        for hits in texts_hits:
            df[np.unique(hits)] += 1
        self.idf = np.log((1 + len(texts_hits)) / (1 + df)) + 1.0
        return self

    def transform(self, texts_hits: Sequence[np.ndarray]) -> csr_matrix:
        out = np.zeros((len(texts_hits), self.vectors.shape[1]))
        for i, hits in enumerate(texts_hits):
            if len(hits):
                row = self.idf[hits] @ self.vectors[hits]
                norm = np.sqrt(row @ row)
                if norm > 0:
                    out[i] = row / norm
        return csr_matrix(out)
