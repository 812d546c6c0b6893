"""Hashed character n-grams with TF-IDF weights, computed with numpy.

Why not scikit-learn's TfidfVectorizer: its analysers build a Python string for every n-gram
and look each up in a dict, about 2 ms for a 300-character message here; the target is 2,000
messages a second on one core. This computes every n-gram's hash for a text with a few numpy
operations (a rolling polynomial hash over the code points), so it costs tens of microseconds.
Only buckets seen in at least `min_df` training texts become columns; the rest are ignored,
like words outside a vocabulary. `terms` recovers the n-gram strings of one text's columns,
for explanations.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.sparse import csr_matrix

_PRIME = 1_000_003
_MODULUS = 2_147_483_647  # 2**31 - 1: h * _PRIME stays well inside int64
_LENGTH_SALT = 7_919_111


class CharNgramTfidf:
    """Character 1..n-grams of a text -> a sublinear TF-IDF row, L2-normalised."""

    def __init__(self, n: int = 3, buckets: int = 1 << 20, min_df: int = 2) -> None:
        self.n = n
        self.buckets = buckets
        self.min_df = min_df
        self.columns: np.ndarray = np.zeros(0, dtype=np.int32)
        self.idf: np.ndarray = np.zeros(0)

    def _hashes(self, text: str) -> np.ndarray:
        """One bucket per n-gram, in the order: all 1-grams, all 2-grams, ... (spaces dropped)."""
        codes = np.frombuffer(text.replace(" ", "").encode("utf-32-le"), dtype=np.uint32)
        codes = codes.astype(np.int64)
        parts = []
        rolling = codes
        for k in range(self.n):
            if k:
                if len(rolling) < 2:
                    break
                rolling = (rolling[:-1] * _PRIME + codes[k:]) % _MODULUS
            parts.append((rolling + k * _LENGTH_SALT) % self.buckets)
        return np.concatenate(parts) if parts else codes

    def fit(self, texts: Sequence[str]) -> CharNgramTfidf:
        df = np.zeros(self.buckets, dtype=np.int32)
        for text in texts:
            df[np.unique(self._hashes(text))] += 1
        kept = np.flatnonzero(df >= max(1, min(self.min_df, len(texts))))
        self.columns = np.full(self.buckets, -1, dtype=np.int32)
        self.columns[kept] = np.arange(len(kept), dtype=np.int32)
        # The smoothed IDF of scikit-learn (smooth_idf=True), so figures compare.
        self.idf = np.log((1 + len(texts)) / (1 + df[kept])) + 1.0
        return self

    @property
    def size(self) -> int:
        return len(self.idf)

    def _row(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        columns = self.columns[self._hashes(text)]
        columns = columns[columns >= 0]
        if not len(columns):
            return columns, np.zeros(0)
        columns, counts = np.unique(columns, return_counts=True)
        values = (1.0 + np.log(counts)) * self.idf[columns]
        return columns, values / np.sqrt(values @ values)

    def transform(self, texts: Sequence[str]) -> csr_matrix:
        indptr = [0]
        indices = []
        data = []
        for text in texts:
            columns, values = self._row(text)
            indices.append(columns)
            data.append(values)
            indptr.append(indptr[-1] + len(columns))
        return csr_matrix(
            (
                np.concatenate(data) if data else np.zeros(0),
                np.concatenate(indices) if indices else np.zeros(0, dtype=np.int32),
                np.asarray(indptr),
            ),
            shape=(len(texts), self.size),
        )

    def terms(self, text: str) -> dict[int, str]:
        """Column -> the longest n-gram of `text` that falls in it."""
        compact = text.replace(" ", "")
        strings = [
            compact[i : i + k] for k in range(1, self.n + 1) for i in range(len(compact) - k + 1)
        ]
        found: dict[int, str] = {}
        for column, term in zip(self.columns[self._hashes(text)], strings, strict=True):
            if column >= 0 and len(term) >= len(found.get(int(column), "")):
                found[int(column)] = term
        return found

    def term_finder(self, text: str):
        """A function column -> the first n-gram of `text` in that column ("" if none): what
        `terms` gives, computed for the few columns asked about only."""
        compact = text.replace(" ", "")
        columns = self.columns[self._hashes(text)]
        size = len(compact)

        def term(column: int) -> str:
            hits = np.flatnonzero(columns == column)
            if not len(hits):
                return ""
            position, k = int(hits[0]), 0
            while position >= size - k:  # the hashes are all 1-grams, then all 2-grams ...
                position -= size - k
                k += 1
            return compact[position : position + k + 1]

        return term
