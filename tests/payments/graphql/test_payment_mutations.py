"""createPayment, paymentOrder, confirmPayment and cancelPayment over HTTP against the payment sandboxes: the
payload union per channel and product, idempotent retries, and every refusal as a typed error that leaves nothing
behind (no order row for the bill)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from api.models import AssuranceLevel
from api.models.payment import Bill, BillStatus, OrderStatus, PaymentOrder
from payments import service
from tests.payments.graphql.support import (
    CANCEL_PAYMENT,
    CONFIRM_PAYMENT,
    CREATE_PAYMENT,
    PAYMENT_ORDER,
    create_payment,
    deps,
    finance,
    harness,
    key,
    new_bill,
    pay_input,
    payer,
)
from tests.support.client import Api


async def _orders(bill: Bill) -> int:
    return await PaymentOrder.filter(bill_id=bill.id).count()


async def _order(api: Api, token: str, order_id: str) -> Any:
    return (await api.data(PAYMENT_ORDER, {"id": order_id}, token))["paymentOrder"]


class TestCreatePayment:
    async def test_alipay_app_answers_the_signed_order_string_and_a_retry_the_same_order(self, api: Api) -> None:
        # given
        session, me = await payer(api)
        bill = await new_bill(api, person_id=me, amount_fen=5000)
        idem = key()

        # when
        first = await create_payment(api, session.access_token, bill, "ALIPAY", "APP", idem)
        again = await create_payment(api, session.access_token, bill, "ALIPAY", "APP", idem)

        # then
        assert first["__typename"] == "PaymentOrder"
        assert (first["status"], first["channel"], first["product"], first["billId"]) == (
            "PAYING",
            "ALIPAY",
            "APP",
            str(bill.id),
        )
        assert (first["amountFen"], first["amountYuan"], first["paidAt"]) == ("5000", "50.00", None)
        order_string = parse_qs(first["payload"]["orderString"])
        assert first["payload"]["__typename"] == "AlipayAppPayload"
        assert order_string["method"] == ["alipay.trade.app.pay"]
        assert order_string["sign_type"] == ["RSA2"]
        assert first["outTradeNo"] in order_string["biz_content"][0]
        assert first["sandboxCashierUrl"].startswith(f"{api.live.base_url}/sandbox/")
        assert again == first
        assert await _orders(bill) == 1

    async def test_each_product_answers_its_payload_member(self, api: Api) -> None:
        # given
        session, me = await payer(api)
        cases = [("ALIPAY", "WAP", "RedirectPayload"), ("ALIPAY", "NATIVE", "QrCodePayload")]
        cases += [("WECHAT", "NATIVE", "QrCodePayload"), ("WECHAT", "APP", "WechatAppPayload")]
        cases += [("WECHAT", "H5", "RedirectPayload")]

        for channel, product, member in cases:
            bill = await new_bill(api, person_id=me)

            # when
            order = await create_payment(api, session.access_token, bill, channel, product)

            # then
            assert (order["__typename"], order["status"]) == ("PaymentOrder", "PAYING"), (channel, product, order)
            payload = order["payload"]
            assert payload["__typename"] == member, (channel, product)
            assert all(value for value in payload.values()), (channel, product, payload)

    async def test_the_wechat_app_payload_carries_the_pay_request_parameters(self, api: Api) -> None:
        # given
        session, me = await payer(api)
        bill = await new_bill(api, person_id=me)

        # when
        order = await create_payment(api, session.access_token, bill, "WECHAT", "APP")

        # then
        payload = order["payload"]
        assert (payload["appId"], payload["partnerId"], payload["package"]) == (
            deps(api).merchant.wechat_appid,
            deps(api).merchant.wechat_mchid,
            "Sign=WXPay",
        )
        assert payload["timestamp"].isdigit()

    async def test_a_wechat_h5_order_tells_wechat_the_payers_ip(self, api: Api) -> None:
        # given
        session, me = await payer(api)
        bill = await new_bill(api, person_id=me)

        # when
        order = await create_payment(api, session.access_token, bill, "WECHAT", "H5")

        # then
        sent = [r.body for r in harness(api).wechat.requests("pay") if order["outTradeNo"] in str(r.body)]
        assert [body["scene_info"]["payer_client_ip"] for body in sent] == [api.ip]

    async def test_a_jsapi_order_without_a_channel_binding_is_refused(self, api: Api) -> None:
        # given
        session, me = await payer(api)
        bill = await new_bill(api, person_id=me)

        # when
        refused = await create_payment(api, session.access_token, bill, "WECHAT", "JSAPI")

        # then
        assert (refused["__typename"], refused["code"], refused["channel"]) == (
            "ChannelBindingMissingError",
            "CHANNEL_BINDING_MISSING",
            "WECHAT",
        )
        assert await _orders(bill) == 0

    async def test_the_same_key_for_another_request_is_refused(self, api: Api) -> None:
        # given
        session, me = await payer(api)
        bill = await new_bill(api, person_id=me)
        idem = key()
        await create_payment(api, session.access_token, bill, "ALIPAY", "APP", idem)

        # when
        refused = await create_payment(api, session.access_token, bill, "WECHAT", "NATIVE", idem)

        # then
        assert (refused["__typename"], refused["code"]) == ("IdempotencyKeyReusedError", "IDEMPOTENCY_KEY_REUSED")
        assert await _orders(bill) == 1

    async def test_someone_elses_bill_and_a_malformed_id_do_not_exist(self, api: Api) -> None:
        # given
        session, _ = await payer(api)
        _, other = await payer(api)
        theirs = await new_bill(api, person_id=other)

        # when
        foreign = await create_payment(api, session.access_token, theirs)
        malformed = (await api.data(CREATE_PAYMENT, pay_input("not-a-bill"), session.access_token))["createPayment"]

        # then
        assert (foreign["__typename"], foreign["code"]) == ("NotFoundError", "BILL_NOT_FOUND")
        assert (malformed["__typename"], malformed["code"], malformed["path"]) == (
            "NotFoundError",
            "BILL_NOT_FOUND",
            ["billId"],
        )
        assert await _orders(theirs) == 0

    async def test_a_sign_in_below_l2_is_refused_with_the_level_needed(self, api: Api) -> None:
        # given
        session, me = await payer(api, AssuranceLevel.L1)
        bill = await new_bill(api, person_id=me)

        # when
        refused = await create_payment(api, session.access_token, bill)

        # then
        assert (refused["__typename"], refused["code"], refused["requiredLevel"]) == (
            "AssuranceTooLowError",
            "ASSURANCE_TOO_LOW",
            2,
        )
        assert await _orders(bill) == 0

    async def test_a_cancelled_bill_is_not_payable(self, api: Api) -> None:
        # given
        session, me = await payer(api)
        bill = await new_bill(api, person_id=me)
        await service.cancel_bill(deps(api), bill.id, reason="测试撤销")

        # when
        refused = await create_payment(api, session.access_token, bill)

        # then
        assert (refused["__typename"], refused["code"]) == ("BillNotPayableError", "BILL_NOT_PAYABLE")
        assert await _orders(bill) == 0

    async def test_a_malformed_idempotency_key_is_invalid_input(self, api: Api) -> None:
        # given
        session, me = await payer(api)
        bill = await new_bill(api, person_id=me)

        # when
        refused = await create_payment(api, session.access_token, bill, idem="k" * 65)

        # then
        assert (refused["__typename"], refused["path"]) == ("InvalidInputError", ["idempotencyKey"])
        assert await _orders(bill) == 0

    async def test_an_operator_is_refused(self, api: Api) -> None:
        # given
        _, me = await payer(api)
        bill = await new_bill(api, person_id=me)

        # when
        body = await api.gql(CREATE_PAYMENT, pay_input(str(bill.id)), await finance(api))

        # then
        assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]
        assert await _orders(bill) == 0


class TestPaymentOrder:
    async def test_my_order_is_shown_and_anyone_elses_or_junk_is_null(self, api: Api) -> None:
        # given
        session, me = await payer(api)
        other, _ = await payer(api)
        bill = await new_bill(api, person_id=me)
        created = await create_payment(api, session.access_token, bill, "WECHAT", "NATIVE")

        # when
        mine = await _order(api, session.access_token, created["id"])
        theirs = await _order(api, other.access_token, created["id"])
        junk = await _order(api, session.access_token, "not-an-id")

        # then
        assert {"__typename": "PaymentOrder", **mine} == created
        assert (theirs, junk) == (None, None)


class TestConfirmPayment:
    async def test_a_payment_whose_notify_was_lost_is_found_paid_by_asking_the_channel(self, api: Api) -> None:
        # given: paid at the channel, the notify lost
        session, me = await payer(api)
        bill = await new_bill(api, person_id=me)
        created = await create_payment(api, session.access_token, bill, "WECHAT", "NATIVE")
        await harness(api).wechat.pay(created["outTradeNo"], notify=False)

        # when
        confirmed = (await api.data(CONFIRM_PAYMENT, {"input": {"orderId": created["id"]}}, session.access_token))[
            "confirmPayment"
        ]

        # then
        assert (confirmed["__typename"], confirmed["status"]) == ("PaymentOrder", "PAID")
        assert confirmed["paidAt"] is not None
        assert (confirmed["payload"], confirmed["sandboxCashierUrl"]) == (None, None)
        assert (await Bill.get(id=bill.id)).status is BillStatus.PAID

    async def test_an_unknown_order_is_not_found(self, api: Api) -> None:
        # given
        session, _ = await payer(api)

        # when
        result = (await api.data(CONFIRM_PAYMENT, {"input": {"orderId": key()}}, session.access_token))[
            "confirmPayment"
        ]

        # then
        assert (result["__typename"], result["code"]) == ("NotFoundError", "ORDER_NOT_FOUND")


class TestCancelPayment:
    async def test_closes_the_order_at_the_channel_and_the_bill_stays_payable(self, api: Api) -> None:
        # given
        session, me = await payer(api)
        bill = await new_bill(api, person_id=me)
        created = await create_payment(api, session.access_token, bill, "ALIPAY", "NATIVE")

        # when
        cancelled = (await api.data(CANCEL_PAYMENT, {"input": {"orderId": created["id"]}}, session.access_token))[
            "cancelPayment"
        ]

        # then
        assert (cancelled["__typename"], cancelled["status"]) == ("PaymentOrder", "CLOSED")
        assert (cancelled["payload"], cancelled["sandboxCashierUrl"]) == (None, None)
        assert (await PaymentOrder.get(id=created["id"])).status is OrderStatus.CLOSED
        assert (await Bill.get(id=bill.id)).status is BillStatus.UNPAID

    async def test_someone_elses_order_is_not_found_and_stays_live(self, api: Api) -> None:
        # given
        session, me = await payer(api)
        other, _ = await payer(api)
        bill = await new_bill(api, person_id=me)
        created = await create_payment(api, session.access_token, bill, "WECHAT", "NATIVE")

        # when
        refused = (await api.data(CANCEL_PAYMENT, {"input": {"orderId": created["id"]}}, other.access_token))[
            "cancelPayment"
        ]

        # then
        assert (refused["__typename"], refused["code"]) == ("NotFoundError", "ORDER_NOT_FOUND")
        assert (await PaymentOrder.get(id=created["id"])).status is OrderStatus.PAYING
