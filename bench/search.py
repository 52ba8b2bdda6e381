"""Service search benchmark (graphql.md §4: p95 ≤ 30 ms on 5,000 items; top-3 hit rate ≥ 95 % on the labelled set).

- Data: two throwaway SQLite databases migrated with `api.database.migrate`: the demo seed alone (40 published
  items), and the demo seed plus 4,960 synthetic published items (names and keywords combined from realistic
  subjects and actions, some close to the seed's own, in several regions), inserted with bulk_create.
- Quality: top-1/top-3 hit rates of the labelled set `tests/catalog/search_eval.json` (any expected name in the
  top 3 is a hit), through GraphQL and through the bare route (the same function, so the same figures).
- The search function alone: `api.catalog.search.search` on an index built in this process from the same database,
  every labelled query timed (interleaved rounds), p50/p95/p99 and CPU per call.
- Over HTTP: `searchServices(query, first: 10)` beside a bare starlette route in the same server process calling
  the same `search_services` (same Redis version check, same index) and returning the same JSON with orjson;
  closed loop, queries cycling through the labelled set.

`python -m bench search [--quick]`; `python -m bench.search --serve --port P` is the server process it starts.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import httpx
import orjson
import uvloop
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp

from api import database
from api.catalog import search as search_service
from api.kit.clock import ShiftableClock
from api.kit.pii import PiiCipher
from api.lifespan import Services
from api.models import CatalogItem, ItemStatus, ServiceItem
from api.settings import Settings
from bench.auth import Timings, _server_env, _time_interleaved
from bench.harness import (
    PROJECT_ROOT,
    CpuPlan,
    Operation,
    Row,
    RunResult,
    ServerProcess,
    Target,
    closed_loop,
    fmt,
    free_port,
    new_client,
    pair,
    percentile,
    pin_self,
    plan_cpus,
    print_table,
    run_notes,
)
from bench.server import BARE_PREFIX, build_with, serve_with

EVAL_PATH = PROJECT_ROOT / "tests" / "catalog" / "search_eval.json"
LARGE_CATALOG = 5_000
P95_TARGET_MS = 30.0
TOP3_TARGET = 0.95
PAGE = 10

SEARCH_QUERY = """
query S($q: String!, $first: Int) {
  searchServices(query: $q, first: $first) {
    totalCount
    edges { node { score matchedBy service { serviceCode name taskType onlineDepthLevel visitsRequired } } }
  }
}
"""
JSON_HEADERS = {"content-type": "application/json"}


@dataclass(frozen=True)
class Case:
    query: str
    expect: tuple[str, ...]


def load_cases() -> list[Case]:
    raw: list[dict[str, Any]] = json.loads(EVAL_PATH.read_text(encoding="utf-8"))
    return [Case(str(e["query"]), tuple(str(n) for n in e["expect"])) for e in raw]


# =============================================================================================== bare baseline
# These run inside the benchmark server process.


def _hit_json(hit: search_service.Hit) -> dict[str, Any]:
    row = hit.item
    return {
        "node": {
            "score": hit.score,
            "matchedBy": [m.value for m in hit.matched_by],
            "service": {
                "serviceCode": row.task_code,
                "name": row.name,
                "taskType": row.task_type,
                "onlineDepthLevel": row.online_depth_level,
                "visitsRequired": row.limit_scene_num,
            },
        }
    }


def bare_routes(prefix: str, services: Callable[[], Services]) -> list[BaseRoute]:
    async def search(request: Request) -> Response:
        body = orjson.loads(await request.body())
        variables = body.get("variables") or {}
        hits = await search_service.search_services(services().redis, str(variables.get("q", "")))
        first = int(variables.get("first") or PAGE)
        result = {"totalCount": len(hits), "edges": [_hit_json(hit) for hit in hits[:first]]}
        return Response(orjson.dumps({"data": {"searchServices": result}}), media_type="application/json")

    return [Route(f"{prefix}/search", search, methods=["POST"])]


def build(settings: Settings) -> ASGIApp:
    return build_with(settings, bare_routes)


def serve() -> None:
    serve_with(bare_routes)


# =============================================================================================== data

# Subjects of a catalog beyond the seed's 40: some close to the seed's own words (食品, 运输, 医疗, 户口, 社保 …).
SUBJECTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("食品生产", ("食品厂", "食品加工")),
    ("道路旅客运输", ("客运", "跑客运")),
    ("出租汽车经营", ("出租车", "网约车")),
    ("网络预约出租汽车驾驶员", ("网约车司机", "开网约车")),
    ("医疗机构设置", ("建医院", "医院审批")),
    ("医师执业", ("医生执业", "医师证")),
    ("护士执业", ("护士证", "护士注册")),
    ("药品批发", ("医药公司", "药品经营")),
    ("医疗器械经营", ("卖医疗器械", "器械许可")),
    ("放射诊疗", ("放射科", "拍片")),
    ("母婴保健技术服务", ("月子中心", "母婴")),
    ("个人独资企业", ("独资企业", "个人企业")),
    ("合伙企业", ("合伙开公司", "合伙")),
    ("农民专业合作社", ("合作社", "农村合作社")),
    ("外商投资企业", ("外资企业", "外企")),
    ("分公司", ("开分公司", "分支机构")),
    ("建筑业企业资质", ("建筑资质", "施工资质")),
    ("建筑工程施工", ("施工许可", "盖房子")),
    ("建设工程规划", ("规划许可", "建房规划")),
    ("建设工程消防验收", ("消防验收", "消防")),
    ("公众聚集场所投入使用营业前消防安全检查", ("消防检查", "开业消防")),
    ("不动产", ("房产证", "买房过户")),
    ("商品房预售", ("预售证", "卖期房")),
    ("房屋租赁", ("租房备案", "租房合同")),
    ("住房公积金", ("公积金", "提公积金")),
    ("公共租赁住房", ("公租房", "廉租房")),
    ("城镇燃气经营", ("燃气", "煤气")),
    ("城市道路占用挖掘", ("占道", "挖路")),
    ("户外广告设施设置", ("广告牌", "招牌")),
    ("城市建筑垃圾处置", ("建筑垃圾", "渣土")),
    ("排污", ("排污证", "环评")),
    ("取水", ("取水证", "打井")),
    ("林木采伐", ("砍树", "采伐证")),
    ("农药经营", ("卖农药", "农药店")),
    ("兽药经营", ("卖兽药", "兽药店")),
    ("种子生产经营", ("卖种子", "种子")),
    ("动物防疫条件", ("养殖场防疫", "防疫合格证")),
    ("生猪定点屠宰", ("屠宰场", "杀猪")),
    ("水产养殖", ("养鱼", "鱼塘")),
    ("渔业捕捞", ("捕鱼证", "打鱼")),
    ("犬只", ("养狗", "狗证")),
    ("烟草专卖零售", ("卖烟", "烟草证")),
    ("酒类经营", ("卖酒", "酒类")),
    ("出版物零售", ("书店", "卖书")),
    ("音像制品零售", ("音像店", "光盘")),
    ("娱乐场所", ("KTV", "歌厅")),
    ("互联网上网服务营业场所", ("网吧", "开网吧")),
    ("营业性演出", ("演出", "演唱会")),
    ("旅行社", ("开旅行社", "旅游公司")),
    ("导游", ("导游证", "当导游")),
    ("民办学校", ("私立学校", "办学校")),
    ("校外培训机构", ("培训班", "辅导班")),
    ("幼儿园", ("开幼儿园", "托儿所")),
    ("托育机构", ("托育", "早教")),
    ("教师资格", ("教师证", "当老师")),
    ("人力资源服务", ("中介", "职业介绍")),
    ("劳务派遣", ("派遣", "劳务公司")),
    ("特种设备使用", ("电梯", "锅炉")),
    ("危险化学品经营", ("危化品", "化学品")),
    ("烟花爆竹零售", ("卖鞭炮", "烟花")),
    ("民用爆炸物品", ("炸药", "爆破")),
    ("机动车", ("汽车", "车辆")),
    ("非机动车", ("电动车", "电瓶车上牌")),
    ("船舶", ("船", "渔船")),
    ("往来港澳通行证", ("港澳通行证", "去香港")),
    ("往来台湾通行证", ("台湾通行证", "去台湾")),
    ("居住证", ("暂住证", "外地人居住证")),
    ("律师执业", ("律师证", "当律师")),
    ("法律援助", ("请律师", "打官司")),
    ("公证", ("办公证", "公证书")),
    ("司法鉴定", ("鉴定", "伤残鉴定")),
    ("退役军人优待", ("退伍军人", "优待证")),
    ("烈士褒扬", ("烈士", "抚恤")),
    ("殡葬", ("丧葬费", "办丧事")),
    ("慈善组织", ("慈善", "公益")),
    ("民办非企业单位", ("民非", "社会服务机构")),
    ("基金会", ("成立基金会", "基金")),
    ("宗教活动场所", ("寺庙", "教堂")),
    ("计划生育", ("独生子女", "计生")),
    ("工伤", ("工伤认定", "上班受伤")),
    ("职业资格", ("职业资格证", "考证")),
    ("就业困难人员", ("就业援助", "找工作难")),
    ("高校毕业生", ("应届生", "大学生就业")),
    ("临时救助", ("急难救助", "临时困难")),
    ("特困人员供养", ("五保户", "特困")),
    ("孤儿基本生活", ("孤儿", "孤儿补贴")),
    ("城乡居民养老保险", ("农村养老保险", "新农保")),
    ("职工医疗保险", ("职工医保", "医保报销")),
    ("门诊慢特病", ("慢性病", "特殊病")),
)
ACTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("许可", ("办证", "许可证")),
    ("许可延续", ("到期", "延期")),
    ("许可变更", ("变更", "改信息")),
    ("许可注销", ("注销", "不干了")),
    ("备案", ("备案",)),
    ("登记", ("登记", "办理")),
    ("变更登记", ("变更",)),
    ("注销登记", ("注销",)),
    ("证补领", ("丢了", "补办")),
    ("证换发", ("换证", "过期")),
    ("资格认定", ("认定", "资格")),
    ("年度报告", ("年报", "年检")),
    ("审批", ("审批",)),
    ("补贴申领", ("补贴", "领钱")),
    ("证明开具", ("开证明", "证明")),
    ("信息查询", ("查询", "查")),
    ("待遇申领", ("待遇", "领取")),
    ("申请", ("申请",)),
)
REGIONS = ("990100000000", "990102000000", "990121000000", "990122000000", "990123000000")


def synthetic_items(count: int, rng: random.Random) -> list[tuple[CatalogItem, ServiceItem]]:
    combos = list(itertools.product(SUBJECTS, ACTIONS))
    rng.shuffle(combos)
    out: list[tuple[CatalogItem, ServiceItem]] = []
    for n in range(count):
        (subject, subject_words), (action, action_words) = combos[n % len(combos)]
        region = REGIONS[(n // len(combos)) % len(REGIONS)]
        name = f"{subject}{action}"
        code = f"B{n:08d}"
        catalog = CatalogItem(id=uuid.uuid4(), catalog_code=code, name=name, task_type="20", is_synthetic=True)
        keywords = [f"{w}{a}" if rng.random() < 0.5 else w for w in subject_words for a in action_words[:1]]
        row = ServiceItem(
            id=uuid.uuid4(),
            task_code=f"99BENCH{n:08d}{region[:6]}",
            catalog_item_id=catalog.id,
            dept_id=uuid.uuid4(),
            use_level=3,
            name=name,
            task_type=rng.choice(("01", "02", "07", "20")),
            region_code=region,
            status=ItemStatus.PUBLISHED,
            version=1,
            server_types=rng.choice((["1"], ["2"], ["1", "2"], ["2", "4"])),
            keywords=keywords,
            result_name=f"{subject}{rng.choice(('证', '许可证', '备案回执', '审核结果', '核定表'))}",
            limit_scene_num=rng.choice((0, 1)),
            online_depth_level=rng.choice((2, 3, 4)),
            popularity=rng.randint(0, 5000),
            is_synthetic=True,
        )
        out.append((catalog, row))
    return out


async def seed(database_url: str, extra: int) -> float:
    """Migrate, load the demo seed, add `extra` synthetic published items; returns seconds taken."""
    from api.seed import load_demo_seed

    started = time.monotonic()
    await database.migrate(database_url)
    await database.connect(database_url)
    try:
        await load_demo_seed(pii=PiiCipher(os.urandom(32), os.urandom(32)), clock=ShiftableClock())
        pairs = synthetic_items(extra, random.Random(2026))
        for start in range(0, len(pairs), 1000):
            chunk = pairs[start : start + 1000]
            await CatalogItem.bulk_create([c for c, _ in chunk])
            await ServiceItem.bulk_create([s for _, s in chunk])
    finally:
        await database.disconnect()
    return time.monotonic() - started


# =============================================================================================== in process


@dataclass(frozen=True)
class Quality:
    top1: float
    top3: float
    misses: list[str]


def score(cases: list[Case], results: list[list[str]]) -> Quality:
    """`results`: the names of the top hits of each case, best first."""
    top1 = top3 = 0
    misses: list[str] = []
    for case, names in zip(cases, results, strict=True):
        top1 += bool(names[:1] and names[0] in case.expect)
        if set(names[:3]) & set(case.expect):
            top3 += 1
        else:
            misses.append(f"{case.query} → {names[:3]}")
    return Quality(top1 / len(cases), top3 / len(cases), misses)


@dataclass(frozen=True)
class FunctionFigures:
    items: int
    build_seconds: float
    quality: Quality
    timings: Timings


async def function_alone(database_url: str, cases: list[Case], rounds: int) -> FunctionFigures:
    """Build the index from the database in this process, then time `search` on every labelled query."""
    await database.connect(database_url)
    try:
        snapshot = await search_service.load_snapshot()
    finally:
        await database.disconnect()
    segmenter = search_service.SERVICE.segmenter
    started = time.perf_counter()
    index = search_service.build_index(segmenter, snapshot, "bench")
    build_seconds = time.perf_counter() - started
    results = [[h.item.name for h in search_service.search(index, segmenter, c.query)[:3]] for c in cases]
    queries = itertools.cycle([c.query for c in cases])

    def call() -> None:
        search_service.search(index, segmenter, next(queries))

    timings = _time_interleaved({"search": call}, n=len(cases) * rounds, rounds=rounds)["search"]
    return FunctionFigures(index.size, build_seconds, score(cases, results), timings)


# =============================================================================================== over HTTP


class BenchFailure(Exception):
    pass


def _edges(response: httpx.Response) -> list[dict[str, Any]]:
    body = response.content
    if response.status_code != 200 or b'"searchServices"' not in body or b'"errors"' in body:
        raise BenchFailure(f"HTTP {response.status_code}: {body[:300]!r}")
    edges: list[dict[str, Any]] = orjson.loads(body)["data"]["searchServices"]["edges"]
    return edges


def search_operation(cases: list[Case], *, bare: bool) -> Operation:
    path = f"{BARE_PREFIX}/search" if bare else "/graphql"
    bodies = [orjson.dumps({"query": SEARCH_QUERY, "variables": {"q": c.query, "first": PAGE}}) for c in cases]
    turn = itertools.cycle(bodies)

    async def one(client: httpx.AsyncClient) -> None:
        _edges(await client.post(path, content=next(turn), headers=JSON_HEADERS))

    return one


@dataclass(frozen=True)
class Plan:
    warmup_seconds: float = 1.0
    seconds: float = 6.0
    concurrency: int = 4
    rounds: int = 10

    @classmethod
    def quick(cls) -> Plan:
        return cls(warmup_seconds=0.5, seconds=2.0, rounds=3)


async def _http(server: ServerProcess, cases: list[Case], plan: Plan) -> tuple[Quality, bool, RunResult, RunResult]:
    async with new_client(server.base_url, 1) as client:
        started = time.perf_counter()
        ours_pages, bare_pages = [], []
        for case in cases:  # the first request builds the index
            body = orjson.dumps({"query": SEARCH_QUERY, "variables": {"q": case.query, "first": PAGE}})
            ours_pages.append(_edges(await client.post("/graphql", content=body, headers=JSON_HEADERS)))
            bare_pages.append(_edges(await client.post(f"{BARE_PREFIX}/search", content=body, headers=JSON_HEADERS)))
        first_pass = time.perf_counter() - started
    print(f"#   first pass over the labelled set, index build included: {first_pass:.1f} s")
    quality = score(cases, [[e["node"]["service"]["name"] for e in edges[:3]] for edges in ours_pages])
    same = ours_pages == bare_pages
    runs: list[RunResult] = []
    for bare in (False, True):
        operation = search_operation(cases, bare=bare)
        await closed_loop(server.base_url, operation, concurrency=2, seconds=plan.warmup_seconds, server_pid=server.pid)
        runs.append(
            await closed_loop(
                server.base_url, operation, concurrency=plan.concurrency, seconds=plan.seconds, server_pid=server.pid
            )
        )
    return quality, same, runs[0], runs[1]


def _report(
    label: str, fn: FunctionFigures, quality: Quality, same: bool, ours: RunResult, bare: RunResult, plan: Plan
) -> None:
    t = fn.timings
    p95 = (percentile(ours.latencies, 0.95) * 1000, percentile(bare.latencies, 0.95) * 1000)
    rows = [
        Row.of_runs(f"searchServices req/s ({plan.concurrency} concurrent)", ours, bare),
        Row("p95 latency ms over HTTP", p95[0], p95[1], ratio_override=p95[0] / p95[1] if p95[1] else None),
        Row(
            "search() alone, µs per call",
            t.mean_us,
            t.mean_us,
            p50=pair(t.pct_us(0.5), t.pct_us(0.5), " µs"),
            p99=pair(t.pct_us(0.99), t.pct_us(0.99), " µs"),
            cpu=f"{fmt(t.cpu_us)} µs; p95 {fmt(t.pct_us(0.95))} µs",
        ),
        Row("top-1 hit rate (function | HTTP)", fn.quality.top1, quality.top1),
        Row("top-3 hit rate (function | HTTP)", fn.quality.top3, quality.top3),
    ]
    targets = [
        Target(
            f"top-3 hit rate ≥ {TOP3_TARGET:.0%} on the labelled set",
            f"{quality.top3:.1%} over HTTP, {fn.quality.top3:.1%} in process",
            quality.top3 >= TOP3_TARGET,
        ),
    ]
    if fn.items >= LARGE_CATALOG:
        targets.insert(
            0,
            Target(
                f"p95 ≤ {P95_TARGET_MS:.0f} ms on {LARGE_CATALOG:,} items",
                f"HTTP p95 {fmt(p95[0])} ms at {plan.concurrency} concurrent; function p95 {fmt(t.pct_us(0.95))} µs",
                p95[0] <= P95_TARGET_MS and not ours.errors,
            ),
        )
    notes = [
        *run_notes("ours", ours),
        *run_notes("baseline", bare),
        "same JSON on both sides: " + ("yes" if same else "NO"),
        f"index of {fn.items:,} items built in {fn.build_seconds:.2f} s (in this process, jieba dictionary warm)",
        "search() alone: the same function on both sides of the row, so the ratio is 1 by construction",
        *(f"miss: {m}" for m in quality.misses),
    ]
    print_table(f"service search — {label}", rows, targets, notes)


# =============================================================================================== entry


def run(*, quick: bool = False) -> None:
    plan = Plan.quick() if quick else Plan()
    cpus: CpuPlan = plan_cpus()
    cases = load_cases()
    started = time.monotonic()
    print(f"# search benchmark — SQLite + fakeredis; {cpus.describe()}; {len(cases)} labelled queries")
    for extra in (0, LARGE_CATALOG - 40):
        with tempfile.TemporaryDirectory(prefix="zsb-bench-") as raw_tmp:
            tmp = Path(raw_tmp)
            database_url = f"sqlite://{tmp / 'search.sqlite3'}"
            took = asyncio.run(seed(database_url, extra))
            fn = asyncio.run(function_alone(database_url, cases, plan.rounds))
            label = f"{fn.items:,} published items ({'demo seed' if not extra else f'demo seed + {extra:,} synthetic'})"
            print(f"# {label}: seeded in {took:.1f} s")
            port = free_port()
            env, _ = _server_env(tmp, port)
            env.update({"APP_DATABASE_URL": database_url, "APP_REDIS_URL": ""})
            with mock.patch.dict(os.environ, env, clear=True):
                Settings()  # fails here, not in the server, when the environment is wrong
            server = ServerProcess(
                port=port,
                env=env,
                log_path=tmp / "server.log",
                cpu=cpus.server,
                module_command=("bench.search", "--serve"),
            )
            pin_self(cpus.client)
            with server.running():
                runner = asyncio.Runner(loop_factory=uvloop.new_event_loop)
                try:
                    quality, same, ours, bare = runner.run(_http(server, cases, plan))
                finally:
                    runner.close()
            _report(label, fn, quality, same, ours, bare, plan)
            log = server.log_tail(10).strip()
            if log:
                print("# the server logged (last lines):\n" + "\n".join(f"#   {line}" for line in log.splitlines()))
    print(f"\n# search benchmark done in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    if "--serve" in sys.argv:
        serve()
    else:
        run(quick="--quick" in sys.argv)
