"""Who may see and pay a bill (payments.md §10): its person, or someone acting for its enterprise. For anyone
else a bill does not exist (its existence is not leaked). Paying also needs the assurance level and, for a
mini-program order, the payer's channel identity from identity's bindings (never from client input)."""

from __future__ import annotations

import uuid
from datetime import datetime

from api.identity import profile
from api.identity.tokens import AccessClaims
from api.licenses import wallet
from api.models import BindingProvider
from api.models.payment import Bill, Channel, PaymentOrder, Product
from api.settings import PaymentsSettings
from payments.errors import PaymentsError, PaymentsErrorCode


async def acting_enterprise(claims: AccessClaims, now: datetime) -> uuid.UUID | None:
    """The enterprise the session acts for, if the authorization behind it still holds."""
    acting = claims.acting_as_enterprise_id
    if acting is not None and await wallet.acts_for_enterprise(claims, acting, now):
        return acting
    return None


async def may_see(claims: AccessClaims | None, bill: Bill, now: datetime) -> bool:
    if claims is None or claims.kind != "citizen":
        return False
    if bill.person_id is not None:
        return bill.person_id == claims.subject
    return bill.enterprise_id is not None and await acting_enterprise(claims, now) == bill.enterprise_id


def bill_not_found() -> PaymentsError:
    return PaymentsError(PaymentsErrorCode.BILL_NOT_FOUND, "no such bill among yours")


def order_not_found() -> PaymentsError:
    return PaymentsError(PaymentsErrorCode.ORDER_NOT_FOUND, "no such payment among yours")


async def visible_bill(claims: AccessClaims, bill_id: uuid.UUID, now: datetime) -> Bill:
    bill = await Bill.get_or_none(id=bill_id)
    if bill is None or not await may_see(claims, bill, now):
        raise bill_not_found()
    return bill


async def visible_order(claims: AccessClaims, order_id: uuid.UUID, now: datetime) -> PaymentOrder:
    """The caller's own attempt, or one on a bill the caller may see (a colleague's on the enterprise's bill)."""
    order = await PaymentOrder.get_or_none(id=order_id)
    if order is None or claims.kind != "citizen":
        raise order_not_found()
    if order.payer_id != claims.subject:
        bill = await Bill.get_or_none(id=order.bill_id)
        if bill is None or not await may_see(claims, bill, now):
            raise order_not_found()
    return order


def require_assurance(settings: PaymentsSettings, claims: AccessClaims, bill: Bill) -> None:
    needed = max(settings.min_assurance_level, bill.min_assurance)
    if claims.level < needed:
        raise PaymentsError(
            PaymentsErrorCode.ASSURANCE_TOO_LOW,
            f"paying this bill needs assurance level L{needed}; this sign-in is L{claims.level}",
            required_level=needed,
        )


_BINDINGS = {Channel.WECHAT: BindingProvider.WECHAT, Channel.ALIPAY: BindingProvider.ALIPAY}


async def payer_channel_id(payer_id: uuid.UUID, channel: Channel, product: Product) -> str | None:
    """The payer's WeChat openid / Alipay user id for a mini-program (JSAPI) order; None for other products."""
    if product is not Product.JSAPI:
        return None
    provider = _BINDINGS[channel]
    bindings = (await profile.bindings_of([payer_id])).get(payer_id, [])
    for binding in bindings:
        if binding.provider is provider and binding.subject_id:
            return binding.subject_id
    raise PaymentsError(
        PaymentsErrorCode.CHANNEL_BINDING_MISSING,
        f"bind your {channel.value.lower()} account before paying in its mini-program",
    )
