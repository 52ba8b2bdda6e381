"""PKCE S256 (RFC 7636) pairs for the provincial SSO flow."""

from __future__ import annotations

import base64
import hashlib

from api.platforms.province_sso import pkce_challenge, pkce_pair


class TestPkcePair:
    def test_the_challenge_is_the_s256_of_the_verifier(self) -> None:
        # when
        verifier, challenge = pkce_pair()

        # then
        assert len(verifier) == 64
        digest = hashlib.sha256(verifier.encode()).digest()
        assert challenge == base64.urlsafe_b64encode(digest).decode().rstrip("=")
        assert pkce_pair()[0] != verifier

    def test_matches_the_example_of_rfc_7636(self) -> None:
        assert (
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
            == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        )
