"""Payments' Prometheus metrics (payments.md §15.1), served by the process's /metrics."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

NOTIFY_REJECTED = Counter(
    "zsb_payment_notify_rejected_total",
    "Notifies refused because they did not verify (forged, probe, malformed)",
    ["channel"],
)
NOTIFY_FAILED = Counter(
    "zsb_payment_notify_failed_total",
    "Verified notifies answered with 'deliver again' (database unavailable, unknown out_trade_no)",
    ["channel", "reason"],
)
NOTIFY_DUPLICATES = Counter(
    "zsb_payment_notify_duplicates_total", "Notifies acknowledged as already processed (same dedupe key)", ["channel"]
)
ANOMALIES = Counter("zsb_payment_anomalies_total", "Orders given an anomaly", ["channel", "anomaly"])
CHANNEL_CALLS = Counter(
    "zsb_payment_channel_calls_total", "Calls to a payment channel by outcome", ["channel", "operation", "outcome"]
)
CHANNEL_LATENCY = Histogram(
    "zsb_payment_channel_seconds",
    "Latency of calls to a payment channel",
    ["channel", "operation"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15),
)
ORDER_TRANSITIONS = Counter(
    "zsb_payment_order_transitions_total", "Payment order transitions", ["channel", "from_status", "to_status"]
)
REFUND_STATES = Counter("zsb_payment_refund_states_total", "Refunds reaching a status", ["channel", "status"])
