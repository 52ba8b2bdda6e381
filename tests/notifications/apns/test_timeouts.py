"""ApnsAdapter.send when the server is silent, late or going away (behaviours 1–3 of §1.2)."""

from __future__ import annotations

import asyncio

from notifications.channels.base import LateReply, SendResult
from notifications.sandbox.apns import ApnsSandbox
from tests.notifications.apns.conftest import AdapterFactory, LateReplies
from tests.notifications.apns.support import NOW, message, valid_token


class TestSilentServer:
    async def test_a_slow_token_times_out_while_fifty_valid_sends_of_the_batch_are_sent(
        self, apns: ApnsSandbox, make_adapter: AdapterFactory
    ) -> None:
        adapter = await make_adapter(timeout_s=0.5)
        await adapter.send([message(valid_token())])  # connect before the clock starts
        apns.clear()
        slow = message("slow01")
        valid = [message(valid_token()) for _ in range(50)]

        results = await adapter.send([slow, *valid])

        assert results[0] == SendResult("retry", provider_id=slow.apns_id, reason="Timeout")
        assert [r.outcome for r in results[1:]] == ["sent"] * 50
        assert adapter.orphans == 1  # kept, never cancelled: a late reply may still land
        assert [r["status"] for r in apns.requests("slow01")] == [None]

    async def test_the_next_batch_is_not_held_up_by_an_unanswered_stream(
        self, apns: ApnsSandbox, make_adapter: AdapterFactory
    ) -> None:
        adapter = await make_adapter(timeout_s=0.5, connections=1)
        await adapter.send([message("slow02")])

        results = await adapter.send([message(valid_token()) for _ in range(20)])

        assert [r.outcome for r in results] == ["sent"] * 20


class TestLateReply:
    async def test_a_late_reply_under_load_is_reported_and_other_streams_on_the_connection_are_unaffected(
        self, apns: ApnsSandbox, make_adapter: AdapterFactory, late_replies: LateReplies
    ) -> None:
        adapter = await make_adapter(timeout_s=1.0, connections=1)
        await adapter.send([message(valid_token())])  # the connection is up before the clock starts
        apns.script("slow03", [{"delayMs": 1500}])
        late = message("slow03")

        first = await adapter.send([late, *(message(valid_token()) for _ in range(100))])
        during: list[SendResult] = []
        while not late_replies.received:  # keep streams in flight on the connection while the reply lands
            during += await adapter.send([message(valid_token()) for _ in range(50)])
        after = await adapter.send([message(valid_token()) for _ in range(100)])

        assert first[0] == SendResult("retry", provider_id=late.apns_id, reason="Timeout")
        assert during, "the late reply landed while other streams were in flight"
        assert {r.outcome for r in first[1:] + during + after} == {"sent"}
        assert late_replies.received == [
            LateReply(late.delivery_id, SendResult("sent", provider_id=late.apns_id, http_status=200), NOW)
        ]
        # One connection carried everything: the late reply did not poison it, and nothing was re-sent.
        assert len({r["connection"] for r in apns.requests()}) == 1
        assert len(apns.requests()) == 1 + 101 + len(during) + 100
        assert adapter.orphans == 0

    async def test_a_late_error_is_classified_like_a_timely_one(
        self, apns: ApnsSandbox, make_adapter: AdapterFactory, late_replies: LateReplies
    ) -> None:
        adapter = await make_adapter(timeout_s=0.2)
        apns.script("gone03", [{"delayMs": 400, "status": 410}])
        late = message("gone03")

        [result] = await adapter.send([late])
        await asyncio.wait_for(late_replies.arrived.wait(), 5)

        assert result.reason == "Timeout"
        [reply] = late_replies.received
        assert (reply.delivery_id, reply.result.outcome, reply.result.reason, reply.result.endpoint_invalid_at) == (
            late.delivery_id,
            "invalid_endpoint",
            "Unregistered",
            NOW,
        )


class TestGoaway:
    async def test_a_goaway_after_reading_is_a_retry_and_the_request_is_not_resent(
        self, apns: ApnsSandbox, make_adapter: AdapterFactory
    ) -> None:
        adapter = await make_adapter()
        item = message("goaway01")

        [result] = await adapter.send([item])

        assert result == SendResult("retry", provider_id=item.apns_id, reason="MaxAttemptsExceeded")
        assert [(r["token"], r["reason"]) for r in apns.requests()] == [("goaway01", "GOAWAY")]

    async def test_the_pool_reconnects_for_the_next_send(self, apns: ApnsSandbox, make_adapter: AdapterFactory) -> None:
        adapter = await make_adapter(connections=1)
        await adapter.send([message("goaway02")])

        [result] = await adapter.send([message(valid_token())])

        assert result.outcome == "sent"
        assert len({r["connection"] for r in apns.requests()}) == 2


class TestUnreachableServer:
    async def test_a_refused_connection_is_a_retry(self, apns: ApnsSandbox, make_adapter: AdapterFactory) -> None:
        adapter = await make_adapter(port=1, timeout_s=3.0)

        [result] = await adapter.send([message(valid_token())])

        assert (result.outcome, result.reason) == ("retry", "MaxAttemptsExceeded")
        assert apns.requests() == []
