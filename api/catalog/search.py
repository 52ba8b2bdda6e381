"""Service search and type-ahead over the published catalog (graphql.md §4: p95 ≤ 30 ms on 5,000 items).

Scaling decision. PostgreSQL full-text search needs a Chinese parser (zhparser) that is not available here, and
SQLite has none either; LIKE scans are neither tolerant nor ranked. So every API process holds an in-memory
inverted index of the published catalog (a few thousand items: ~10 MB, built in about a second in a worker
thread) and answers searches without SQL. The index is versioned by a catalog version in Redis
(`VERSION_KEY`): `invalidate(redis)` (called on publish, suspension, 常用语/synonym edits) bumps it, and every
process rebuilds lazily on its next search, so instances stay consistent without talking to each other. The cost
per request is one Redis GET. Regional popularity (ServiceView counts) is a snapshot taken at build time and
refreshed at least every `POPULARITY_MAX_AGE` seconds in the background. Past a few hundred thousand items the
index would move out of process (a search engine with a Chinese analyzer); the function signatures here would not
change.

Ranking. A query is normalised (NFKC, lower case, only CJK and ASCII letters/digits), cut to `MAX_QUERY_CHARS`
(longer input is truncated, not refused), and turned into terms: jieba search-mode words, character bigrams and,
for short queries, single characters with a small weight. Each term weighs its IDF times its length weight; a
document's relevance is the sum over matched terms of that weight times the best field the term occurs in (name
1.0, 常用语 0.9, keyword 0.8, FAQ question 0.5), divided by the query's total weight, plus bonuses for an exact or
contained name, keyword or phrase. Operator synonyms rewrite the query (every group term found in it replaced by
each other term of its group) and a document keeps its best variant, a rewritten one scoring 0.9 of its value.
Documents matching less than a third of the query's weight, or scoring under a quarter of the best, are dropped.
The order is the relevance multiplied by (1 + 0.1 × popularity share), so that popularity in the caller's region
(ServiceView counts in the region, plus ServiceItem.popularity) orders near-equal hits without outranking a
clearly better match.

Speed (same results as that definition, bit for bit; tests/catalog/test_search_speed_guards.py): each query form
scores only the documents holding one of its heavier terms or possibly earning a bonus (max-score pruning: the
common single characters alone cannot reach MIN_COVERAGE), query terms are memoised per index, and so are the
ranked hits of the last RESULT_CACHE_SIZE (query, audience, region) keys.
"""

from __future__ import annotations

import asyncio
import bisect
import math
import time
from collections import OrderedDict, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from tortoise.functions import Count

from api.catalog.segment import Segmenter, compact, normalize, query_terms, text_terms
from api.kit.redis import Redis
from api.models import Faq, ItemStatus, SearchPhrase, SearchSynonym, ServiceItem, ServiceView

VERSION_KEY = "catalog:search:version"
MAX_QUERY_CHARS = 100
MAX_SUGGEST = 20
POPULARITY_MAX_AGE = 300.0
PERSON_SERVER_TYPE = "1"


class MatchedBy(StrEnum):
    NAME = "NAME"
    KEYWORD = "KEYWORD"
    FAQ = "FAQ"
    PHRASE = "PHRASE"
    SYNONYM = "SYNONYM"


class Audience(StrEnum):
    PERSON = "PERSON"
    ENTERPRISE = "ENTERPRISE"


_NAME, _KEYWORD, _FAQ, _PHRASE = 1, 2, 4, 8
_FIELD_WEIGHT = {_NAME: 1.0, _PHRASE: 0.9, _KEYWORD: 0.8, _FAQ: 0.5}
_BEST = [max((w for bit, w in _FIELD_WEIGHT.items() if mask & bit), default=0.0) for mask in range(16)]
_MASK_MATCH = (
    (_NAME, MatchedBy.NAME),
    (_KEYWORD, MatchedBy.KEYWORD),
    (_FAQ, MatchedBy.FAQ),
    (_PHRASE, MatchedBy.PHRASE),
)
SYNONYM_FACTOR = 0.9
MIN_COVERAGE = 0.34
MIN_SHARE_OF_TOP = 0.25
POPULARITY_FACTOR = 0.1
TERM_CACHE_SIZE = 4_096
RESULT_CACHE_SIZE = 2_048


def region_prefix(code: str) -> str:
    """The significant part of a GB/T 2260 code: 990100000000 → 9901, 990121000000 → 990121."""
    stripped = code.rstrip("0")
    return stripped + "0" * (len(stripped) % 2)


@dataclass
class Doc:
    row: ServiceItem
    name: str  # compact form
    keywords: tuple[str, ...]
    phrases: tuple[tuple[str, float], ...]
    region: str  # region prefix
    audiences: frozenset[Audience]
    popularity: int
    views: dict[str, int] = field(default_factory=dict)  # region prefix of the viewer → views

    def regional_views(self, prefix: str | None) -> int:
        if not prefix:
            return sum(self.views.values())
        return sum(n for region, n in self.views.items() if region.startswith(prefix))


@dataclass(frozen=True)
class Suggestion:
    text: str
    kind: MatchedBy  # NAME or PHRASE
    service_code: str | None
    popularity: int


_Joined = tuple[str, list[int], list[tuple[int, ...]]]  # texts joined by "\0", start offsets, documents of each


def _joined(by_text: dict[str, list[int]]) -> _Joined:
    texts = sorted(by_text)
    starts, offset = [], 0
    for text in texts:
        starts.append(offset)
        offset += len(text) + 1
    return "\0".join(texts), starts, [tuple(by_text[t]) for t in texts]


@dataclass(frozen=True)
class BonusLookup:
    """Names, keywords and phrases by text, so that the documents a query could earn a bonus with are found
    without testing every matching document (see `_bonus_candidates`)."""

    by_name: dict[str, tuple[int, ...]]
    by_keyword: dict[str, tuple[int, ...]]
    by_phrase: dict[str, tuple[int, ...]]
    names: _Joined
    phrases: _Joined
    longest: int  # the longest name or phrase: no longer part of a query can equal one

    @classmethod
    def of(cls, docs: Sequence[Doc]) -> BonusLookup:
        names: dict[str, list[int]] = defaultdict(list)
        keywords: dict[str, list[int]] = defaultdict(list)
        phrases: dict[str, list[int]] = defaultdict(list)
        for n, doc in enumerate(docs):
            names[doc.name].append(n)
            for keyword in set(doc.keywords):
                keywords[keyword].append(n)
            for phrase in {p for p, _ in doc.phrases}:
                phrases[phrase].append(n)
        return cls(
            by_name={t: tuple(d) for t, d in names.items()},
            by_keyword={t: tuple(d) for t, d in keywords.items()},
            by_phrase={t: tuple(d) for t, d in phrases.items()},
            names=_joined(names),
            phrases=_joined(phrases),
            longest=max((len(t) for t in [*names, *phrases]), default=0),
        )


@dataclass
class SearchIndex:
    version: str
    docs: list[Doc]
    postings: dict[str, dict[int, int]]
    idf: dict[str, float]
    synonyms: dict[str, tuple[str, ...]]  # term → the other terms of its group
    suggestions: list[tuple[str, Suggestion]]  # sorted by compact text
    built_at: float
    lookup: BonusLookup = field(init=False)
    # Per-index memos (a new catalog version or popularity refresh is a new index, so they never go stale):
    # query form → its terms, and (query, audience, region prefix) → ranked hits. Both bounded.
    term_cache: dict[str, dict[str, float]] = field(default_factory=dict, init=False)
    results: OrderedDict[tuple[str, Audience | None, str | None], tuple[Hit, ...]] = field(
        default_factory=OrderedDict, init=False
    )

    def __post_init__(self) -> None:
        self.lookup = BonusLookup.of(self.docs)

    @property
    def size(self) -> int:
        return len(self.docs)


@dataclass(frozen=True)
class Hit:
    item: ServiceItem
    score: float
    matched_by: tuple[MatchedBy, ...]


# ------------------------------------------------------------------------------------------------ building


@dataclass(frozen=True)
class CatalogSnapshot:
    items: list[ServiceItem]
    faqs: dict[object, list[str]]
    phrases: list[tuple[str, list[str], float]]
    synonym_groups: dict[str, list[str]]
    views: dict[str, dict[str, int]]  # task_code → region prefix → count


async def load_snapshot() -> CatalogSnapshot:
    """Everything the index needs, in five SQL statements."""
    rows = await ServiceItem.filter(status=ItemStatus.PUBLISHED, cancel_at__isnull=True).order_by(
        "task_code", "-version"
    )
    latest: dict[tuple[str, str | None], ServiceItem] = {}
    for row in rows:
        latest.setdefault((row.task_code, row.handle_item_code), row)
    items = list(latest.values())
    ids = [row.id for row in items]
    faqs: dict[object, list[str]] = defaultdict(list)
    if ids:
        for item_id, question in await Faq.filter(service_item_id__in=ids).values_list("service_item_id", "question"):
            faqs[item_id].append(str(question))
    phrases = [
        (str(p), [str(c) for c in codes], float(w))
        for p, codes, w in await SearchPhrase.all().values_list("phrase", "task_codes", "weight")
    ]
    groups: dict[str, list[str]] = defaultdict(list)
    for term, group in await SearchSynonym.all().values_list("term", "group_key"):
        groups[str(group)].append(str(term))
    views: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    counted = (
        await ServiceView.annotate(n=Count("id"))
        .group_by("task_code", "region_code")
        .values_list("task_code", "region_code", "n")
    )
    for task_code, region, n in counted:
        views[str(task_code)][region_prefix(str(region or ""))] += int(n)
    return CatalogSnapshot(items, faqs, phrases, groups, views)


def build_index(segmenter: Segmenter, snapshot: CatalogSnapshot, version: str) -> SearchIndex:
    """Pure CPU: run it in a worker thread."""
    segmenter.add_words(
        [row.name for row in snapshot.items]
        + [k for row in snapshot.items for k in row.keywords]
        + [p for p, _, _ in snapshot.phrases]
        + [t for terms in snapshot.synonym_groups.values() for t in terms]
    )
    phrases_by_code: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for phrase, codes, weight in snapshot.phrases:
        for code in codes:
            phrases_by_code[code].append((phrase, weight))
    docs: list[Doc] = []
    postings: dict[str, dict[int, int]] = defaultdict(dict)
    for row in snapshot.items:
        n = len(docs)
        server_types = {str(t) for t in row.server_types}
        audiences = set()
        if PERSON_SERVER_TYPE in server_types:
            audiences.add(Audience.PERSON)
        if server_types - {PERSON_SERVER_TYPE}:
            audiences.add(Audience.ENTERPRISE)
        keywords = [str(k) for k in row.keywords]
        if row.result_name:
            keywords.append(row.result_name)
        phrases = phrases_by_code.get(row.task_code, [])
        docs.append(
            Doc(
                row=row,
                name=compact(row.name),
                keywords=tuple(compact(k) for k in keywords),
                phrases=tuple((compact(p), w) for p, w in phrases),
                region=region_prefix(row.region_code),
                audiences=frozenset(audiences),
                popularity=row.popularity,
                views=dict(snapshot.views.get(row.task_code, {})),
            )
        )
        fields: list[tuple[int, Iterable[str]]] = [
            (_NAME, [row.name]),
            (_KEYWORD, keywords),
            (_FAQ, snapshot.faqs.get(row.id, [])),
            (_PHRASE, [p for p, _ in phrases]),
        ]
        for bit, texts in fields:
            for text in texts:
                for term in text_terms(segmenter, text):
                    posting = postings[term]
                    posting[n] = posting.get(n, 0) | bit
    total = max(len(docs), 1)
    idf = {term: math.log(1.0 + total / len(posting)) for term, posting in postings.items()}
    synonyms: dict[str, tuple[str, ...]] = {}
    for terms in snapshot.synonym_groups.values():
        normalized = sorted({compact(t) for t in terms if compact(t)})
        for term in normalized:
            synonyms[term] = tuple(t for t in normalized if t != term)
    suggestions: dict[tuple[str, MatchedBy], Suggestion] = {}
    for doc in docs:
        pop = doc.popularity + doc.regional_views(None)
        key = (doc.name, MatchedBy.NAME)
        if key not in suggestions or suggestions[key].popularity < pop:
            suggestions[key] = Suggestion(doc.row.name, MatchedBy.NAME, doc.row.task_code, pop)
    live_codes = {doc.row.task_code: doc for doc in docs}
    for phrase, codes, weight in snapshot.phrases:
        targets = [live_codes[c] for c in codes if c in live_codes]
        if targets and compact(phrase):
            pop = int(weight * 10) + max(d.popularity + d.regional_views(None) for d in targets)
            only_code: str | None = targets[0].row.task_code if len(targets) == 1 else None
            suggestions[(compact(phrase), MatchedBy.PHRASE)] = Suggestion(phrase, MatchedBy.PHRASE, only_code, pop)
    ordered = sorted(((key[0], s) for key, s in suggestions.items()), key=lambda pair: pair[0])
    return SearchIndex(version, docs, dict(postings), idf, synonyms, ordered, time.monotonic())


# ------------------------------------------------------------------------------------------------ the per-process index


class SearchService:
    """The process's index, rebuilt lazily when the catalog version in Redis moves (one rebuild at a time)."""

    def __init__(self) -> None:
        self.segmenter = Segmenter()
        self.index: SearchIndex | None = None
        self._building: asyncio.Task[SearchIndex] | None = None
        self._refreshing: asyncio.Task[SearchIndex] | None = None

    async def _build(self, version: str) -> SearchIndex:
        snapshot = await load_snapshot()
        index = await asyncio.to_thread(build_index, self.segmenter, snapshot, version)
        self.index = index
        return index

    async def current(self, redis: Redis) -> SearchIndex:
        raw = await redis.get(VERSION_KEY)
        version = raw.decode() if isinstance(raw, bytes) else str(raw or "0")
        index = self.index
        if index is not None and index.version == version:
            if time.monotonic() - index.built_at > POPULARITY_MAX_AGE and self._refreshing is None:
                self._refreshing = asyncio.create_task(self._build(version))
                self._refreshing.add_done_callback(self._refreshed)
            return index
        building = self._building
        if building is None or building.done():
            building = asyncio.create_task(self._build(version))
            self._building = building
        # shield: a cancelled request must not cancel the rebuild other requests wait for
        return await asyncio.shield(building)

    def _refreshed(self, task: asyncio.Task[SearchIndex]) -> None:
        self._refreshing = None
        if not task.cancelled():
            task.exception()  # retrieved, so that a failed refresh is not reported as never awaited

    def reset(self) -> None:
        self.index = None


SERVICE = SearchService()


async def invalidate(redis: Redis) -> None:
    """The catalog changed (publish, suspend, 常用语 or synonyms edited): every process rebuilds on its next search."""
    await redis.incr(VERSION_KEY)


# ------------------------------------------------------------------------------------------------ searching


def clean_query(query: str) -> str:
    """The normalized query, cut to MAX_QUERY_CHARS characters of input (longer queries are truncated)."""
    return normalize(query[: MAX_QUERY_CHARS * 4])[:MAX_QUERY_CHARS].strip()


def _variants(index: SearchIndex, q: str) -> list[tuple[str, float]]:
    variants = [(q, 1.0)]
    compacted = q.replace(" ", "")
    for term, others in index.synonyms.items():
        if term and term in compacted:
            for other in others:
                variants.append((compacted.replace(term, other), SYNONYM_FACTOR))
                if len(variants) >= 9:
                    return variants
    return variants


def _score_variant(index: SearchIndex, segmenter: Segmenter, q: str) -> dict[int, tuple[float, float, int]]:
    """doc → (relevance, coverage, field mask) for one form of the query.

    Exactly the documents and figures of the plain definition (every document matching any term is scored; it is
    kept with a coverage of at least MIN_COVERAGE or a name/keyword/phrase bonus), computed without visiting every
    such document: single characters match thousands of items and are most of the cost (graphql.md §4 p95).
    - Max-score pruning: the lightest terms whose weights add up to less than MIN_COVERAGE of the total cannot
      carry a document over the threshold alone, so only documents holding one of the other ("essential") terms
      can pass on coverage. Their postings are small (bigrams, words), those of common characters are not read.
    - A document under the coverage threshold is kept only with a bonus, and a bonus needs its name, a keyword or a
      phrase to equal, contain or be contained in the query: `_bonus_candidates` finds those through lookups.
    Every candidate is then scored term by term in the query's order, so sums (and rounding) are the same.
    """
    weights = _query_terms(index, segmenter, q)
    idf, postings = index.idf, index.postings
    default_idf = math.log(1.0 + max(index.size, 1))
    terms: list[tuple[float, dict[int, int] | None]] = []
    total = 0.0
    for term, weight in weights.items():
        w = weight * idf.get(term, default_idf)
        total += w
        terms.append((w, postings.get(term) or None))
    if total <= 0:
        return {}
    compacted = q.replace(" ", "")
    # Lightest first; margin so that float rounding of the coverage sum can never flip a pruned document back over.
    budget = MIN_COVERAGE * total * (1.0 - 1e-9)
    light = 0.0
    essential: list[dict[int, int]] = []
    for w, posting in sorted(terms, key=lambda t: t[0]):
        if light + w < budget:
            light += w
        elif posting:
            essential.append(posting)
    candidates: set[int] = set().union(*essential)
    candidates.update(_bonus_candidates(index, compacted))
    matched = [(w, posting) for w, posting in terms if posting]
    out: dict[int, tuple[float, float, int]] = {}
    # catalog order, as the postings list them: hits tied on score, popularity and name keep a stable order
    for doc_no in sorted(candidates):
        value = cov = 0.0
        mask = 0
        hit = False
        for w, posting in matched:
            found = posting.get(doc_no)
            if found is not None:
                value += w * _BEST[found]
                cov += w
                mask |= found
                hit = True
        if not hit:
            continue  # matches no term of this form: never a hit, bonus or not
        coverage = cov / total
        bonus, by_phrase = _bonus(index.docs[doc_no], compacted)
        if coverage < MIN_COVERAGE and bonus == 0.0:
            continue
        out[doc_no] = (value / total + bonus, coverage, mask | _PHRASE if by_phrase else mask)
    return out


def _bonus(item: Doc, compacted: str) -> tuple[float, bool]:
    """The bonus for an exact or contained name, keyword or 常用语, and whether a 常用语 earned part of it."""
    bonus = 0.0
    by_phrase = False
    if item.name == compacted:
        bonus += 1.0
    elif len(compacted) >= 2 and compacted in item.name:
        bonus += 0.5
    elif len(item.name) >= 2 and item.name in compacted:
        bonus += 0.4
    if compacted in item.keywords:
        bonus += 0.3
    for phrase, weight in item.phrases:
        if phrase == compacted:
            bonus += 1.0 * weight
            by_phrase = True
        elif len(compacted) >= 2 and (compacted in phrase or phrase in compacted):
            bonus += 0.4 * weight
            by_phrase = True
    return bonus, by_phrase


def _query_terms(index: SearchIndex, segmenter: Segmenter, q: str) -> dict[str, float]:
    """`query_terms`, memoised per index: jieba runs twice per form and synonym variants repeat across queries.
    The segmenter's dictionary only grows at build time, so an index's entries stay valid for its lifetime."""
    cache = index.term_cache
    found = cache.get(q)
    if found is None:
        if len(cache) >= TERM_CACHE_SIZE:
            cache.pop(next(iter(cache)))  # oldest first; a rough bound is enough here
        found = cache[q] = query_terms(segmenter, q)
    return found


def _bonus_candidates(index: SearchIndex, compacted: str) -> set[int]:
    """A superset of the documents `_score_variant` could give a bonus for `compacted`: name, keyword or phrase
    equal to it, containing it, or contained in it (the exact conditions are checked by the caller)."""
    lookup = index.lookup
    found: set[int] = set(lookup.by_keyword.get(compacted, ()))
    # names and phrases inside the query: every substring of the query (≤ MAX_QUERY_CHARS characters)
    n, by_name, by_phrase = len(compacted), lookup.by_name, lookup.by_phrase
    for i in range(n):
        for j in range(i + 1, min(n, i + lookup.longest) + 1):
            sub = compacted[i:j]
            if sub in by_name:
                found.update(by_name[sub])
            if sub in by_phrase:
                found.update(by_phrase[sub])
    # names and phrases containing the query: a C-speed scan of all of them joined by a separator
    if compacted:
        for joined, starts, owners in (lookup.names, lookup.phrases):
            pos = joined.find(compacted)
            while pos >= 0:
                found.update(owners[bisect.bisect_right(starts, pos) - 1])
                pos = joined.find(compacted, pos + 1)
    return found


def search(
    index: SearchIndex,
    segmenter: Segmenter,
    query: str,
    *,
    audience: Audience | None = None,
    region_code: str | None = None,
) -> list[Hit]:
    """All hits of `query`, best first. Pure and synchronous (microseconds to a few milliseconds)."""
    q = clean_query(query)
    if not q:
        return []
    caller = region_prefix(region_code) if region_code else None
    # Repeated queries (the same few hundred make most of the traffic) are answered from the index's own memo.
    key = (q, audience, caller)
    cache = index.results
    cached = cache.get(key)
    if cached is not None:
        cache.move_to_end(key)
        return list(cached)
    hits = _rank(index, segmenter, q, audience, caller)
    cache[key] = tuple(hits)
    if len(cache) > RESULT_CACHE_SIZE:
        cache.popitem(last=False)
    return hits


def _rank(index: SearchIndex, segmenter: Segmenter, q: str, audience: Audience | None, caller: str | None) -> list[Hit]:
    best: dict[int, tuple[float, int, bool]] = {}
    for variant, factor in _variants(index, q):
        for doc_no, (relevance, _coverage, mask) in _score_variant(index, segmenter, variant).items():
            score = relevance * factor
            if doc_no not in best or best[doc_no][0] < score:
                best[doc_no] = (score, mask, factor < 1.0)
    candidates: list[tuple[float, int, int, bool]] = []
    for doc_no, (score, mask, by_synonym) in best.items():
        doc = index.docs[doc_no]
        if audience is not None and audience not in doc.audiences:
            continue
        if caller and not (caller.startswith(doc.region) or doc.region.startswith(caller)):
            continue
        candidates.append((score, doc_no, mask, by_synonym))
    if not candidates:
        return []
    top = max(c[0] for c in candidates)
    kept = [c for c in candidates if c[0] >= MIN_SHARE_OF_TOP * top]
    pops = {c[1]: index.docs[c[1]].popularity + index.docs[c[1]].regional_views(caller) for c in kept}
    most = max(pops.values())
    scale = math.log1p(most) if most > 0 else 1.0
    ranked = []
    for score, doc_no, mask, by_synonym in kept:
        final = score * (1.0 + POPULARITY_FACTOR * math.log1p(pops[doc_no]) / scale)
        matched = [m for bit, m in _MASK_MATCH if mask & bit]
        if by_synonym:
            matched.append(MatchedBy.SYNONYM)
        ranked.append((final, pops[doc_no], doc_no, tuple(matched)))
    ranked.sort(key=lambda r: (-r[0], -r[1], index.docs[r[2]].row.name))
    return [Hit(index.docs[doc_no].row, round(final, 4), matched) for final, _, doc_no, matched in ranked]


def suggest(index: SearchIndex, prefix: str, first: int) -> list[Suggestion]:
    """Names and 常用语 starting with `prefix` by popularity, then those containing it."""
    p = compact(prefix[: MAX_QUERY_CHARS * 4])[:MAX_QUERY_CHARS]
    first = max(0, min(first, MAX_SUGGEST))
    if not p or first == 0:
        return []
    entries = index.suggestions
    start = bisect.bisect_left(entries, p, key=lambda pair: pair[0])
    starts: list[Suggestion] = []
    for text, suggestion in entries[start:]:
        if not text.startswith(p):
            break
        starts.append(suggestion)
    starts.sort(key=lambda s: (-s.popularity, len(s.text), s.text))
    out = _dedupe(starts, first)
    if len(out) < first:
        inside = [s for text, s in entries if p in text and not text.startswith(p)]
        inside.sort(key=lambda s: (-s.popularity, len(s.text), s.text))
        out = _dedupe(out + inside, first)
    return out


def _dedupe(suggestions: Sequence[Suggestion], first: int) -> list[Suggestion]:
    seen: set[str] = set()
    out: list[Suggestion] = []
    for s in suggestions:
        if s.text not in seen:
            seen.add(s.text)
            out.append(s)
            if len(out) == first:
                break
    return out


async def search_services(
    redis: Redis, query: str, *, audience: Audience | None = None, region_code: str | None = None
) -> list[Hit]:
    if not clean_query(query):
        return []  # nothing searchable (empty, blanks, emoji, punctuation only): no index, no Redis
    index = await SERVICE.current(redis)
    return search(index, SERVICE.segmenter, query, audience=audience, region_code=region_code)


async def suggest_services(redis: Redis, prefix: str, first: int) -> list[Suggestion]:
    if not compact(prefix[: MAX_QUERY_CHARS * 4]):
        return []
    return suggest(await SERVICE.current(redis), prefix, first)
