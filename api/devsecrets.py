"""Keys for development and test runs, generated on first start under var/ and never committed.

Production refuses to start without explicit keys (settings validation); this module is only used otherwise.
"""

from __future__ import annotations

import base64
import fcntl
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from api.identity.tokens import generate_signing_key_pem
from api.platforms.alipay import generate_rsa_keypair


@dataclass(frozen=True)
class DevSecrets:
    jwt_keys: dict[str, str]
    signing_kid: str
    pii_encryption_key: bytes
    pii_hash_key: bytes
    alipay_app_private_key: str
    alipay_app_public_key: str
    # Our WeChat Pay merchant API key (商户API私钥, PKCS#8), its public half as the console would hold it, and the
    # serial number of the merchant API certificate it stands for.
    wechat_merchant_private_key: str
    wechat_merchant_public_key: str
    wechat_merchant_serial_no: str


def _wechat_merchant() -> dict[str, str]:
    private, public = generate_rsa_keypair()
    return {
        "wechat_merchant_private_key": private,
        "wechat_merchant_public_key": public,
        "wechat_merchant_serial_no": secrets.token_hex(20).upper(),
    }


_ADDED_LATER = ("wechat_merchant_private_key", "wechat_merchant_public_key", "wechat_merchant_serial_no")


def load_or_create(var_dir: Path) -> DevSecrets:
    path = var_dir / "dev-secrets.json"
    if path.exists():
        raw = orjson.loads(path.read_bytes())
        if not all(raw.get(name) for name in _ADDED_LATER):
            raw = _complete(path)
    else:
        alipay_private, alipay_public = generate_rsa_keypair()
        raw = {
            "jwt_keys": {"dev-1": generate_signing_key_pem()},
            "signing_kid": "dev-1",
            "pii_encryption_key": base64.b64encode(os.urandom(32)).decode(),
            "pii_hash_key": base64.b64encode(os.urandom(32)).decode(),
            "alipay_app_private_key": alipay_private,
            "alipay_app_public_key": alipay_public,
            **_wechat_merchant(),
        }
        var_dir.mkdir(parents=True, exist_ok=True)
        # Written to a temporary name first: two processes starting at once must not read half a file.
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_bytes(orjson.dumps(raw, option=orjson.OPT_INDENT_2))
        os.chmod(temporary, 0o600)
        if not path.exists():
            temporary.replace(path)
        else:
            temporary.unlink()
        raw = orjson.loads(path.read_bytes())
    return DevSecrets(
        jwt_keys=dict(raw["jwt_keys"]),
        signing_kid=raw["signing_kid"],
        pii_encryption_key=base64.b64decode(raw["pii_encryption_key"]),
        pii_hash_key=base64.b64decode(raw["pii_hash_key"]),
        alipay_app_private_key=raw["alipay_app_private_key"],
        alipay_app_public_key=raw["alipay_app_public_key"],
        wechat_merchant_private_key=raw["wechat_merchant_private_key"],
        wechat_merchant_public_key=raw["wechat_merchant_public_key"],
        wechat_merchant_serial_no=raw["wechat_merchant_serial_no"],
    )


def _complete(path: Path) -> dict[str, Any]:
    """An older file gains the fields added since, once: under a lock, so that two processes starting at once
    (API and worker) end up with the same keys rather than one each."""
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        raw: dict[str, Any] = orjson.loads(path.read_bytes())
        if not all(raw.get(name) for name in _ADDED_LATER):
            fresh = _wechat_merchant()
            if not raw.get("wechat_merchant_private_key") or not raw.get("wechat_merchant_public_key"):
                # The two halves of one key pair: never one old half with one new.
                raw["wechat_merchant_private_key"] = fresh["wechat_merchant_private_key"]
                raw["wechat_merchant_public_key"] = fresh["wechat_merchant_public_key"]
            if not raw.get("wechat_merchant_serial_no"):
                raw["wechat_merchant_serial_no"] = fresh["wechat_merchant_serial_no"]
            temporary = path.with_suffix(f".{os.getpid()}.tmp")
            temporary.write_bytes(orjson.dumps(raw, option=orjson.OPT_INDENT_2))
            os.chmod(temporary, 0o600)
            temporary.replace(path)
        return raw
