"""Text normalisation and tokenisation for case text (Chinese first).

Pure functions, no Django: the benchmark and the fitted pipeline use them as they are. The
fitted pipeline refers to these functions by name, so renaming one makes stored models
unloadable: retrain after such a change.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Masked phone numbers as the message board prints them (138****1234), whole mobile and
# landline numbers, and other long digit runs (ID numbers, order numbers): what matters for
# the category is that a number is there, not which one.
_PHONE = re.compile(r"(?<!\d)(?:1\d{2}[\*xX]{4}\d{4}|1[3-9]\d{9}|0\d{2,3}-?\d{7,8})(?!\d)")
_LONG_NUMBER = re.compile(r"\d{5,}")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
# Masked place names (A市, A3区, B2县, C1镇 ...) carry no signal about the subject; the kind of
# place (区, 县, 镇) sometimes does, so it is kept.
_MASKED_PLACE = re.compile(r"(?<![A-Za-z])[A-Z]\d{0,3}(?=[省市区县镇乡村街])")
# Street addresses: the road name stays (it says 'road'), the house number goes.
_HOUSE_NUMBER = re.compile(r"0(号院|号楼|栋|单元|号|楼|室|层|幢|组)")
_WHITESPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """The text with scraped whitespace, full-width forms, numbers, phones and places folded.

    NFKC turns full-width letters, digits and the ideographic space (U+3000) into their
    ordinary forms; every run of whitespace (the scraped `\\n\\t` runs) becomes one space.
    """
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text)
    text = _PHONE.sub(" 电话 ", text)
    text = _LONG_NUMBER.sub(" 编号 ", text)
    text = _NUMBER.sub("0", text)
    text = _MASKED_PLACE.sub("某", text)
    text = _HOUSE_NUMBER.sub(r"\1", text)
    text = text.lower()
    return _WHITESPACE.sub(" ", text).strip()


def case_text(title: str, description: str, *, title_weight: int = 2) -> str:
    """One document from a title and a description, the title repeated `title_weight` times.

    A title is a one-line summary someone wrote on purpose; repeating it gives its words more
    weight than the same words met once in a long description.
    """
    title = normalise(title)
    description = normalise(description)
    return " 。 ".join([title] * title_weight + [description])


@lru_cache(maxsize=1)
def _jieba():
    import jieba

    jieba.setLogLevel(60)  # the dictionary-loading chatter goes to stderr otherwise
    jieba.initialize()
    return jieba


_STOP_TOKENS = frozenset(" ,.!?;:()[]'\"，。！？；：、（）【】《》“”‘’…-—~/")


def words(text: str) -> list[str]:
    """Jieba words of an already normalised text, punctuation and spaces dropped."""
    return [w for w in _jieba().lcut(text, HMM=False) if w not in _STOP_TOKENS and w.strip()]


def char_ngrams(text: str, n: int = 3) -> list[str]:
    """Character 1..n-grams of a normalised text, spaces left out: Chinese needs no segmenter
    for these, and they catch words jieba's dictionary does not know."""
    text = text.replace(" ", "")
    size = len(text)
    return [text[i : i + k] for k in range(1, n + 1) for i in range(size - k + 1)]
