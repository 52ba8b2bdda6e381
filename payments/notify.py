"""Channel-neutral notify handling (payments.md §11): verify, then one transaction for dedupe and transition,
then acknowledge, and only after the commit.

* Unverifiable (forged, mis-signed, a WeChat signature probe, malformed): the channel's rejection, a log line and
  `zsb_payment_notify_rejected_total{channel}`. Nothing is recorded.
* Verified: `apply_trade` / `apply_refund` insert the PaymentEvent with (channel, dedupe key) in the same
  transaction as the transition. A duplicate key means it was processed before: acknowledged, not re-processed.
* An out_trade_no (or out_refund_no) we never made: "deliver again" and an alert (impossible by construction,
  since rows commit before order strings exist).
* The database unavailable, or anything else going wrong: "deliver again" (Alipay `fail`, WeChat 503), so the
  channel retries; the dedupe row was never committed apart from the transition, so the retry is processed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping

from starlette.responses import Response

from api.models.payment import Channel, EventSource
from payments.channels.base import NotifyFact
from payments.deps import PaymentsDeps
from payments.service import apply_refund, apply_trade, metrics

log = logging.getLogger("zsb.payments")

_SKEW_LOGGED_S = 300


async def handle_notify(deps: PaymentsDeps, channel: Channel, headers: Mapping[str, str], body: bytes) -> Response:
    adapter = deps.channel(channel)
    if adapter is None:
        return Response(status_code=503)
    try:
        fact = adapter.parse_notify(headers, body)
    except Exception:  # adapters verify without raising; a bug there must not turn into a 500 the channel retries
        log.exception("payments: %s notify parser raised", channel.value)
        fact = None
    if fact is None:
        metrics.NOTIFY_REJECTED.labels(channel.value).inc()
        log.warning("payments: %s notify rejected (unverifiable), %d bytes", channel.value, len(body))
        return adapter.reject()
    _log_skew(channel, headers)
    try:
        known, duplicate = await _apply(deps, fact)
    except Exception:
        metrics.NOTIFY_FAILED.labels(channel.value, "error").inc()
        log.exception("payments: %s notify %s not processed; the channel will retry", channel.value, fact.dedupe_key)
        return adapter.ack(False)
    if not known:
        metrics.NOTIFY_FAILED.labels(channel.value, "unknown_order").inc()
        log.error("payments alert: %s notify %s names no order of ours", channel.value, fact.dedupe_key)
        return adapter.ack(False)
    if duplicate:
        metrics.NOTIFY_DUPLICATES.labels(channel.value).inc()
    return adapter.ack(True)


async def _apply(deps: PaymentsDeps, fact: NotifyFact) -> tuple[bool, bool]:
    """(the fact names something of ours, it was a duplicate)."""
    if fact.trade is not None:
        trade = await apply_trade(
            deps, fact.trade, EventSource.NOTIFY, dedupe_key=fact.dedupe_key, channel_event_id=fact.channel_event_id
        )
        return trade.order is not None, trade.duplicate
    if fact.refund is not None:
        refund = await apply_refund(
            deps, fact.refund, EventSource.NOTIFY, dedupe_key=fact.dedupe_key, channel_event_id=fact.channel_event_id
        )
        return refund.refund is not None, refund.duplicate
    log.warning("payments: notify %s carries no fact; acknowledged", fact.dedupe_key)
    return True, False


def _log_skew(channel: Channel, headers: Mapping[str, str]) -> None:
    """WeChat retries for 24 h: an old timestamp is logged, never refused (dedupe makes replays harmless)."""
    stamp = headers.get("wechatpay-timestamp", "")
    if channel is Channel.WECHAT and stamp.isascii() and stamp.isdigit():
        skew = time.time() - int(stamp)
        if abs(skew) > _SKEW_LOGGED_S:
            log.info("payments: WeChat notify timestamp %ds off", int(skew))
