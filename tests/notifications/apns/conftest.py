"""The APNs sandbox on a real loopback port (TLS + h2); the adapter under test talks to it through aioapns."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import pytest

from api.kit.clock import SettableClock, SystemClock
from notifications.channels.apns import ApnsAdapter, build_apns_adapter
from notifications.channels.base import LateReply
from notifications.sandbox.apns import ApnsSandbox
from tests.notifications.apns.support import NOW, TOPIC

AdapterFactory = Callable[..., Awaitable[ApnsAdapter]]


@pytest.fixture(scope="session")
def apns_clock() -> SettableClock:
    return SettableClock(SystemClock())


@pytest.fixture(scope="session")
async def apns_server(
    apns_clock: SettableClock, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ApnsSandbox]:
    sandbox = ApnsSandbox(apns_clock, directory=tmp_path_factory.mktemp("apns"), topic=TOPIC)
    await sandbox.start()
    yield sandbox
    await sandbox.stop()


@pytest.fixture
def apns(apns_server: ApnsSandbox, apns_clock: SettableClock) -> Iterator[ApnsSandbox]:
    apns_server.reset()
    apns_clock.set(NOW)
    yield apns_server
    apns_server.reset()
    apns_clock.release()


class LateReplies:
    def __init__(self) -> None:
        self.received: list[LateReply] = []
        self.arrived = asyncio.Event()

    async def __call__(self, late: LateReply) -> None:
        self.received.append(late)
        self.arrived.set()


@pytest.fixture
def late_replies() -> LateReplies:
    return LateReplies()


@pytest.fixture
async def make_adapter(
    apns: ApnsSandbox, apns_clock: SettableClock, late_replies: LateReplies
) -> AsyncIterator[AdapterFactory]:
    """Adapters against the sandbox, each closed after the test; keyword arguments override the defaults."""
    built: list[ApnsAdapter] = []

    async def make(**overrides: object) -> ApnsAdapter:
        options: dict[str, object] = {
            "host": "localhost",
            "port": apns.port,
            "topic": TOPIC,
            "key_pem": apns.provider_key_pem,
            "key_id": apns.key_id,
            "team_id": apns.team_id,
            "ca_file": str(apns.ca_file),
            "connections": 4,
            "timeout_s": 5.0,
            "clock": apns_clock,
            "on_late_reply": late_replies,
        }
        adapter = await build_apns_adapter(**(options | overrides))  # type: ignore[arg-type]
        built.append(adapter)
        return adapter

    yield make
    for adapter in built:
        await adapter.aclose()
