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
# A vocabulary word's key: its full hash (< 2**31) plus (length - 1) << 31.
_KEY_SHIFT = 31
_LONGEST_WORD = 8
_SENTINEL = np.iinfo(np.int64).max
_FILTER_MASK = (1 << 19) - 1  # a 512 KB bitmap: about 5% of it set for 25,000 words


def tfidf_row(columns: np.ndarray, idf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One L2-normalised sublinear TF-IDF row from the column of each occurrence (-1: not a
    feature): (sorted columns, values)."""
    columns = columns[columns >= 0]
    if not len(columns):
        return columns.astype(np.int32), np.zeros(0)
    columns, counts = np.unique(columns, return_counts=True)
    values = (1.0 + np.log(counts)) * idf[columns]
    return columns, values / np.sqrt(values @ values)


def stack_rows(rows: Sequence[tuple[np.ndarray, np.ndarray]], width: int) -> csr_matrix:
    """A CSR matrix of `width` columns from (columns, values) rows."""
    indptr = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum([len(c) for c, _ in rows], out=indptr[1:])
    return csr_matrix(
        (
            np.concatenate([v for _, v in rows]) if rows else np.zeros(0),
            np.concatenate([c for c, _ in rows]) if rows else np.zeros(0, dtype=np.int32),
            indptr,
        ),
        shape=(len(rows), width),
    )


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
        # Sorted keys (see _KEY_SHIFT) of the vocabulary words longer than n.
        self.word_keys: np.ndarray = np.zeros(0, dtype=np.int64)
        self.word_filter: np.ndarray = np.zeros(0, dtype=bool)
        self.word_n: int = 0  # the longest word kept (0: no vocabulary)

    @staticmethod
    def _codes(text: str) -> np.ndarray:
        codes = np.frombuffer(text.replace(" ", "").encode("utf-32-le"), dtype=np.uint32)
        return codes.astype(np.int64)

    def _grams(
        self, text: str, spans: bool = True, hits: list | None = None
    ) -> tuple[np.ndarray, ...]:
        """(bucket, start, length) of every n-gram, in the order: all 1-grams, all 2-grams, ...
        (spaces dropped), then the vocabulary words found; only the buckets without `spans`.

        Few numpy calls per text (their overhead, not the arithmetic, is the cost): the grams
        longer than n of every length are looked up in the vocabulary in one `searchsorted`.
        If `hits` is a list, the positions in `word_keys` of the words found are appended to it
        (one array), for the word clusters (clusters.py).
        """
        codes = self._codes(text)
        parts, longer, starts, lengths = [], [], [], []
        rolling = codes
        for k in range(max(self.n, getattr(self, "word_n", 0))):
            if k:
                if len(rolling) < 2:
                    break
                rolling = (rolling[:-1] * _PRIME + codes[k:]) % _MODULUS
            if k < self.n:
                parts.append((rolling + k * _LENGTH_SALT) % self.buckets)
            else:  # longer than n: only the vocabulary's words, looked up below
                longer.append(rolling + (k << _KEY_SHIFT))
            if spans:
                starts.append(np.arange(len(rolling)))
                lengths.append(np.full(len(rolling), k + 1))
        if longer:
            keys = np.concatenate(longer) if len(longer) > 1 else longer[0]
            # A bitmap of the words' low bits rules out most grams with one gather; only the
            # rest are searched for exactly.
            words = self.word_filter[keys & _FILTER_MASK]
            maybe = np.flatnonzero(words)
            candidates = keys[maybe]
            positions = np.searchsorted(self.word_keys, candidates)
            matched = self.word_keys[positions] == candidates
            words[maybe] = matched
            found = keys[words]
            if hits is not None:
                hits.append(positions[matched])
            parts.append(((found & _MODULUS) + (found >> _KEY_SHIFT) * _LENGTH_SALT) % self.buckets)
        if hits is not None and not longer:
            hits.append(np.zeros(0, dtype=np.int64))
        if not parts:
            empty = np.zeros(0, dtype=np.int64)
            return (empty, empty, empty) if spans else (empty,)
        buckets = np.concatenate(parts) if len(parts) > 1 else parts[0]
        if not spans:
            return (buckets,)
        starts, lengths = np.concatenate(starts), np.concatenate(lengths)
        if longer:  # the grams longer than n that are not words are not there
            keep = np.ones(len(starts), dtype=bool)
            keep[len(starts) - len(words) :] = words
            starts, lengths = starts[keep], lengths[keep]
        return buckets, starts, lengths

    def _hashes(self, text: str, hits: list | None = None) -> np.ndarray:
        return self._grams(text, spans=False, hits=hits)[0]

    def word_key(self, word: str) -> int | None:
        """The key of a vocabulary word (see _KEY_SHIFT); None if it is not longer than n
        characters or longer than the longest kept."""
        codes = self._codes(word)
        if not self.n < len(codes) <= _LONGEST_WORD:
            return None
        value = codes[0]
        for code in codes[1:]:
            value = (value * _PRIME + code) % _MODULUS
        return int(value) + ((len(codes) - 1) << _KEY_SHIFT)

    def word_positions(self, words: Sequence[str]) -> np.ndarray:
        """The position in `word_keys` of each of `words` (-1 where it is not a vocabulary
        word): what `transform(..., hits=...)` reports for their occurrences."""
        keys = [self.word_key(w) for w in words]
        known = np.asarray([k if k is not None else -1 for k in keys], dtype=np.int64)
        positions = np.searchsorted(self.word_keys, known)
        return np.where(self.word_keys[positions] == known, positions, -1)

    def _set_words(self, words) -> None:
        keys = [key for key in map(self.word_key, words) if key is not None]
        # Sorted, and a sentinel at the end: `searchsorted` never points past it.
        self.word_keys = np.append(np.unique(np.asarray(keys, dtype=np.int64)), _SENTINEL)
        self.word_filter = np.zeros(_FILTER_MASK + 1, dtype=bool)
        self.word_filter[self.word_keys[:-1] & _FILTER_MASK] = True
        self.word_n = max((k >> _KEY_SHIFT) + 1 for k in keys) if keys else 0

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

    def _row(self, text: str, hits: list | None = None) -> tuple[np.ndarray, np.ndarray]:
        return tfidf_row(self.columns[self._hashes(text, hits)], self.idf)

    def transform(self, texts: Sequence[str], hits: list | None = None) -> csr_matrix:
        """TF-IDF rows of `texts`; if `hits` is a list, one array per text is appended to it:
        the positions in `word_keys` of the vocabulary words found in that text."""
        return stack_rows([self._row(text, hits) for text in texts], self.size)

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
