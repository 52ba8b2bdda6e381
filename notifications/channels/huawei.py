"""Huawei Push Kit HTTP API adapter (notifications.md §1.7, §C6 Huawei row).

Messages whose payloads are identical (same title, body, link, category, tag and data) go out in one call of up to
1,000 tokens; everything else is one call each. A device's tag is the collapse id of its request, so in practice
the several devices of one user share a call. The tap opens the deeplink: an app scheme (`zsb://…`) becomes an
Android intent URI (click_action type 1, ACTION_VIEW with FLAG_ACTIVITY_CLEAR_TOP as Huawei asks), an https link
opens the browser (type 2), no link opens the app (type 3). `message.extra` travels as `message.data`, which the
app receives when the user taps.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from api.kit.clock import Clock
from api.kit.redis import Redis
from notifications.channels.base import OutboundMessage, SendResult
from notifications.channels.huawei_token import HuaweiTokenSource, TokenUnavailable

log = logging.getLogger(__name__)

MAX_TOKENS_PER_CALL = 1000
MAX_MESSAGE_BYTES = 4096
TTL = "86400s"
ELLIPSIS = "…"
FLAG_ACTIVITY_CLEAR_TOP = "0x04000000"
_AUTH_CODES = frozenset({"80200001", "80200003"})
_PERMANENT_CODES = frozenset({"80100003", "80300008", "80300010", "80100016", "80300002"})
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class _Answer:
    status: int | None  # None: no HTTP answer (transport error or timeout)
    code: str
    msg: str
    request_id: str | None
    retry_after_s: float | None = None


def click_action(deeplink: str) -> dict[str, Any]:
    if not deeplink:
        return {"type": 3}
    if deeplink.startswith(("https://", "http://")):
        return {"type": 2, "url": deeplink}
    scheme, sep, rest = deeplink.partition("://")
    if not sep:
        return {"type": 3}
    intent = f"intent://{rest}#Intent;scheme={scheme};action=android.intent.action.VIEW;"
    return {"type": 1, "intent": intent + f"launchFlags={FLAG_ACTIVITY_CLEAR_TOP};end"}


def _serialised_size(message: dict[str, Any]) -> int:
    return len(json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode())


def build_message(item: OutboundMessage) -> dict[str, Any]:
    """The `message` without its token list, its body trimmed on character boundaries to fit 4 KB."""
    transactional = item.kind == "transactional"
    notification: dict[str, Any] = {
        "title": item.title,
        "body": item.body,
        "click_action": click_action(item.deeplink),
        "importance": "NORMAL" if transactional else "LOW",
        "tag": item.collapse_id,
    }
    android: dict[str, Any] = {"ttl": TTL, "notification": notification}
    if transactional and item.vendor_category:
        android["category"] = item.vendor_category
    message: dict[str, Any] = {"android": android}
    if item.extra:
        message["data"] = json.dumps(dict(item.extra), ensure_ascii=False, separators=(",", ":"), default=str)
    excess = _serialised_size(message) - MAX_MESSAGE_BYTES
    if excess > 0:
        notification["body"] = _trim(item.body, excess + len(ELLIPSIS.encode()))
    return message


def _trim(text: str, cut_bytes: int) -> str:
    """`text` shortened by at least `cut_bytes` UTF-8 bytes (whole characters), with an ellipsis appended."""
    data = text.encode()
    keep = data[: max(0, len(data) - cut_bytes)].decode("utf-8", "ignore")
    return keep + ELLIPSIS


class HuaweiAdapter:
    channel = "huawei"

    def __init__(
        self,
        http: httpx.AsyncClient,
        redis: Redis,
        *,
        base_url: str,
        oauth_url: str,
        app_id: str,
        client_id: str,
        client_secret: str,
        clock: Clock,
        concurrency: int = 16,
    ) -> None:
        self._http = http
        self._send_url = f"{base_url.rstrip('/')}/v1/{app_id}/messages:send"
        self.tokens = HuaweiTokenSource(
            http,
            redis,
            oauth_url=oauth_url,
            app_id=app_id,
            client_id=client_id,
            client_secret=client_secret,
            clock=clock,
        )
        self._slots = asyncio.Semaphore(concurrency)

    async def aclose(self) -> None:
        """The http client belongs to whoever built the adapter."""

    async def send(self, items: Sequence[OutboundMessage]) -> list[SendResult]:
        results: list[SendResult | None] = [None] * len(items)
        groups: dict[str, tuple[dict[str, Any], list[int]]] = {}
        for index, item in enumerate(items):
            message = build_message(item)
            key = json.dumps(message, sort_keys=True, ensure_ascii=False)
            groups.setdefault(key, (message, []))[1].append(index)
        calls = [
            (message, indexes[start : start + MAX_TOKENS_PER_CALL])
            for message, indexes in groups.values()
            for start in range(0, len(indexes), MAX_TOKENS_PER_CALL)
        ]

        async def run(message: dict[str, Any], indexes: list[int]) -> None:
            tokens = [items[i].address for i in indexes]
            async with self._slots:
                try:
                    outcome = await self._send_call(message, tokens)
                except Exception:  # a bug of ours must not take the other calls of the batch down
                    log.exception("huawei push: unexpected failure")
                    outcome = [SendResult("technical", reason="internal error", alert=True)] * len(tokens)
            for i, result in zip(indexes, outcome, strict=True):
                results[i] = result

        await asyncio.gather(*(run(message, indexes) for message, indexes in calls))
        return [r if r is not None else SendResult("technical", reason="no result") for r in results]

    async def _send_call(self, message: dict[str, Any], tokens: list[str]) -> list[SendResult]:
        rejected: str | None = None
        for attempt in (1, 2):
            try:
                access_token = await self.tokens.token(rejected=rejected)
            except TokenUnavailable as exc:
                if exc.rejected:
                    log.error("huawei push: %s", exc)
                    return [SendResult("auth", reason=str(exc), alert=True)] * len(tokens)
                return [SendResult("retry", reason=str(exc))] * len(tokens)
            answer = await self._post({**message, "token": tokens}, access_token)
            if answer.status == 401 or answer.code in _AUTH_CODES:
                if attempt == 1:
                    rejected = access_token  # refresh once (single-flight), then retry once
                    continue
                log.error("huawei push: access token refused twice (%s %s)", answer.code, answer.msg)
                return [SendResult("auth", reason=answer.code or "401", http_status=answer.status, alert=True)] * len(
                    tokens
                )
            return _classify(answer, tokens)
        raise AssertionError("unreachable")

    async def _post(self, body: dict[str, Any], access_token: str) -> _Answer:
        payload = json.dumps({"validate_only": False, "message": body}, ensure_ascii=False).encode()
        headers = {"authorization": f"Bearer {access_token}", "content-type": "application/json; charset=UTF-8"}
        try:
            response = await self._http.post(self._send_url, content=payload, headers=headers)
        except httpx.TimeoutException:
            return _Answer(None, "", "timeout", None)
        except httpx.HTTPError as exc:
            return _Answer(None, "", f"connection: {type(exc).__name__}", None)
        try:
            answer = response.json()
        except ValueError:
            answer = None
        retry_after = _retry_after(response.headers.get("retry-after"))
        if not isinstance(answer, dict):
            return _Answer(response.status_code, "", response.text[:200], None, retry_after)
        request_id = answer.get("requestId")
        return _Answer(
            response.status_code,
            str(answer.get("code", "")),
            str(answer.get("msg", "")),
            str(request_id) if request_id is not None else None,
            retry_after,
        )


def _retry_after(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _classify(answer: _Answer, tokens: list[str]) -> list[SendResult]:
    status, code = answer.status, answer.code
    if status is None:
        return [SendResult("retry", reason=answer.msg)] * len(tokens)
    if status in _RETRY_STATUSES:
        return [
            SendResult("retry", reason=code or f"HTTP {status}", http_status=status, retry_after_s=answer.retry_after_s)
        ] * len(tokens)
    if code == "80000000":
        return [SendResult("sent", provider_id=answer.request_id, http_status=status)] * len(tokens)
    if code == "80100000":
        illegal = _illegal_tokens(answer.msg)
        return [
            SendResult("invalid_endpoint", provider_id=answer.request_id, reason="illegal_token", http_status=status)
            if token in illegal
            else SendResult("sent", provider_id=answer.request_id, http_status=status)
            for token in tokens
        ]
    if code == "80300007":
        return [SendResult("invalid_endpoint", reason=code, http_status=status)] * len(tokens)
    if code == "81000001":  # Huawei's internal error
        return [SendResult("retry", reason=code, http_status=status)] * len(tokens)
    # The documented permanent codes (_PERMANENT_CODES) and anything unknown: a bug an operator must see.
    reason = code or f"HTTP {status}"
    log.error("huawei push: message refused (%s %s)", reason, answer.msg)
    return [SendResult("permanent", reason=reason, http_status=status, alert=True)] * len(tokens)


def _illegal_tokens(msg: str) -> set[str]:
    try:
        summary = json.loads(msg)
    except ValueError:
        return set()
    illegal = summary.get("illegal_tokens") if isinstance(summary, dict) else None
    return {t for t in illegal if isinstance(t, str)} if isinstance(illegal, list) else set()
