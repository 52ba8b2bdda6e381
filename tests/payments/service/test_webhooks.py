"""The notify routes as HTTP: raw body cap, verification failures answered the channel's way."""

from __future__ import annotations

import httpx

from tests.support.client import LiveServer


class TestNotifyRoutes:
    async def test_a_body_over_64_kb_is_refused(self, live: LiveServer) -> None:
        async with httpx.AsyncClient(base_url=live.base_url) as http:
            for channel in ("alipay", "wechat"):
                response = await http.post(f"/pay/notify/{channel}", content=b"a=" + b"x" * (64 * 1024))
                assert response.status_code == 413

    async def test_an_unsigned_alipay_notify_is_not_acknowledged(self, live: LiveServer) -> None:
        async with httpx.AsyncClient(base_url=live.base_url) as http:
            response = await http.post(
                "/pay/notify/alipay",
                content=b"trade_status=TRADE_SUCCESS&out_trade_no=T1&total_amount=50.00",
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
        assert response.text != "success"

    async def test_an_unsigned_wechat_notify_gets_401_fail(self, live: LiveServer) -> None:
        async with httpx.AsyncClient(base_url=live.base_url) as http:
            response = await http.post("/pay/notify/wechat", json={"id": "x", "resource": {}})
        assert response.status_code == 401
        assert response.json()["code"] == "FAIL"

    async def test_only_post(self, live: LiveServer) -> None:
        async with httpx.AsyncClient(base_url=live.base_url) as http:
            assert (await http.get("/pay/notify/alipay")).status_code == 405


class TestPayReturn:
    async def test_claims_nothing_and_sends_the_payer_back_to_the_app(self, live: LiveServer) -> None:
        async with httpx.AsyncClient(base_url=live.base_url) as http:
            response = await http.get("/pay/return", params={"out_trade_no": "P1", "trade_status": "TRADE_SUCCESS"})
        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-store"
        assert "支付结果确认中" in response.text
        assert "支付成功" not in response.text.replace("不代表支付成功", "")
        # the way back is a fixed link into the H5 app (served here, the sandbox mode): nothing of the query string
        assert 'href="/h5/#/pay/return"' in response.text
        assert "P1" not in response.text and "TRADE_SUCCESS" not in response.text
