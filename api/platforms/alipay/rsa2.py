"""Alipay RSA2: SHA256withRSA, PKCS#1 v1.5, through OpenSSL (`cryptography`).

PKCS#1 v1.5 is deterministic, so these signatures are byte-for-byte those of Alipay's SDKs.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

MIN_KEY_BITS = 2048


def sign_content(params: Mapping[str, str]) -> str:
    """Alipay's request sign content: `k=v` sorted by key, joined by `&`; `sign` and empty values left out."""
    return "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k != "sign" and v != "")


def load_private_key(text: str) -> rsa.RSAPrivateKey:
    """PEM (PKCS#1 or PKCS#8) or the bare base64 body that Alipay's console shows."""
    try:
        text = text.strip()
        if text.startswith("-----"):
            key = serialization.load_pem_private_key(text.encode(), password=None)
        else:
            key = serialization.load_der_private_key(base64.b64decode(text), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm, binascii.Error) as exc:
        raise ValueError("the Alipay app private key cannot be read") from exc
    if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < MIN_KEY_BITS:
        raise ValueError(f"the Alipay app private key must be RSA of {MIN_KEY_BITS} bits or more")
    return key


def load_public_key(text: str) -> rsa.RSAPublicKey:
    """PEM (SubjectPublicKeyInfo) or the bare base64 body that Alipay's console shows."""
    try:
        text = text.strip()
        if text.startswith("-----"):
            key = serialization.load_pem_public_key(text.encode())
        else:
            key = serialization.load_der_public_key(base64.b64decode(text))
    except (ValueError, TypeError, UnsupportedAlgorithm, binascii.Error) as exc:
        raise ValueError("the Alipay public key cannot be read") from exc
    if not isinstance(key, rsa.RSAPublicKey) or key.key_size < MIN_KEY_BITS:
        raise ValueError(f"the Alipay public key must be RSA of {MIN_KEY_BITS} bits or more")
    return key


def rsa2_sign(key: rsa.RSAPrivateKey, content: str) -> str:
    raw = key.sign(content.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(raw).decode("ascii")


def rsa2_verify(key: rsa.RSAPublicKey, content: str, signature: str) -> bool:
    try:
        raw = base64.b64decode(signature, validate=True)
        key.verify(raw, content.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def generate_rsa_keypair(bits: int = MIN_KEY_BITS) -> tuple[str, str]:
    """A fresh (PKCS#8 private PEM, SubjectPublicKeyInfo public PEM) pair, the formats Alipay's tools emit."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private_pem, public_pem
