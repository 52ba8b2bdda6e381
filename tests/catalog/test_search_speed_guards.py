"""The fast paths of `api.catalog.search` give exactly the plain definition's results (pure, no database).

`_score_variant` prunes by max-score and finds bonus candidates through lookups; `_reference` below is the plain
definition it replaced (every document matching any term scored, bonus checks on all of them). Both run on a random
catalog with common single characters, synonyms and 常用语, and must agree to the last bit.
"""

from __future__ import annotations

import math
import random
import uuid
from collections import defaultdict

import pytest

from api.catalog import search
from api.catalog.segment import Segmenter, query_terms
from api.models import ItemStatus, ServiceItem

SUBJECTS = (
    "食品生产",
    "道路运输",
    "医疗机构",
    "结婚证",
    "出生医学证明",
    "身份证",
    "户口",
    "网约车",
    "公积金",
    "社保卡",
)
ACTIONS = ("许可", "许可变更", "证补领", "证换发", "登记", "注销登记", "证明开具", "备案", "申领", "查询")
REGIONS = ("990100000000", "990102000000", "990121000000")


def _item(rng: random.Random, n: int) -> ServiceItem:
    subject, action = rng.choice(SUBJECTS), rng.choice(ACTIONS)
    return ServiceItem(
        id=uuid.uuid4(),
        task_code=f"99GUARD{n:06d}",
        catalog_item_id=uuid.uuid4(),
        dept_id=uuid.uuid4(),
        use_level=3,
        name=f"{subject}{action}",
        task_type="01",
        region_code=rng.choice(REGIONS),
        status=ItemStatus.PUBLISHED,
        version=1,
        server_types=rng.choice((["1"], ["2"], ["1", "2"])),
        keywords=[rng.choice(SUBJECTS), f"{rng.choice(SUBJECTS)}{rng.choice(ACTIONS)}"],
        result_name=f"{subject}证",
        limit_scene_num=0,
        online_depth_level=3,
        popularity=rng.randint(0, 500),
        is_synthetic=True,
    )


@pytest.fixture(scope="module")
def built() -> tuple[search.SearchIndex, Segmenter]:
    rng = random.Random(7)
    items = [_item(rng, n) for n in range(600)]
    snapshot = search.CatalogSnapshot(
        items=items,
        faqs={items[0].id: ["结婚证丢了怎么办"], items[1].id: ["宝宝出生证明怎么办"]},
        phrases=[
            ("结婚证丢了", [items[2].task_code], 1.0),
            ("生孩子", [items[3].task_code, items[4].task_code], 0.8),
            ("证", [items[5].task_code], 0.5),
        ],
        synonym_groups={"g1": ["丢了", "掉了", "遗失"], "g2": ["宝宝", "孩子", "婴儿"]},
        views={items[6].task_code: {"9901": 30}},
    )
    segmenter = Segmenter()
    return search.build_index(segmenter, snapshot, "guard"), segmenter


def _reference(index: search.SearchIndex, segmenter: Segmenter, q: str) -> dict[int, tuple[float, float, int]]:
    """The plain definition (before the fast paths)."""
    idf, postings = index.idf, index.postings
    total = 0.0
    acc: dict[int, float] = defaultdict(float)
    cov: dict[int, float] = defaultdict(float)
    masks: dict[int, int] = defaultdict(int)
    for term, weight in query_terms(segmenter, q).items():
        w = weight * idf.get(term, math.log(1.0 + max(index.size, 1)))
        total += w
        for doc_no, mask in (postings.get(term) or {}).items():
            acc[doc_no] += w * search._BEST[mask]
            cov[doc_no] += w
            masks[doc_no] |= mask
    if total <= 0:
        return {}
    compacted = q.replace(" ", "")
    out: dict[int, tuple[float, float, int]] = {}
    for doc_no, value in acc.items():
        coverage = cov[doc_no] / total
        bonus, by_phrase = search._bonus(index.docs[doc_no], compacted)
        if coverage < search.MIN_COVERAGE and bonus == 0.0:
            continue
        out[doc_no] = (value / total + bonus, coverage, masks[doc_no] | (search._PHRASE if by_phrase else 0))
    return out


QUERIES = (
    "结婚证丢了",
    "宝宝出生证明怎么办",
    "证",
    "证明",
    "许可",
    "食品生产许可",
    "生孩子",
    "身份证补",
    "网约车 许可",
    "户口登记查询",
    "社保卡掉了怎么补办啊",
    "的",
    "abc",
    "结婚证丢了 孩子 出生医学证明 申领 身份证 换发 户口 注销 登记 公积金",
)


class TestFastPathsMatchThePlainDefinition:
    @pytest.mark.parametrize("query", QUERIES)
    def test_every_form_scores_as_before(self, built: tuple[search.SearchIndex, Segmenter], query: str) -> None:
        index, segmenter = built
        for form, _ in search._variants(index, search.clean_query(query)):
            assert search._score_variant(index, segmenter, form) == _reference(index, segmenter, form)

    def test_random_fragments_score_as_before(self, built: tuple[search.SearchIndex, Segmenter]) -> None:
        index, segmenter = built
        rng = random.Random(11)
        texts = [doc.name for doc in index.docs[:50]] + list(QUERIES)
        for _ in range(200):
            text = rng.choice(texts).replace(" ", "")
            start = rng.randrange(len(text))
            form = search.clean_query(text[start : start + rng.randint(1, 8)])
            if form:
                assert search._score_variant(index, segmenter, form) == _reference(index, segmenter, form)


class TestResultMemo:
    def test_a_repeated_query_gives_the_same_hits_and_filters_are_kept_apart(
        self, built: tuple[search.SearchIndex, Segmenter]
    ) -> None:
        index, segmenter = built
        index.results.clear()
        first = search.search(index, segmenter, "结婚证丢了")
        again = search.search(index, segmenter, "结婚证丢了 ")  # same normalized form: from the memo
        person = search.search(index, segmenter, "结婚证丢了", audience=search.Audience.PERSON)
        assert again == first and again is not first
        assert all(search.Audience.PERSON in index.docs[_doc_no(index, h)].audiences for h in person)
        assert len(index.results) == 2

    def test_the_memo_is_bounded(
        self, built: tuple[search.SearchIndex, Segmenter], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        index, segmenter = built
        index.results.clear()
        monkeypatch.setattr(search, "RESULT_CACHE_SIZE", 3)
        for query in QUERIES[:6]:
            search.search(index, segmenter, query)
        assert len(index.results) == 3


def _doc_no(index: search.SearchIndex, hit: search.Hit) -> int:
    return next(n for n, doc in enumerate(index.docs) if doc.row is hit.item)
