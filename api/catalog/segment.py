"""Chinese text for search: normalisation, jieba segmentation and character n-grams.

jieba is loaded from the package's own dictionary (no network, nothing downloaded); the catalog's own words
(item names, keywords, 常用语, synonym terms) are added to it when the search index is built, so that
`cut_for_search` keeps them whole and still emits their sub-words. Character bigrams (and, with a small weight,
single characters) make the search tolerant of missing or extra characters: "身份证补" shares 身份, 份证 and 补
with 居民身份证补领 although no dictionary word covers "证补".
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections.abc import Iterable

import jieba

# Unigram terms live in the same posting map as words and bigrams, told apart by this prefix.
UNIGRAM = "\x01"
_KEEP = re.compile(r"[0-9a-z\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_ALNUM = re.compile(r"[0-9a-z]+")


def normalize(text: str) -> str:
    """NFKC, lower case, and only CJK letters and ASCII letters/digits, runs separated by one space."""
    return " ".join(_KEEP.findall(unicodedata.normalize("NFKC", text).lower()))


def compact(text: str) -> str:
    """`normalize` without the spaces: the form names and phrases are compared in."""
    return "".join(_KEEP.findall(unicodedata.normalize("NFKC", text).lower()))


class Segmenter:
    """One jieba tokenizer per process, initialised on first use (≈0.5 s, from jieba's bundled dictionary)."""

    def __init__(self) -> None:
        self._tokenizer = jieba.Tokenizer()
        self._lock = threading.Lock()
        self._ready = False
        self._words: set[str] = set()

    def _ensure(self) -> None:
        if self._ready:
            return
        with self._lock:
            if not self._ready:
                logging.getLogger("jieba").setLevel(logging.WARNING)
                self._tokenizer.initialize()
                self._ready = True

    def add_words(self, words: Iterable[str]) -> None:
        """Add catalog words to the dictionary (idempotent; call from a worker thread, it takes a while)."""
        self._ensure()
        for raw in words:
            word = compact(raw)
            if len(word) >= 2 and word not in self._words and _CJK.fullmatch(word):
                self._tokenizer.add_word(word, freq=max(self._tokenizer.suggest_freq(word), 10))
                self._words.add(word)

    def words(self, normalized: str) -> list[str]:
        """jieba's search-mode words (length ≥ 2) of an already normalized text."""
        self._ensure()
        out: list[str] = []
        for run in normalized.split(" "):
            for word in self._tokenizer.cut_for_search(run, HMM=False):
                if len(word) >= 2:
                    out.append(word)
        return out


def text_terms(segmenter: Segmenter, text: str) -> set[str]:
    """Every indexable term of a text: jieba words, CJK bigrams, CJK single characters, ASCII words."""
    normalized = normalize(text)
    if not normalized:
        return set()
    terms = set(segmenter.words(normalized))
    for run in _CJK.findall(normalized):
        terms.update(run[i : i + 2] for i in range(len(run) - 1))
        terms.update(UNIGRAM + ch for ch in run)
    terms.update(_ALNUM.findall(normalized))
    return terms


def query_terms(segmenter: Segmenter, normalized: str, *, unigram_limit: int = 16) -> dict[str, float]:
    """Terms of a normalized query with their weight before IDF: longer words weigh more, single characters
    little (only for short queries, where a missing character matters and the cost stays small)."""
    weights: dict[str, float] = {}

    def put(term: str, weight: float) -> None:
        if weight > weights.get(term, 0.0):
            weights[term] = weight

    for word in segmenter.words(normalized):
        put(word, 1.0 + 0.25 * min(len(word) - 2, 4))
    cjk_runs = _CJK.findall(normalized)
    for run in cjk_runs:
        for i in range(len(run) - 1):
            put(run[i : i + 2], 1.0)
    if sum(len(run) for run in cjk_runs) <= unigram_limit:
        for run in cjk_runs:
            for ch in run:
                put(UNIGRAM + ch, 0.35)
    for word in _ALNUM.findall(normalized):
        put(word, 1.0)
    return weights
