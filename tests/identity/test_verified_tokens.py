"""The bounded cache of verified access tokens in front of TokenService.verify (pure, no server)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from api.identity.tokens import AccessClaims, TokenService, VerifiedTokens, generate_signing_key_pem
from api.kit.clock import ShiftableClock
from api.kit.errors import Unauthenticated


class CountingTokens(TokenService):
    def __init__(self, clock: ShiftableClock) -> None:
        super().__init__(
            keys_pem={"k1": generate_signing_key_pem()},
            signing_kid="k1",
            issuer="zsb",
            audience="zsb-api",
            ttl=timedelta(minutes=15),
            clock=clock,
        )
        self.verified = 0

    def verify(self, token: str) -> AccessClaims:
        self.verified += 1
        return super().verify(token)


def _token(tokens: TokenService) -> str:
    subject = uuid.uuid4()
    return tokens.issue(AccessClaims(subject, "citizen", uuid.uuid4(), 1, tokens.expiry_from_now()))


class TestVerifiedTokens:
    def test_checks_a_signature_once_and_answers_the_same_claims_after(self) -> None:
        clock = ShiftableClock()
        tokens = CountingTokens(clock)
        cache = VerifiedTokens(tokens, clock)
        token = _token(tokens)
        first, second = cache.verify(token), cache.verify(token)
        assert first == second == tokens.verify(token)
        assert tokens.verified == 2  # the cache's one check, and the direct call above

    def test_refuses_a_remembered_token_once_it_expires(self) -> None:
        clock = ShiftableClock()
        tokens = CountingTokens(clock)
        cache = VerifiedTokens(tokens, clock)
        token = _token(tokens)
        cache.verify(token)
        clock.advance(timedelta(minutes=15))
        with pytest.raises(Unauthenticated, match="access token expired"):
            cache.verify(token)
        with pytest.raises(Unauthenticated, match="access token expired"):
            cache.verify(token)
        assert tokens.verified == 2  # forgotten once expired, so the second refusal is a full check

    def test_never_remembers_a_refused_token(self) -> None:
        clock = ShiftableClock()
        tokens = CountingTokens(clock)
        cache = VerifiedTokens(tokens, clock)
        head, payload, _ = _token(tokens).split(".")
        forged = f"{head}.{payload}.{'A' * 86}"
        for _ in range(2):
            with pytest.raises(Unauthenticated):
                cache.verify(forged)
        assert tokens.verified == 2

    def test_holds_at_most_maxsize_tokens_dropping_the_least_recently_used(self) -> None:
        clock = ShiftableClock()
        tokens = CountingTokens(clock)
        cache = VerifiedTokens(tokens, clock, maxsize=2)
        a, b, c = _token(tokens), _token(tokens), _token(tokens)
        cache.verify(a)
        cache.verify(b)
        cache.verify(a)  # a is now the most recently used
        cache.verify(c)  # evicts b
        assert tokens.verified == 3
        cache.verify(a)
        assert tokens.verified == 3
        cache.verify(b)
        assert tokens.verified == 4
