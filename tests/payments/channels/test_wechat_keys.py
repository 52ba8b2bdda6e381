"""WeChat Pay keys: make_wechat_client refuses bad settings at start-up, and devsecrets provides dev merchant keys."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from api import devsecrets
from api.platforms.alipay import generate_rsa_keypair, load_private_key, load_public_key
from payments.channels.wechat_pay import make_wechat_client
from payments.sandbox.wechat_crypto import generate_key, public_pem


@pytest.fixture(scope="module")
def keys() -> dict[str, str]:
    merchant_private, _ = generate_rsa_keypair()
    return {"merchant": merchant_private, "platform": public_pem(generate_key())}


def _settings(keys: dict[str, str], **overrides: Any) -> dict[str, Any]:
    return {
        "mchid": "1900000001",
        "appid": "wx-keys",
        "merchant_private_key_pem": keys["merchant"],
        "merchant_serial_no": "ABCDEF0123456789",
        "apiv3_key": "0123456789abcdef0123456789abcdef",
        "public_key_pem": keys["platform"],
        "public_key_id": "PUB_KEY_ID_0100000000000000000000000000000001",
        "notify_url": "https://zsb.invalid/pay/notify/wechat",
        "gateway_url": "https://api.mch.weixin.qq.com",
    } | overrides


def _pkcs1(pem: str) -> str:
    return (
        load_private_key(pem)
        .private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
        .decode()
    )


def _small_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 - the key refused
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


class TestMakeWechatClient:
    def test_good_settings_make_a_client(self, keys: dict[str, str]) -> None:
        wx = make_wechat_client(**_settings(keys))
        assert wx._core._public_key_id == "PUB_KEY_ID_0100000000000000000000000000000001"

    @pytest.mark.parametrize(
        ("overrides", "message"),
        [
            ({"apiv3_key": "0123456789abcdef0123456789abcde"}, "APIv3 key must be 32 bytes"),
            ({"public_key_id": "0100000000"}, "must start with PUB_KEY_ID_"),
            ({"public_key_pem": "-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----"}, "cannot be read"),
            ({"merchant_serial_no": ""}, "are required"),
            ({"notify_url": ""}, "notify URL and gateway URL are required"),
            ({"gateway_url": ""}, "notify URL and gateway URL are required"),
        ],
    )
    def test_bad_settings_stop_the_start(self, keys: dict[str, str], overrides: dict[str, str], message: str) -> None:
        with pytest.raises(ValueError, match=re.escape(message)):
            make_wechat_client(**_settings(keys, **overrides))

    def test_a_pkcs1_merchant_key_is_refused_with_a_clear_message(self, keys: dict[str, str]) -> None:
        with pytest.raises(ValueError, match=re.escape("must be a PKCS#8 PEM (BEGIN PRIVATE KEY)")):
            make_wechat_client(**_settings(keys, merchant_private_key_pem=_pkcs1(keys["merchant"])))

    def test_a_short_merchant_key_is_refused(self, keys: dict[str, str]) -> None:
        with pytest.raises(ValueError, match="RSA of 2048 bits or more"):
            make_wechat_client(**_settings(keys, merchant_private_key_pem=_small_key()))


class TestDevSecrets:
    def test_a_new_file_has_a_wechat_merchant_key_pair_and_serial(self, tmp_path: Path) -> None:
        # when
        secrets = devsecrets.load_or_create(tmp_path)

        # then
        assert secrets.wechat_merchant_private_key.startswith("-----BEGIN PRIVATE KEY-----")  # PKCS#8
        assert re.fullmatch(r"[0-9A-F]{40}", secrets.wechat_merchant_serial_no)
        _assert_pair(secrets.wechat_merchant_private_key, secrets.wechat_merchant_public_key)
        assert devsecrets.load_or_create(tmp_path) == secrets

    def test_an_older_file_gains_the_wechat_fields_and_keeps_the_rest(self, tmp_path: Path) -> None:
        # given a file written before WeChat Pay existed
        path = tmp_path / "dev-secrets.json"
        devsecrets.load_or_create(tmp_path)
        old = orjson.loads(path.read_bytes())
        for name in ("wechat_merchant_private_key", "wechat_merchant_public_key", "wechat_merchant_serial_no"):
            del old[name]
        path.write_bytes(orjson.dumps(old))

        # when
        secrets = devsecrets.load_or_create(tmp_path)

        # then
        stored = orjson.loads(path.read_bytes())
        assert {k: stored[k] for k in old} == old
        assert stored["wechat_merchant_serial_no"] == secrets.wechat_merchant_serial_no
        assert stored["wechat_merchant_private_key"] == secrets.wechat_merchant_private_key
        _assert_pair(secrets.wechat_merchant_private_key, secrets.wechat_merchant_public_key)
        assert devsecrets.load_or_create(tmp_path) == secrets

    def test_a_file_missing_only_the_serial_keeps_its_key_pair(self, tmp_path: Path) -> None:
        # given
        path = tmp_path / "dev-secrets.json"
        before = devsecrets.load_or_create(tmp_path)
        old = orjson.loads(path.read_bytes())
        del old["wechat_merchant_serial_no"]
        path.write_bytes(orjson.dumps(old))

        # when
        after = devsecrets.load_or_create(tmp_path)

        # then
        assert after.wechat_merchant_private_key == before.wechat_merchant_private_key
        assert after.wechat_merchant_serial_no != before.wechat_merchant_serial_no
        assert re.fullmatch(r"[0-9A-F]{40}", after.wechat_merchant_serial_no)


def _assert_pair(private_pem: str, public_pem_text: str) -> None:
    signature = load_private_key(private_pem).sign(b"m", padding.PKCS1v15(), hashes.SHA256())
    load_public_key(public_pem_text).verify(signature, b"m", padding.PKCS1v15(), hashes.SHA256())
