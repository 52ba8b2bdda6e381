"""Keys for development and test runs, generated on first start under var/ and never committed.

Production refuses to start without explicit keys (settings validation); this module is only used otherwise.
"""

from __future__ import annotations

import base64
import fcntl
import os
import secrets
import string
from collections.abc import Callable
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
    # The payment sandboxes' own keys: the Alipay gateway key pair, the WeChat Pay platform key pair with its
    # public-key id, and the APIv3 key.
    sandbox_alipay_private_key: str
    sandbox_alipay_public_key: str
    sandbox_wechatpay_private_key: str
    sandbox_wechatpay_public_key: str
    sandbox_wechatpay_public_key_id: str
    sandbox_wechatpay_apiv3_key: str
    # Signs sync pull cursors (sync-protocol.md §9); shared by every process on this var dir.
    sync_cursor_key: bytes


def _wechat_merchant() -> dict[str, str]:
    private, public = generate_rsa_keypair()
    return {
        "wechat_merchant_private_key": private,
        "wechat_merchant_public_key": public,
        "wechat_merchant_serial_no": secrets.token_hex(20).upper(),
    }


def _alipay_sandbox() -> dict[str, str]:
    private, public = generate_rsa_keypair()
    return {"sandbox_alipay_private_key": private, "sandbox_alipay_public_key": public}


def _wechatpay_sandbox() -> dict[str, str]:
    private, public = generate_rsa_keypair()
    alphabet = string.ascii_letters + string.digits
    return {
        "sandbox_wechatpay_private_key": private,
        "sandbox_wechatpay_public_key": public,
        "sandbox_wechatpay_public_key_id": "PUB_KEY_ID_01" + "".join(secrets.choice(string.digits) for _ in range(30)),
        "sandbox_wechatpay_apiv3_key": "".join(secrets.choice(alphabet) for _ in range(32)),
    }


def _sync_cursor() -> dict[str, str]:
    return {"sync_cursor_key": base64.b64encode(os.urandom(32)).decode()}


# Fields added after the first files were written, each group generated together (the halves of one key pair
# must never mix an old half with a new one). The sandboxes' own keys live here too, so that a standalone worker
# talks to the sandboxes of the API process with the keys they really have (payments.md §14).
_ADDED_LATER: tuple[tuple[tuple[str, ...], Callable[[], dict[str, str]]], ...] = (
    (("wechat_merchant_private_key", "wechat_merchant_public_key", "wechat_merchant_serial_no"), _wechat_merchant),
    (("sandbox_alipay_private_key", "sandbox_alipay_public_key"), _alipay_sandbox),
    (
        (
            "sandbox_wechatpay_private_key",
            "sandbox_wechatpay_public_key",
            "sandbox_wechatpay_public_key_id",
            "sandbox_wechatpay_apiv3_key",
        ),
        _wechatpay_sandbox,
    ),
    (("sync_cursor_key",), _sync_cursor),
)


def load_or_create(var_dir: Path) -> DevSecrets:
    path = var_dir / "dev-secrets.json"
    if path.exists():
        raw = orjson.loads(path.read_bytes())
        if _missing(raw):
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
        }
        for _, generate in _ADDED_LATER:
            raw |= generate()
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
        sandbox_alipay_private_key=raw["sandbox_alipay_private_key"],
        sandbox_alipay_public_key=raw["sandbox_alipay_public_key"],
        sandbox_wechatpay_private_key=raw["sandbox_wechatpay_private_key"],
        sandbox_wechatpay_public_key=raw["sandbox_wechatpay_public_key"],
        sandbox_wechatpay_public_key_id=raw["sandbox_wechatpay_public_key_id"],
        sandbox_wechatpay_apiv3_key=raw["sandbox_wechatpay_apiv3_key"],
        sync_cursor_key=base64.b64decode(raw["sync_cursor_key"]),
    )


def _missing(raw: dict[str, Any]) -> list[Callable[[], dict[str, str]]]:
    return [generate for names, generate in _ADDED_LATER if not all(raw.get(name) for name in names)]


def _fill(raw: dict[str, Any], fresh: dict[str, str]) -> dict[str, str]:
    """What `fresh` adds to `raw`: its missing fields, and both halves of a key pair when either half is missing
    (never one old half with one new)."""
    added = {name: value for name, value in fresh.items() if not raw.get(name)}
    for name, value in fresh.items():
        if name.endswith("_private_key"):
            public = name.removesuffix("_private_key") + "_public_key"
            if name in added or public in added:
                added[name], added[public] = value, fresh[public]
    return added


def _complete(path: Path) -> dict[str, Any]:
    """An older file gains the fields added since, once: under a lock, so that two processes starting at once
    (API and worker) end up with the same keys rather than one each."""
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        raw: dict[str, Any] = orjson.loads(path.read_bytes())
        missing = _missing(raw)
        if missing:
            for generate in missing:
                raw |= _fill(raw, generate())
            temporary = path.with_suffix(f".{os.getpid()}.tmp")
            temporary.write_bytes(orjson.dumps(raw, option=orjson.OPT_INDENT_2))
            os.chmod(temporary, 0o600)
            temporary.replace(path)
        return raw
