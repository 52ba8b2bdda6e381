"""RSA2 (SHA256withRSA over OpenSSL) for Alipay: the platform's implementation, the one place it lives."""

from api.platforms.alipay.rsa2 import load_private_key, load_public_key, rsa2_sign, rsa2_verify, sign_content

__all__ = ["load_private_key", "load_public_key", "rsa2_sign", "rsa2_verify", "sign_content"]
