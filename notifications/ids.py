"""Provider ids derived from the dedup key (notifications.md §C7): every attempt of a delivery carries the same
apns-id, and every delivery of one request the same collapse id, so a rare double send shows once on the device."""

from __future__ import annotations

import hashlib
import uuid

# Fixed forever: changing it would give deliveries already in flight a different apns-id on their next attempt.
NS_ZSB = uuid.UUID("6f1c5d0e-3b7a-5e2c-9a41-7d8e2f0b6c13")


def apns_id(dedup_key: str, channel: str, endpoint_key: str) -> str:
    return str(uuid.uuid5(NS_ZSB, f"{dedup_key}|{channel}|{endpoint_key}"))


def collapse_id(dedup_key: str) -> str:
    """apns-collapse-id and Huawei tag: 32 hex characters, well under APNs' 64-byte limit."""
    return hashlib.sha256(dedup_key.encode()).hexdigest()[:32]


def stable_fraction(seed: str) -> float:
    """A number in [0, 1) fixed by `seed`: jitter that tests can predict and that spreads users apart."""
    return int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8], "big") / 2**64
