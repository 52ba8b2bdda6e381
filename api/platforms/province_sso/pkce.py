"""PKCE (RFC 7636), S256 only: `plain` hands the verifier to whoever sees the authorization request."""

from __future__ import annotations

import base64
import hashlib
import secrets


def pkce_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def pkce_pair() -> tuple[str, str]:
    """A fresh (code_verifier, S256 code_challenge); 64 URL-safe characters (the RFC allows 43 to 128)."""
    verifier = secrets.token_urlsafe(48)
    return verifier, pkce_challenge(verifier)
