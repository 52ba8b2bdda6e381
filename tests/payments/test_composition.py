"""The composition of payments: a standalone worker, started apart from the API, reaches the API's sandboxes with
the keys they really have (kept in the local data directory), and verifies what they answer."""

from __future__ import annotations

import secrets
from contextlib import AsyncExitStack
from datetime import timedelta
from pathlib import Path

import httpx
import orjson

from api import devsecrets
from api.models.payment import Channel, Product
from api.payments_root import build_payments, channel_keys, gateways
from payments.channels.base import OrderSpec, Outcome, TradeState
from tests.support.client import LiveServer


class TestStandaloneWorkerChannels:
    async def test_query_the_api_sandboxes_and_trust_their_signed_answers(self, live: LiveServer) -> None:
        dev = devsecrets.load_or_create(live.settings.var_dir)
        api_channels = live.app.state.services.payments.channels
        async with AsyncExitStack() as stack:
            http = await stack.enter_async_context(httpx.AsyncClient())
            worker_deps = await build_payments(
                live.settings,
                clock=live.clock,
                http=http,
                redis=None,
                stack=stack,
                keys=channel_keys(live.settings, dev),
                gateways=gateways(live.settings, dev),
            )
            assert worker_deps.cashier_url is None  # no sandbox of its own
            for channel in (Channel.ALIPAY, Channel.WECHAT):
                out_trade_no = f"W{secrets.token_hex(8)}"
                expires_at = live.clock.now() + timedelta(minutes=30)
                spec = OrderSpec(out_trade_no, 5000, "组合测试", Product.NATIVE, expires_at)
                created = await api_channels[channel].create_order(spec)
                assert created.outcome is Outcome.OK

                fact = await worker_deps.channels[channel].query(out_trade_no)

                assert fact.outcome is Outcome.OK
                assert fact.state is TradeState.PENDING


class TestKeptSandboxKeys:
    def test_an_older_file_gains_the_sandbox_keys_once_and_keeps_the_rest(self, tmp_path: Path) -> None:
        # given: a file written before the payment sandboxes kept their keys
        first = devsecrets.load_or_create(tmp_path)
        path = tmp_path / "dev-secrets.json"
        raw = orjson.loads(path.read_bytes())
        older = {name: value for name, value in raw.items() if not name.startswith("sandbox_")}
        path.write_bytes(orjson.dumps(older))

        # when: two processes start (API, worker)
        api_view, worker_view = devsecrets.load_or_create(tmp_path), devsecrets.load_or_create(tmp_path)

        # then
        assert api_view == worker_view
        assert api_view.alipay_app_private_key == first.alipay_app_private_key
        assert api_view.wechat_merchant_serial_no == first.wechat_merchant_serial_no
        assert api_view.sandbox_wechatpay_public_key_id.startswith("PUB_KEY_ID_")
        assert len(api_view.sandbox_wechatpay_apiv3_key) == 32
        assert api_view.sandbox_alipay_private_key != first.sandbox_alipay_private_key
