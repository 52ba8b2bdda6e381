"""Alipay open platform: the gateway client (RSA2 over OpenSSL) and mini-program sign-in."""

from api.platforms.alipay.gateway import AlipayGateway, AlipayOAuthToken
from api.platforms.alipay.response import AlipayError, open_response
from api.platforms.alipay.rsa2 import (
    generate_rsa_keypair,
    load_private_key,
    load_public_key,
    rsa2_sign,
    rsa2_verify,
    sign_content,
)

__all__ = [
    "AlipayError",
    "AlipayGateway",
    "AlipayOAuthToken",
    "generate_rsa_keypair",
    "load_private_key",
    "load_public_key",
    "open_response",
    "rsa2_sign",
    "rsa2_verify",
    "sign_content",
]
