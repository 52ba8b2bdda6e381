"""The APNs sandbox's own checks over real HTTP/2 (httpx negotiates h2 by ALPN), its control app and its CLI."""

from __future__ import annotations

import asyncio
import json
import ssl
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import jwt
import pytest

from api.kit.clock import SettableClock
from notifications.sandbox.apns import ApnsSandbox
from tests.notifications.apns.conftest import AdapterFactory
from tests.notifications.apns.support import NOW, TOPIC, foreign_key_pem, message, valid_token


@pytest.fixture
async def h2(apns: ApnsSandbox) -> AsyncIterator[httpx.AsyncClient]:
    context = ssl.create_default_context(cafile=str(apns.ca_file))
    async with httpx.AsyncClient(http2=True, verify=context, base_url=f"https://localhost:{apns.port}") as client:
        yield client


def bearer(apns: ApnsSandbox, *, key: str | None = None, iat: float | None = None, kid: str | None = None) -> str:
    claims = {"iss": apns.team_id, "iat": int(iat if iat is not None else time.time())}
    token = jwt.encode(claims, key or apns.provider_key_pem, algorithm="ES256", headers={"kid": kid or apns.key_id})
    return f"bearer {token}"


def headers(apns: ApnsSandbox, **overrides: str | None) -> dict[str, str]:
    values: dict[str, str | None] = {
        "authorization": bearer(apns),
        "apns-topic": TOPIC,
        "apns-id": "6E0B1E3A-2F4B-4C1D-9A55-000000000001",
    }
    values |= overrides
    return {name: value for name, value in values.items() if value is not None}


BODY = b'{"aps":{"alert":"hi"}}'


class TestProviderChecks:
    async def test_a_valid_request_gets_an_empty_200_over_h2_with_its_apns_id(
        self, apns: ApnsSandbox, h2: httpx.AsyncClient
    ) -> None:
        response = await h2.post(f"/3/device/{valid_token()}", headers=headers(apns), content=BODY)

        assert (response.http_version, response.status_code, response.content) == ("HTTP/2", 200, b"")
        assert response.headers["apns-id"] == "6E0B1E3A-2F4B-4C1D-9A55-000000000001"

    @pytest.mark.parametrize(
        ("override", "reason"),
        [
            ({"authorization": None}, "MissingProviderToken"),
            ({"authorization": "bearer not-a-jwt"}, "InvalidProviderToken"),
            ({"authorization": "foreign"}, "InvalidProviderToken"),
            ({"authorization": "wrong-kid"}, "InvalidProviderToken"),
            ({"authorization": "old"}, "ExpiredProviderToken"),
        ],
    )
    async def test_provider_token_problems_are_403(
        self, apns: ApnsSandbox, h2: httpx.AsyncClient, override: dict[str, str | None], reason: str
    ) -> None:
        special = {
            "foreign": bearer(apns, key=foreign_key_pem()),
            "wrong-kid": bearer(apns, kid="ABCDEFGHIJ"),
            "old": bearer(apns, iat=time.time() - 3700),
        }
        value = override["authorization"]
        sent = headers(apns, authorization=special.get(value, value) if value else None)

        response = await h2.post(f"/3/device/{valid_token()}", headers=sent, content=BODY)

        assert (response.status_code, response.json()) == (403, {"reason": reason})
        [recorded] = apns.requests()
        assert (recorded["status"], recorded["reason"]) == (403, reason)

    async def test_a_missing_topic_is_400(self, apns: ApnsSandbox, h2: httpx.AsyncClient) -> None:
        response = await h2.post(
            f"/3/device/{valid_token()}", headers=headers(apns, **{"apns-topic": None}), content=BODY
        )

        assert (response.status_code, response.json()) == (400, {"reason": "MissingTopic"})

    async def test_a_body_over_4096_bytes_is_413(self, apns: ApnsSandbox, h2: httpx.AsyncClient) -> None:
        body = json.dumps({"aps": {"alert": "x" * 4100}}).encode()

        response = await h2.post(f"/3/device/{valid_token()}", headers=headers(apns), content=body)

        assert (response.status_code, response.json()) == (413, {"reason": "PayloadTooLarge"})

    async def test_410_carries_the_injected_clock_in_milliseconds(
        self, apns: ApnsSandbox, h2: httpx.AsyncClient
    ) -> None:
        response = await h2.post("/3/device/gone09", headers=headers(apns), content=BODY)

        assert response.status_code == 410
        assert response.json() == {"reason": "Unregistered", "timestamp": int(NOW.timestamp() * 1000)}

    async def test_a_request_without_apns_id_gets_one(self, apns: ApnsSandbox, h2: httpx.AsyncClient) -> None:
        response = await h2.post(f"/3/device/{valid_token()}", headers=headers(apns, **{"apns-id": None}), content=BODY)

        assert response.status_code == 200
        assert response.headers["apns-id"] == apns.requests()[0]["apnsId"] != ""


class TestScript:
    def test_a_malformed_step_is_refused_and_nothing_is_scripted(self, apns: ApnsSandbox) -> None:
        with pytest.raises(ValueError, match="delayMs"):
            apns.script("flaky09", [500, {"delayMs": -1}])

        assert apns.scripts() == {}


class TestControlApp:
    @pytest.fixture
    async def control(self, apns: ApnsSandbox) -> AsyncIterator[httpx.AsyncClient]:
        transport = httpx.ASGITransport(app=apns.control_app())
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
            yield client

    async def test_requests_are_listed_filtered_by_token_and_cleared(
        self, apns: ApnsSandbox, make_adapter: AdapterFactory, control: httpx.AsyncClient
    ) -> None:
        adapter = await make_adapter()
        await adapter.send([message("bad07"), message(valid_token())])

        everything = (await control.get("/_control/requests")).json()
        only_bad = (await control.get("/_control/requests", params={"token": "bad07"})).json()
        cleared = await control.delete("/_control/requests")

        assert len(everything) == 2
        assert [(r["token"], r["status"], r["reason"]) for r in only_bad] == [("bad07", 400, "BadDeviceToken")]
        assert cleared.status_code == 204
        assert apns.requests() == []

    async def test_a_posted_script_answers_the_next_requests_of_its_token(
        self, apns: ApnsSandbox, make_adapter: AdapterFactory, control: httpx.AsyncClient
    ) -> None:
        adapter = await make_adapter()
        script = {"token": "flaky05", "sequence": [{"status": 500, "reason": "InternalServerError"}, {"status": 200}]}

        posted = await control.post("/_control/script", json=script)
        outcomes = [(await adapter.send([message("flaky05")]))[0].outcome for _ in range(2)]

        assert posted.status_code == 201
        assert outcomes == ["retry", "sent"]
        assert (await control.get("/_control/script")).json() == {}

    async def test_a_malformed_script_is_400_and_changes_nothing(
        self, apns: ApnsSandbox, control: httpx.AsyncClient
    ) -> None:
        response = await control.post("/_control/script", json={"token": "flaky06", "sequence": [{"status": "500"}]})

        assert response.status_code == 400
        assert "status" in response.json()["error"]
        assert apns.scripts() == {}

    async def test_deleting_scripts_clears_them(self, apns: ApnsSandbox, control: httpx.AsyncClient) -> None:
        apns.script("flaky07", [500])
        apns.script("flaky08", [{"noAnswer": True}, {"goaway": True}])

        one = await control.delete("/_control/script", params={"token": "flaky07"})
        remaining = set(apns.scripts())
        every = await control.delete("/_control/script")

        assert (one.status_code, remaining, every.status_code, apns.scripts()) == (204, {"flaky08"}, 204, {})


class TestSeparateProcess:
    async def test_the_cli_prints_its_keys_and_serves_until_terminated(
        self, make_adapter: AdapterFactory, tmp_path: Path
    ) -> None:
        args = ["-m", "notifications.sandbox.apns", "--port", "0", "--dir", str(tmp_path), "--control-port", "0"]
        process = await asyncio.create_subprocess_exec(sys.executable, *args, stdout=asyncio.subprocess.PIPE)
        try:
            assert process.stdout is not None
            info = json.loads(await asyncio.wait_for(process.stdout.readline(), 30))
            adapter = await make_adapter(
                port=info["port"],
                topic=info["topic"],
                key_pem=info["providerKeyPem"],
                key_id=info["keyId"],
                team_id=info["teamId"],
                ca_file=info["caFile"],
            )
            [result] = await adapter.send([message(valid_token())])
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{info['controlPort']}") as control:
                recorded = (await control.get("/_control/requests")).json()
        finally:
            process.terminate()
            returncode = await asyncio.wait_for(process.wait(), 30)

        assert result.outcome == "sent"
        assert [r["status"] for r in recorded] == [200]
        assert returncode == 0


class TestRequestLog:
    async def test_every_request_is_appended_as_a_json_line(
        self, apns_clock: SettableClock, make_adapter: AdapterFactory, tmp_path: Path
    ) -> None:
        log_path = tmp_path / "apns.jsonl"
        sandbox = ApnsSandbox(apns_clock, directory=tmp_path, topic=TOPIC, log_path=log_path)
        await sandbox.start()
        try:
            adapter = await make_adapter(
                port=sandbox.port,
                key_pem=sandbox.provider_key_pem,
                key_id=sandbox.key_id,
                team_id=sandbox.team_id,
                ca_file=str(sandbox.ca_file),
            )
            await adapter.send([message("gone05"), message("bad05")])
        finally:
            await sandbox.stop()

        lines = [json.loads(line) for line in log_path.read_text(encoding="utf-8").splitlines()]
        assert sorted((line["token"], line["status"]) for line in lines) == [("bad05", 400), ("gone05", 410)]
        assert lines == sandbox.requests()
