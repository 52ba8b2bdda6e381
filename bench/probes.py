"""In-process probes that explain a ratio: what our GraphQL path does per request that the bare route does not.

- GraphQL validation: does strawberry's ValidationCache actually hit for repeated documents, and what does one
  validation of each benchmarked document cost with the schema's own rule set?
- Rate limiting: the one token-bucket script every GraphQL request runs (per IP and per identity buckets).
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from unittest import mock

import strawberry.schema.schema as strawberry_schema
from graphql.validation import validate as real_validate

from api.kit import redis as redis_kit
from api.settings import Settings
from schema.root import build_schema


@dataclass(frozen=True)
class ValidationProbe:
    executions: int
    validations: int
    cost_ms: dict[str, float]
    rules_recreated: list[str]

    @property
    def cache_hits(self) -> int:
        return self.executions - self.validations


def _median_ms(call: Callable[[], object], repeat: int = 60) -> float:
    call()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def probe_validation(settings: Settings, documents: dict[str, str], repeat: int = 3) -> ValidationProbe:
    """Executes each document `repeat` times (without a context: execution fails after validation, which is
    all this looks at) and counts the validations graphql-core really ran."""
    schema = build_schema(settings.graphql, introspection=not settings.is_production)
    real = real_validate  # what strawberry.schema.schema imported
    calls: list[tuple[str, tuple[Any, ...]]] = []
    current = ""

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append((current, args))
        return real(*args, **kwargs)

    async def execute_all() -> int:
        nonlocal current
        executions = 0
        for name, document in documents.items():
            current = name
            for _ in range(repeat):
                await schema.execute(document, variable_values={}, context_value=None)
                executions += 1
        return executions

    logging.disable(logging.CRITICAL)  # the executions fail on purpose; their error logs are noise here
    try:
        with mock.patch.object(strawberry_schema, "validate", counting):
            executions = asyncio.run(execute_all())
    finally:
        logging.disable(logging.NOTSET)
    cost: dict[str, float] = {}
    for name, args in calls:
        if name not in cost:
            cost[name] = _median_ms(lambda args=args: real(*args))  # type: ignore[misc]
    recreated: list[str] = []
    by_document = [args for name, args in calls if name == next(iter(documents))]
    if len(by_document) >= 2:
        first, second = set(by_document[0][2]), set(by_document[1][2])
        recreated = sorted({rule.__name__ for rule in first ^ second})
    return ValidationProbe(executions, len(calls), cost, recreated)


def probe_rate_limit(settings: Settings, repeat: int = 300) -> float:
    """Milliseconds of one TokenBucket.take_all of an IP and an identity bucket, as the API runs it per request."""

    async def measure() -> float:
        redis = redis_kit.connect(settings.redis_url)
        bucket = redis_kit.TokenBucket(redis)
        try:
            now_ms = int(time.time() * 1000)
            buckets = [redis_kit.Bucket(f"bench:probe:{n}", 1e9, 10**9) for n in (1, 2)]
            await bucket.take_all(buckets, now_ms=now_ms)
            started = time.perf_counter()
            for _ in range(repeat):
                await bucket.take_all(buckets, now_ms=now_ms)
            return (time.perf_counter() - started) / repeat * 1000
        finally:
            await redis.delete("rl:bench:probe:1", "rl:bench:probe:2")
            await redis.aclose()

    return asyncio.run(measure())
