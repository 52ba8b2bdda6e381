"""Channel-neutral notify handling (payments.md §11). Provisional: every notify is asked to be delivered again
until the service lands (the channels retry, so nothing is lost)."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import Response

from api.models.payment import Channel
from payments.deps import PaymentsDeps


async def handle_notify(deps: PaymentsDeps, channel: Channel, headers: Mapping[str, str], body: bytes) -> Response:
    adapter = deps.channel(channel)
    if adapter is None:
        return Response(status_code=503)
    if adapter.parse_notify(headers, body) is None:
        return adapter.reject()
    return adapter.ack(False)
