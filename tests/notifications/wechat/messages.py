"""Outbound messages as the sender renders them for the mini-program channels."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from notifications.channels.base import OutboundMessage


def outbound(
    address: str,
    *,
    channel: str = "wechat",
    template_id: str = "TPL-accepted",
    data: Mapping[str, str] | None = None,
    deeplink: str = "zsb://applications/C42",
) -> OutboundMessage:
    return OutboundMessage(
        delivery_id=uuid.uuid4(),
        channel=channel,
        address=address,
        title="办件受理",
        body="您的申请已受理",
        deeplink=deeplink,
        category="service",
        kind="transactional",
        dedup_key=f"application.accepted:C42:1:{address}",
        apns_id=str(uuid.uuid4()),
        collapse_id="0" * 32,
        ttl_s=86400,
        vendor_template_id=template_id,
        data=dict(data if data is not None else {"thing1": "营业执照办理", "character_string2": "C42"}),
    )
