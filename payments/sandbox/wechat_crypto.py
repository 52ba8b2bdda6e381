"""WeChat Pay v3's cryptography, as the platform side does it: RSA-SHA256 message signatures, the Authorization
header scheme and AEAD_AES_256_GCM notify resources. OpenSSL through `cryptography`."""

from __future__ import annotations

import base64
import binascii
import re
import secrets
import string
from collections.abc import Mapping

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
PROBE_PREFIX = "WECHATPAY/SIGNTEST/"
_AUTH_PAIR = re.compile(r'\s*([a-z_]+)="([^"]*)"\s*(?:,|$)')
_ALNUM = string.ascii_letters + string.digits


def generate_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )


def load_public_pem(pem: str) -> rsa.RSAPublicKey:
    key = serialization.load_pem_public_key(pem.encode("ascii"))
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("the merchant public key must be RSA")
    return key


def random_text(length: int) -> str:
    return "".join(secrets.choice(_ALNUM) for _ in range(length))


def message(*parts: str) -> bytes:
    """WeChat's signed message: every part followed by a newline."""
    return "".join(f"{part}\n" for part in parts).encode("utf-8")


def sign(key: rsa.RSAPrivateKey, *parts: str) -> str:
    return base64.b64encode(key.sign(message(*parts), padding.PKCS1v15(), hashes.SHA256())).decode("ascii")


def verify(key: rsa.RSAPublicKey, signature: str, *parts: str) -> bool:
    try:
        key.verify(base64.b64decode(signature, validate=True), message(*parts), padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def parse_authorization(header: str) -> dict[str, str] | None:
    """`WECHATPAY2-SHA256-RSA2048 mchid="…",nonce_str="…",signature="…",timestamp="…",serial_no="…"`."""
    scheme, _, rest = header.partition(" ")
    if scheme != SIGNATURE_TYPE:
        return None
    fields: dict[str, str] = {}
    position = 0
    while position < len(rest):
        match = _AUTH_PAIR.match(rest, position)
        if match is None or match.end() == position:
            return None
        fields[match.group(1)] = match.group(2)
        position = match.end()
    required = ("mchid", "nonce_str", "signature", "timestamp", "serial_no")
    return fields if all(fields.get(name) for name in required) else None


def signed_headers(
    key: rsa.RSAPrivateKey,
    serial: str,
    timestamp: int,
    body: str,
    *,
    mis_sign: bool = False,
    probe: bool = False,
) -> dict[str, str]:
    """The Wechatpay-* headers of an answer or a notify. `mis_sign`: a well-formed signature over other content;
    `probe`: WeChat's WECHATPAY/SIGNTEST/ signature, which the merchant must refuse."""
    nonce = random_text(32)
    if probe:
        signature = PROBE_PREFIX + base64.b64encode(secrets.token_bytes(64)).decode("ascii")
    else:
        signature = sign(key, str(timestamp), nonce, body + (" " if mis_sign else ""))
    return {
        "Wechatpay-Timestamp": str(timestamp),
        "Wechatpay-Nonce": nonce,
        "Wechatpay-Signature": signature,
        "Wechatpay-Serial": serial,
        "Wechatpay-Signature-Type": SIGNATURE_TYPE,
    }


def encrypt_resource(apiv3_key: str, plaintext: str, associated_data: str, original_type: str) -> dict[str, str]:
    nonce = random_text(12)
    sealed = AESGCM(apiv3_key.encode("utf-8")).encrypt(
        nonce.encode("ascii"), plaintext.encode("utf-8"), associated_data.encode("utf-8")
    )
    return {
        "original_type": original_type,
        "algorithm": "AEAD_AES_256_GCM",
        "ciphertext": base64.b64encode(sealed).decode("ascii"),
        "associated_data": associated_data,
        "nonce": nonce,
    }


def apply_header_overrides(headers: Mapping[str, str], overrides: Mapping[str, str | None] | None) -> dict[str, str]:
    """`overrides` replace headers case-insensitively; a None value removes the header."""
    result = dict(headers)
    for name, value in (overrides or {}).items():
        for existing in [k for k in result if k.lower() == name.lower()]:
            del result[existing]
        if value is not None:
            result[name] = value
    return result
