"""Bursts on fresh connections: h2 flow control and the server's stream limit (notifications.md §1.2–1.4).

A new connection starts with a 65,535-byte connection window and no stream limit until the server's SETTINGS and
WINDOW_UPDATE arrive; the sandbox raises the window to 2^24 and advertises 2,000 streams, then 500.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator

import pytest
from h2.config import H2Configuration
from h2.connection import H2Connection

from notifications.channels.apns_h2 import ExactChannelPool, ExactStreamCount
from notifications.sandbox.apns import ApnsSandbox
from tests.notifications.apns.conftest import AdapterFactory
from tests.notifications.apns.support import message, valid_token

# About 3 KB of UTF-8 per request: the initial 64 KiB window holds only about twenty of them.
LONG_BODY = "您的申请已受理，请留意后续通知。" * 60


@pytest.fixture
def slow_preface(apns: ApnsSandbox) -> Iterator[ApnsSandbox]:
    """New connections get the server's SETTINGS and WINDOW_UPDATE 200 ms after the handshake, as over a network."""
    apns.preface_delay_ms = 200
    try:
        yield apns
    finally:
        apns.preface_delay_ms = 0


class TestBurstOnFreshPool:
    async def test_two_thousand_concurrent_large_sends_on_a_fresh_pool_are_all_sent_exactly_once(
        self, slow_preface: ApnsSandbox, make_adapter: AdapterFactory
    ) -> None:
        apns = slow_preface
        adapter = await make_adapter(connections=4, timeout_s=30.0)
        items = [message(valid_token(), body=LONG_BODY) for _ in range(2000)]

        results = await adapter.send(items)

        assert Counter(r.outcome for r in results) == Counter({"sent": 2000})
        recorded = apns.requests()
        assert len(recorded) == 2000
        assert sorted(r["apnsId"] for r in recorded) == sorted(item.apns_id for item in items)
        assert min(r["bodyBytes"] for r in recorded) > 2500

    async def test_new_connections_opened_mid_burst_take_no_send_before_the_server_settings(
        self, slow_preface: ApnsSandbox, make_adapter: AdapterFactory
    ) -> None:
        apns = slow_preface
        adapter = await make_adapter(connections=4, timeout_s=30.0)
        await adapter.send([message(valid_token())])  # one warm connection
        apns.clear()
        held = [valid_token() for _ in range(500)]
        for token in held:  # the warm connection stays full while the rest of the burst needs new ones
            apns.script(token, [{"delayMs": 500}])
        items = [message(token, body=LONG_BODY) for token in held]
        items += [message(valid_token(), body=LONG_BODY) for _ in range(1500)]

        results = await adapter.send(items)

        assert Counter(r.outcome for r in results) == Counter({"sent": 2000})
        per_connection = Counter(r["connection"] for r in apns.requests())
        assert sum(per_connection.values()) == 2000
        assert len(per_connection) >= 2  # the burst did open a connection while it ran

    async def test_successive_bursts_on_one_connection_are_never_refused_a_stream(
        self, apns: ApnsSandbox, make_adapter: AdapterFactory
    ) -> None:
        adapter = await make_adapter(connections=1, timeout_s=30.0)

        results = [r for _ in range(3) for r in await adapter.send([message(valid_token()) for _ in range(1500)])]

        assert Counter(r.outcome for r in results) == Counter({"sent": 4500})
        assert len(apns.requests()) == 4500
        assert {r["connection"] for r in apns.requests()} == {apns.connection_count}


class TestExactStreamCount:
    def test_the_count_follows_every_stream_that_closes_between_two_new_streams(self) -> None:
        client = ExactStreamCount(H2Configuration(client_side=True))
        server = H2Connection(H2Configuration(client_side=False))
        client.initiate_connection()
        server.initiate_connection()
        server.receive_data(client.data_to_send())
        client.receive_data(server.data_to_send())
        request = [(":method", "POST"), (":scheme", "https"), (":path", "/"), (":authority", "localhost")]
        for stream_id in range(1, 141, 2):  # 70 streams, each fully sent
            client.send_headers(stream_id, request, end_stream=True)
        server.receive_data(client.data_to_send())
        assert client.open_outbound_streams == 70

        for stream_id in range(1, 131, 2):  # the server answers 65 of them
            server.send_headers(stream_id, [(":status", "200")], end_stream=True)
        client.receive_data(server.data_to_send())
        client.send_headers(141, request, end_stream=True)

        assert client.open_outbound_streams == 6
        assert sorted(client.streams) == [131, 133, 135, 137, 139, 141]  # closed streams are forgotten


class TestExactChannelPool:
    async def test_after_the_limit_falls_below_the_streams_in_flight_none_is_handed_out_until_enough_have_ended(
        self,
    ) -> None:
        channels = ExactChannelPool(1000)  # aioapns's bound before the server's SETTINGS
        for _ in range(640):
            await channels.acquire()
        channels.bound = 2000  # the sandbox's first SETTINGS …
        channels.bound = 500  # … and its second

        waiting = asyncio.ensure_future(channels.acquire())
        await asyncio.sleep(0)
        assert not waiting.done()  # 640 in flight over a limit of 500
        for _ in range(140):
            channels.release()
        await asyncio.sleep(0)
        assert not waiting.done()  # 500 still in flight: no 501st stream
        channels.release()

        assert await asyncio.wait_for(waiting, 1) == 2 * 641 - 1  # stream ids keep counting up
        assert channels.is_busy

    async def test_a_raised_limit_frees_every_stream_above_those_in_flight(self) -> None:
        channels = ExactChannelPool(500)
        for _ in range(500):
            await channels.acquire()

        channels.bound = 2000

        for _ in range(1500):
            await asyncio.wait_for(channels.acquire(), 1)
        assert channels.is_busy
