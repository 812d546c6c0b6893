"""Topic mining (找每月一题的候选): group similar messages and rank the groups.

Pure functions over plain `Doc` records, so the same code mines platform cases (selectors
builds the docs) and a CSV of messages (the `mine_topics` command). No database, no network.

The pipeline, all deterministic (fixed random_state):
1. Text: title + body, scraped whitespace removed, segmented with jieba; stop words
   (data/stopwords.txt), one-character tokens, numbers and punctuation are dropped.
2. Vectors: TF-IDF over words and word bigrams (sublinear tf, min_df 2, max_df 0.5 from 100 docs on, the 20,000 most
   frequent), reduced with
   truncated SVD to at most 120 dimensions and L2-normalised (cosine geometry).
3. Groups: MiniBatchKMeans with k = clamp(n / docs_per_group, 2, max_groups); a doc whose cosine
   similarity to its group's centre is below `min_similarity` is left out (noise), and groups
   whose centres are at least `merge_similarity` alike are merged (k-means splits a big story
   in two), and groups with fewer than `min_size` docs are dropped.
4. Names: key phrases = the terms with the highest mean TF-IDF in the group relative to the
   corpus mean; place = the most common place words (…区, …路, …小区, the area names the
   caller passes); time span = first and last message; the one-line description is the title
   of the message nearest the group's centre.
5. Rank: score = V × G × R × U (see `Weights`):
   V (volume)     = Σ heat weights of the group's docs, heat = 1 + ln(1 + likes + dislikes)
                    (1 for a case without votes);
   G (growth)     = clamp((recent + 1) / (expected + 1), growth_min, growth_max), where recent
                    counts the group's docs in the last `recent_days` before the end of the
                    analysed span and expected is what the group's own earlier rate (its docs
                    before that window, over the days from the span's start to the window)
                    predicts for `recent_days`, counted from the group's first doc: a steady
                    group scores about 1, a new or swelling one more;
   R (repeat)     = 1 + share of the group's docs whose reporter has another doc in the group;
   U (unresolved) = 0.5 + 0.5 × share of the group's docs not yet resolved (1 when unknown,
                    as for a CSV without outcomes).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

SMALL_CORPUS = 100
STOPWORDS_FILE = Path(__file__).resolve().parent / "data" / "stopwords.txt"
_WHITESPACE = re.compile(r"\s+")
# A token worth keeping: at least one CJK character or latin letter, not only digits/punctuation.
_WORDLIKE = re.compile(r"[\u4e00-\u9fffA-Za-z]")
# Masked place codes (A7, A2, C10): they tie every message of a district together whatever it
# is about, so they are left to the place words and kept out of the topic vectors.
_CJK_WORD = re.compile(r"^[\u4e00-\u9fff]+$")
_CODE = re.compile(r"^[A-Za-z]{1,2}\d{0,3}$")
# Place words: administrative units, roads, estates and buildings (the message board masks
# city and district names as A市, A1区; those stay, they still tell districts apart).
_PLACE_SUFFIX = re.compile(
    r"(区|县|镇|乡|街道|社区|村|路|街|大道|巷|小区|花园|家园|新城|苑|园|城|广场|公寓|大厦)$"
)
_PLACE_STOP = frozenset({"居民区", "开发区", "管理区", "住宅区", "生活区", "风景区", "停车场"})


@dataclass(frozen=True)
class Doc:
    """One message or case to mine."""

    id: str
    title: str
    text: str
    at: dt.datetime
    place: str = ""  # words that locate it (the area names of a case, an address)
    heat: float = 1.0  # 1 + ln(1 + likes + dislikes) for board messages, 1 for cases
    reporter: str = ""  # the reporter's phone or user id, for the repeat rate
    resolved: bool | None = None  # None: outcome unknown


@dataclass(frozen=True)
class Weights:
    docs_per_group: int = 5
    max_groups: int = 600
    min_size: int = 3
    min_similarity: float = 0.65
    merge_similarity: float = 0.85
    recent_days: int = 60
    growth_min: float = 0.5
    growth_max: float = 3.0


@dataclass
class Group:
    """A group of similar docs, named and scored."""

    key_phrases: list[str]
    place: str
    first_at: dt.datetime
    last_at: dt.datetime
    description: str
    doc_ids: list[str]
    volume: float
    growth: float
    repeat_rate: float
    unresolved: float
    score: float
    size: int = 0
    peak_month: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        return "、".join(self.key_phrases[:3])


@cache
def stopwords() -> frozenset[str]:
    words = set()
    for line in STOPWORDS_FILE.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            words.add(line)
    return frozenset(words)


@cache
def _jieba():
    import jieba

    jieba.setLogLevel(60)  # the dictionary-loading chatter would go to stderr
    jieba.initialize()
    return jieba


def warm_up() -> None:
    """Load jieba's dictionary and the scikit-learn parts mining and clustering use (a server
    does this in the background when it starts: settings.WARM_UP)."""
    _jieba()
    stopwords()
    import sklearn.cluster  # noqa: F401
    import sklearn.decomposition  # noqa: F401
    import sklearn.feature_extraction.text  # noqa: F401
    import sklearn.preprocessing  # noqa: F401


def clean(text: str) -> str:
    """Scraped whitespace (tabs, newlines, U+3000 runs) collapsed to single spaces."""
    return _WHITESPACE.sub(" ", (text or "").replace("\u3000", " ")).strip()


def tokens(text: str) -> list[str]:
    """Words of `text` worth counting: jieba segmentation without stop words and noise."""
    stop = stopwords()
    # HMM off: the dictionary alone segments this text well and twice as fast.
    return [
        w
        for w in _jieba().lcut(clean(text), HMM=False)
        if len(w) > 1 and w not in stop and _WORDLIKE.search(w) and not _CODE.match(w)
    ]


def place_words(text: str) -> list[str]:
    """Words of `text` that look like places (区, 路, 小区 ...)."""
    # HMM on: it joins some unknown names (伊景园) that the dictionary splits; a name it still
    # splits (丽发 + 新城) is joined here: a word ending like a place takes the word before it.
    words = [w for w in _jieba().lcut(clean(text), HMM=True) if w.strip()]
    stop = stopwords()
    found = []
    for i, w in enumerate(words):
        if not _PLACE_SUFFIX.search(w) or w in _PLACE_STOP:
            continue
        before = words[i - 1] if i else ""
        if len(w) <= 2 and len(before) >= 2 and before not in stop and _CJK_WORD.match(before):
            w = before + w
        if len(w) > 2:
            found.append(w)
    return found


def mine(
    docs: Sequence[Doc], weights: Weights | None = None, *, top: int | None = None
) -> list[Group]:
    """Groups of similar docs, best candidate first (see the module docstring)."""
    weights = weights or Weights()
    docs = [d for d in docs if clean(d.title) or clean(d.text)]
    if len(docs) < max(weights.min_size, 2):
        return []
    import numpy as np
    from sklearn.cluster import MiniBatchKMeans
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import normalize

    # The title counts twice: it is the writer's own summary of the problem.
    segmented = []
    for d in docs:
        title = tokens(d.title)
        segmented.append(title + title + tokens(d.text))
    vectorizer = TfidfVectorizer(
        analyzer=lambda words: words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)],
        min_df=2,
        # A word in half of a big corpus says nothing about one group; in a small one (a
        # street's month) a real topic can be half of everything, so nothing is cut there.
        max_df=0.5 if len(docs) >= SMALL_CORPUS else 1.0,
        max_features=20000,
        sublinear_tf=True,
    )
    try:
        tfidf = vectorizer.fit_transform(segmented)
    except ValueError:  # no term appears in two docs: nothing to group
        return []
    terms = np.array(vectorizer.get_feature_names_out())
    n_docs, n_terms = tfidf.shape
    dims = min(120, n_terms - 1, n_docs - 1)
    if dims >= 2:
        reduced = TruncatedSVD(n_components=dims, random_state=0).fit_transform(tfidf)
    else:
        reduced = tfidf.toarray()
    vectors = normalize(reduced)
    k = max(2, min(weights.max_groups, n_docs // max(weights.docs_per_group, 1)))
    k = min(k, n_docs)
    model = MiniBatchKMeans(n_clusters=k, random_state=0, n_init=1, batch_size=1024)
    labels = model.fit_predict(vectors)
    centres = normalize(model.cluster_centers_)
    similarity = np.einsum("ij,ij->i", vectors, centres[labels])
    labels = _merged(labels, centres, weights.merge_similarity)
    corpus_mean = np.asarray(tfidf.mean(axis=0)).ravel()
    end = max(d.at for d in docs)
    groups = []
    for label in range(k):
        members = np.flatnonzero((labels == label) & (similarity >= weights.min_similarity))
        if len(members) < weights.min_size:
            continue
        group_docs = [docs[i] for i in members]
        mean = np.asarray(tfidf[members].mean(axis=0)).ravel()
        lift = mean - corpus_mean
        central = members[int(np.argmax(similarity[members]))]
        groups.append(
            _named(
                group_docs,
                key_phrases=_key_phrases(terms, lift),
                description=clean(docs[central].title) or clean(docs[central].text)[:60],
                end=end,
                weights=weights,
            )
        )
    groups.sort(key=lambda g: (-g.score, -g.size, g.first_at))
    return groups[:top] if top else groups


def _merged(labels, centres, threshold: float):
    """Labels after joining groups whose centres are `threshold`-alike (union-find)."""
    import numpy as np

    parent = list(range(len(centres)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    alike = np.argwhere(np.triu(centres @ centres.T, k=1) >= threshold)
    for i, j in alike:
        parent[root(int(j))] = root(int(i))
    return np.array([root(int(label)) for label in labels])


def _key_phrases(terms, lift, n: int = 5) -> list[str]:
    """The terms that set the group apart; a bigram replaces the words it contains."""
    picked: list[str] = []
    for index in lift.argsort()[::-1]:
        if lift[index] <= 0 or len(picked) >= n:
            break
        term = str(terms[index])
        phrase = term.replace(" ", "")
        if any(phrase in p or p in phrase for p in picked):
            if " " in term:  # the bigram says more than the word already picked
                picked = [p for p in picked if p not in phrase]
                picked.append(phrase)
            continue
        picked.append(phrase)
    return picked[:n]


def _named(
    docs: list[Doc],
    *,
    key_phrases: list[str],
    description: str,
    end: dt.datetime,
    weights: Weights,
) -> Group:
    first = min(d.at for d in docs)
    last = max(d.at for d in docs)
    places = Counter()
    for d in docs:
        found = set(place_words(f"{d.place} {d.title}")) if d.place else set(place_words(d.title))
        places.update(found)
    place = "、".join(w for w, _n in places.most_common(2)) if places else ""
    scores = score(docs, end=end, weights=weights)
    months = Counter(d.at.strftime("%Y-%m") for d in docs)
    return Group(
        key_phrases=key_phrases,
        place=place,
        first_at=first,
        last_at=last,
        description=description[:80],
        doc_ids=[d.id for d in docs],
        size=len(docs),
        peak_month=months.most_common(1)[0][0],
        **scores,
    )


def score(
    docs: Iterable[Doc],
    *,
    end: dt.datetime,
    start: dt.datetime | None = None,
    weights: Weights | None = None,
) -> dict:
    """The four factors and their product for one group (see the module docstring). `start`
    and `end` bound the analysed span (default: the group's own first doc)."""
    weights = weights or Weights()
    docs = list(docs)
    n = len(docs)
    volume = sum(d.heat for d in docs)
    recent_start = end - dt.timedelta(days=weights.recent_days)
    recent = sum(1 for d in docs if d.at > recent_start)
    start = start or min(d.at for d in docs)
    before_days = max((recent_start - start).total_seconds() / 86400, weights.recent_days)
    expected = (n - recent) / before_days * weights.recent_days
    growth = min(weights.growth_max, max(weights.growth_min, (recent + 1) / (expected + 1)))
    reporters = Counter(d.reporter for d in docs if d.reporter)
    repeats = sum(1 for d in docs if d.reporter and reporters[d.reporter] > 1)
    repeat_rate = 1 + repeats / n if n else 1.0
    known = [d.resolved for d in docs if d.resolved is not None]
    unresolved = 0.5 + 0.5 * (known.count(False) / len(known)) if known else 1.0
    return {
        "volume": round(volume, 3),
        "growth": round(growth, 3),
        "repeat_rate": round(repeat_rate, 3),
        "unresolved": round(unresolved, 3),
        "score": round(volume * growth * repeat_rate * unresolved, 3),
    }


def heat(likes: int | float = 0, dislikes: int | float = 0) -> float:
    """1 + ln(1 + likes + dislikes): votes raise a message's weight, with diminishing effect."""
    return 1 + math.log1p(max(0, likes or 0) + max(0, dislikes or 0))
