"""After-commit effects shared by every write path."""

from __future__ import annotations

import logging

from payments.deps import PaymentsDeps

log = logging.getLogger("zsb.payments")


async def kick(deps: PaymentsDeps) -> None:
    """Wake the outbox relays after a commit that wrote outbox rows. Best effort: their schedule finds the rows
    anyway, and a failure here never fails the write (nor a notify's acknowledgement)."""
    if deps.kick_relays is None:
        return
    try:
        await deps.kick_relays()
    except Exception:
        log.warning("payments: could not wake the outbox relays; their schedule will pick the rows up", exc_info=True)
