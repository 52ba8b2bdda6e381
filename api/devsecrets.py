"""Keys for development and test runs, generated on first start under var/ and never committed.

Production refuses to start without explicit keys (settings validation); this module is only used otherwise.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from pathlib import Path

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


def load_or_create(var_dir: Path) -> DevSecrets:
    path = var_dir / "dev-secrets.json"
    if path.exists():
        raw = orjson.loads(path.read_bytes())
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
    )
