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
# Question words, particles and pronouns of colloquial queries ("护照怎么办理", "被辞退了能领钱吗"). Catalog texts
# hardly hold them, so at full weight they only lower a query's coverage until its real hits fall under the
# threshold. A query term inside such a word (or a bigram straddling one) keeps a small weight only, so that a
# query made of nothing else still finds what mentions it.
_FILLER_TEXT = (
    "怎么 怎么办 怎么样 怎样 如何 什么 啥 哪里 哪儿 在哪 在哪里 哪些 哪个 多少 多久 吗 呢 啊 吧 呀 嘛 了 的 得 "
    "能 能不能 可以 可不可以 需要 要 想 我 我们 你 请问 一下 有没有 有 是 是不是 还 该 应该 去 办理 咋 咋办"
)
FILLER_WORDS = frozenset(_FILLER_TEXT.split())
FILLER_FACTOR = 0.1
STRADDLE_FACTOR = 0.4


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

    def filler_positions(self, run: str) -> list[bool]:
        """For each character of a CJK run: does it belong to a filler word in jieba's (accurate-mode) cut?"""
        self._ensure()
        flags: list[bool] = []
        for token in self._tokenizer.cut(run, HMM=False):
            flags.extend([token in FILLER_WORDS] * len(token))
        return flags

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
        put(word, (1.0 + 0.25 * min(len(word) - 2, 4)) * (FILLER_FACTOR if word in FILLER_WORDS else 1.0))
    cjk_runs = _CJK.findall(normalized)
    fillers = [segmenter.filler_positions(run) for run in cjk_runs]
    for run, filler in zip(cjk_runs, fillers, strict=True):
        for i in range(len(run) - 1):
            both, either = filler[i] and filler[i + 1], filler[i] or filler[i + 1]
            put(run[i : i + 2], FILLER_FACTOR if both else STRADDLE_FACTOR if either else 1.0)
    if sum(len(run) for run in cjk_runs) <= unigram_limit:
        for run, filler in zip(cjk_runs, fillers, strict=True):
            for ch, is_filler in zip(run, filler, strict=True):
                put(UNIGRAM + ch, 0.35 * (FILLER_FACTOR if is_filler else 1.0))
    for word in _ALNUM.findall(normalized):
        put(word, 1.0)
    return weights
