"""The conformance world of payments.md §15.2: a signed-in L2 resident with a fresh 5000-fen Bill, the real GraphQL
endpoint and notify routes of the live server, and the payment sandboxes of this process with their own clock.

`World` is what every scenario gets (fixture `world` in conftest): `bill()`, `paying(...)` (an order O created
through createPayment and in PAYING), `create(...)` (createPayment as it answers), `confirm`, `refund`
(finance), `order_row`, `ctx(moment)` for running a worker job "at" a moment of its own, and `advance_sandbox`,
which moves the sandboxes' clock (never the session's live clock) and is undone when the test ends.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from api.models.payment import Bill, BillKind, PaymentOrder
from api.payments_root import PaymentsHarness
from api.seed.context import seed_id
from payments import service
from payments.deps import PaymentsDeps
from payments.sandbox.notifier import Delivery
from tests.applications.support import resident_token
from tests.catalog.support import operator_token
from tests.support.client import Api, LiveServer

BILL_FEN = 5000
# Seeded residents whose SMS sign-in is L2 (verified L2 or L3, capped at L2 by possession): paying needs L2.
L2_RESIDENTS = (1, 2, 3, 4, 5, 7, 8, 9, 11, 12, 13, 16)
_residents = itertools.cycle(L2_RESIDENTS)
FINANCE_OPERATOR = "finance.city"

PAYLOAD = """
payload {
  __typename
  ... on AlipayAppPayload { orderString }
  ... on AlipayJsapiPayload { tradeNo }
  ... on RedirectPayload { url }
  ... on QrCodePayload { codeUrl }
  ... on WechatAppPayload { appId partnerId prepayId package nonceStr timestamp sign }
  ... on WechatJsapiPayload { appId timeStamp nonceStr package signType paySign }
}
"""
ORDER_FIELDS = (
    "id billId status channel product outTradeNo expiresAt paidAt amountFen amountYuan sandboxCashierUrl " + PAYLOAD
)
ERROR_FIELDS = "... on Error { code message path } ... on PaymentInProgressError { retryable }"
REFUND_ERROR_FIELDS = (
    ERROR_FIELDS + " ... on AvailableMismatchError { availableFen } ... on ExceedsAvailableError { availableFen }"
)
CREATE_PAYMENT = (
    "mutation Create($input: CreatePaymentInput!) { createPayment(input: $input) { __typename "
    f"... on PaymentOrder {{ {ORDER_FIELDS} }} {ERROR_FIELDS} }} }}"
)
CONFIRM_PAYMENT = (
    "mutation Confirm($input: ConfirmPaymentInput!) { confirmPayment(input: $input) { __typename "
    f"... on PaymentOrder {{ {ORDER_FIELDS} }} {ERROR_FIELDS} }} }}"
)
REFUND_FIELDS = "id orderId billId outRefundNo amountFen amountYuan reason status requestedBy requestedAt succeededAt"
REQUEST_REFUND = (
    "mutation Refund($input: RequestRefundInput!) { requestRefund(input: $input) { __typename "
    f"... on Refund {{ {REFUND_FIELDS} }} {REFUND_ERROR_FIELDS} }} }}"
)
PAYMENT_ORDER = f"query Order($id: ID!) {{ paymentOrder(id: $id) {{ {ORDER_FIELDS} }} }}"
MY_BILLS = """
query Bills($first: Int, $after: String) {
  myBills(first: $first, after: $after) {
    edges { node {
      id billNo status amountFen amountYuan refundedFen applicationId
      receipt { receiptNo amountFen issuer }
    } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


class At:
    """A clock stopped at one moment: worker jobs run with ctx={"clock": At(...)} as if at that moment."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def now(self) -> datetime:
        return self.moment


@dataclass(frozen=True)
class Order:
    """An order as createPayment answered it."""

    id: str
    bill_id: str
    out_trade_no: str
    channel: str
    product: str
    view: dict[str, Any]

    @classmethod
    def of(cls, view: dict[str, Any]) -> Order:
        assert view["__typename"] == "PaymentOrder", view
        return cls(view["id"], view["billId"], view["outTradeNo"], view["channel"], view["product"], view)


_finance: dict[int, tuple[str, datetime]] = {}


async def finance_token(api: Api) -> str:
    """The finance operator (requestRefund), signed in once per five minutes of the session's clock: each sign-in
    moves that clock on by a TOTP step, so it is done as rarely as possible."""
    now = api.live.clock.now()
    cached = _finance.get(id(api.live))
    if cached is not None and now - cached[1] < timedelta(minutes=5):
        return cached[0]
    token = await operator_token(api, FINANCE_OPERATOR)
    _finance[id(api.live)] = (token, api.live.clock.now())
    return token


def new_key() -> str:
    return str(uuid.uuid4())


@dataclass
class World:
    api: Api
    live: LiveServer
    resident: int
    token: str
    person_id: uuid.UUID
    trades: list[str] = field(default_factory=list)
    sandbox_shift: timedelta = timedelta()

    @property
    def harness(self) -> PaymentsHarness:
        harness: PaymentsHarness | None = self.live.app.state.services.payments_sandbox
        assert harness is not None, "the live server runs with APP_SANDBOX on"
        return harness

    @property
    def deps(self) -> PaymentsDeps:
        deps: PaymentsDeps = self.live.app.state.services.payments
        return deps

    def now(self) -> datetime:
        return self.live.clock.now()

    def ctx(self, moment: datetime) -> dict[str, Any]:
        """A worker job's ctx "at" `moment` (the session's clock is never moved)."""
        return {"clock": At(moment), "payments": self.deps}

    def advance_sandbox(self, delta: timedelta) -> None:
        """Move the sandboxes' clock (notify retries, trade expiry at the channel); undone after the test."""
        self.harness.clock.advance(delta)
        self.sandbox_shift += delta

    async def finance(self) -> str:
        return await finance_token(self.api)

    # -- bills and orders --

    async def bill(self, amount_fen: int = BILL_FEN) -> Bill:
        """A standalone UNPAID bill (a traffic fine) of this world's resident."""
        now = self.now()
        return await service.create_bill(
            kind=BillKind.FINE,
            person_id=self.person_id,
            enterprise_id=None,
            issuer="云溪市公安局交通警察支队",
            issuer_code="11990100MB0000001X",
            subject="交通违法罚款",
            amount_fen=amount_fen,
            lines=[{"name": "交通违法罚款", "amountFen": amount_fen}],
            due_at=now + timedelta(days=15),
            now=now,
        )

    async def create(
        self, bill_id: object, channel: str, product: str, key: str | None = None, token: str | None = None
    ) -> dict[str, Any]:
        """createPayment as it answers (a PaymentOrder or a typed error)."""
        variables = {
            "input": {
                "billId": str(bill_id),
                "channel": channel,
                "product": product,
                "idempotencyKey": key or new_key(),
            }
        }
        result: dict[str, Any] = (await self.api.data(CREATE_PAYMENT, variables, token or self.token))["createPayment"]
        if result.get("__typename") == "PaymentOrder":
            self.trades.append(result["outTradeNo"])
        return result

    async def paying(self, bill: Bill | object, channel: str, product: str, key: str | None = None) -> Order:
        """Order O: created through createPayment and in PAYING."""
        bill_id = bill.id if isinstance(bill, Bill) else bill
        order = Order.of(await self.create(bill_id, channel, product, key))
        assert order.view["status"] == "PAYING", order.view
        assert (order.view["amountFen"], order.view["amountYuan"]) == (str(BILL_FEN), "50.00")
        return order

    async def confirm(self, order_id: str) -> dict[str, Any]:
        variables = {"input": {"orderId": order_id}}
        result: dict[str, Any] = (await self.api.data(CONFIRM_PAYMENT, variables, self.token))["confirmPayment"]
        return result

    async def order_view(self, order_id: str) -> dict[str, Any] | None:
        view: dict[str, Any] | None = (await self.api.data(PAYMENT_ORDER, {"id": order_id}, self.token))["paymentOrder"]
        return view

    async def my_bill(self, bill_id: object) -> dict[str, Any] | None:
        """The bill as myBills lists it (the resident's bills accumulate over the session: paged through)."""
        after: str | None = None
        while True:
            page = (await self.api.data(MY_BILLS, {"first": 50, "after": after}, self.token))["myBills"]
            for edge in page["edges"]:
                if edge["node"]["id"] == str(bill_id):
                    node: dict[str, Any] = edge["node"]
                    return node
            if not page["pageInfo"]["hasNextPage"]:
                return None
            after = page["pageInfo"]["endCursor"]

    async def refund(
        self, order_id: str, amount_fen: int, expected_fen: int, key: str | None = None, token: str | None = None
    ) -> dict[str, Any]:
        """requestRefund by the finance operator."""
        variables = {
            "input": {
                "orderId": order_id,
                "amountFen": str(amount_fen),
                "reason": "多收费用退还",
                "expectedAvailableFen": str(expected_fen),
                "idempotencyKey": key or new_key(),
            }
        }
        result: dict[str, Any] = (await self.api.data(REQUEST_REFUND, variables, token or await self.finance()))[
            "requestRefund"
        ]
        return result

    async def order_row(self, order: Order | str) -> PaymentOrder:
        return await PaymentOrder.get(id=order.id if isinstance(order, Order) else order)

    # -- the sandboxes' side --

    def alipay_deliveries(self, out_trade_no: str) -> list[Delivery]:
        return [d for d in self.harness.alipay.deliveries if d.key == out_trade_no]

    def wechat_deliveries(self, out_trade_no: str) -> list[Delivery]:
        return [d for d in self.harness.wechat.deliveries if d.key == out_trade_no]

    def deliveries(self, channel: str, out_trade_no: str) -> list[Delivery]:
        return self.alipay_deliveries(out_trade_no) if channel == "ALIPAY" else self.wechat_deliveries(out_trade_no)

    async def settle(self) -> None:
        await self.harness.alipay.settle()
        await self.harness.wechat.settle()

    async def pay_at_channel(self, order: Order, *, amount_fen: int | None = None, notify: bool = True) -> None:
        """The payer pays at the channel (its sandbox); with `notify`, the channel's notify has been answered."""
        if order.channel == "ALIPAY":
            await self.harness.alipay.pay(order.out_trade_no, amount_fen, notify)
        else:
            await self.harness.wechat.pay(order.out_trade_no, amount_fen, notify)
            await self.harness.wechat.settle()

    async def teardown(self) -> None:
        """Nothing of this test reaches a later one: its notifies stop, the sandboxes' clock goes back."""
        await self.settle()
        for out_trade_no in self.trades:
            self.harness.alipay.drop_notifies(out_trade_no)
            self.harness.wechat.drop_notifies(out_trade_no)
        if self.sandbox_shift:
            self.harness.clock.advance(-self.sandbox_shift)
            self.sandbox_shift = timedelta()


async def world_for(api: Api, live: LiveServer, resident: int | None = None) -> World:
    n = resident if resident is not None else next(_residents)
    token = await resident_token(api, n)
    return World(api, live, n, token, seed_id("person", n))


async def eventually(check: Callable[[], Awaitable[bool]], world: World, timeout_s: float = 10.0) -> bool:
    """True once `check` holds, letting the sandboxes' notifies and background steps run in between."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        await world.settle()
        if await check():
            return True
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(0.05)
