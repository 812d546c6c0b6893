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
    """Character 1..n-grams of a text -> a sublinear TF-IDF row, L2-normalised.

    With a vocabulary of longer words (`fit(texts, words=...)`, learnt once at training time
    by segmenting the training texts), the character grams of those lengths are emitted too,
    but only where they are one of the words: a lookup of their full hash in a sorted array,
    so no segmentation at run time.
    """

    def __init__(self, n: int = 3, buckets: int = 1 << 20, min_df: int = 2) -> None:
        self.n = n
        self.buckets = buckets
        self.min_df = min_df
        self.columns: np.ndarray = np.zeros(0, dtype=np.int32)
        self.idf: np.ndarray = np.zeros(0)
        # Sorted keys (full hash * 8 + length - 1) of the vocabulary words longer than n.
        self.word_keys: np.ndarray = np.zeros(0, dtype=np.int64)
        self.word_n: int = 0  # the longest word kept (0: no vocabulary)

    @staticmethod
    def _codes(text: str) -> np.ndarray:
        codes = np.frombuffer(text.replace(" ", "").encode("utf-32-le"), dtype=np.uint32)
        return codes.astype(np.int64)

    def _grams(self, text: str, spans: bool = True) -> tuple[np.ndarray, ...]:
        """(bucket, start, length) of every n-gram, in the order: all 1-grams, all 2-grams, ...
        (spaces dropped), then the vocabulary words found; only the buckets without `spans`."""
        codes = self._codes(text)
        buckets, starts, lengths = [], [], []
        rolling = codes
        for k in range(max(self.n, getattr(self, "word_n", 0))):
            if k:
                if len(rolling) < 2:
                    break
                rolling = (rolling[:-1] * _PRIME + codes[k:]) % _MODULUS
            where = None
            if k >= self.n:  # longer than n: only the vocabulary's words
                keys = rolling * 8 + k
                found = np.searchsorted(self.word_keys, keys)
                found = np.minimum(found, len(self.word_keys) - 1)
                where = np.flatnonzero(self.word_keys[found] == keys)
                if not len(where):
                    continue
            hashed = (rolling + k * _LENGTH_SALT) % self.buckets
            buckets.append(hashed if where is None else hashed[where])
            if spans:
                starts.append(np.arange(len(rolling)) if where is None else where)
                lengths.append(k + 1)
        if not buckets:
            empty = np.zeros(0, dtype=np.int64)
            return (empty, empty, empty) if spans else (empty,)
        if not spans:
            return (np.concatenate(buckets),)
        return (
            np.concatenate(buckets),
            np.concatenate(starts),
            np.concatenate([np.full(len(b), k) for b, k in zip(buckets, lengths, strict=True)]),
        )

    def _hashes(self, text: str) -> np.ndarray:
        return self._grams(text, spans=False)[0]

    def _set_words(self, words) -> None:
        keys = []
        for word in words:
            codes = self._codes(word)
            if not self.n < len(codes) <= 8:
                continue
            value = codes[0]
            for code in codes[1:]:
                value = (value * _PRIME + code) % _MODULUS
            keys.append(int(value) * 8 + len(codes) - 1)
        self.word_keys = np.unique(np.asarray(keys, dtype=np.int64))
        self.word_n = max((k % 8) + 1 for k in keys) if keys else 0

    def fit(self, texts: Sequence[str], words: Sequence[str] = ()) -> CharNgramTfidf:
        """Fit on `texts`; `words` (longer than n characters, up to 8) are the vocabulary whose
        occurrences become features as well."""
        self._set_words(words)
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
        buckets, starts, lengths = self._grams(text)
        found: dict[int, str] = {}
        for column, start, length in zip(self.columns[buckets], starts, lengths, strict=True):
            term = compact[start : start + length]
            if column >= 0 and len(term) >= len(found.get(int(column), "")):
                found[int(column)] = term
        return found

    def term_finder(self, text: str):
        """A function column -> the first n-gram of `text` in that column ("" if none): what
        `terms` gives, computed for the few columns asked about only."""
        compact = text.replace(" ", "")
        buckets, starts, lengths = self._grams(text)
        columns = self.columns[buckets]

        def term(column: int) -> str:
            hits = np.flatnonzero(columns == column)
            if not len(hits):
                return ""
            start, length = int(starts[hits[0]]), int(lengths[hits[0]])
            return compact[start : start + length]

        return term
