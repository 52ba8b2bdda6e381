"""The IdP sandbox's signing keys: RS256 and ES256, rotatable, optionally left out of the JWKS."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
ALGORITHMS = ("RS256", "ES256")


@dataclass(frozen=True)
class SigningKey:
    kid: str
    alg: str
    private: PrivateKey
    published: bool

    def jwk(self) -> dict[str, Any]:
        public = self.private.public_key()
        if isinstance(public, rsa.RSAPublicKey):
            jwk = RSAAlgorithm.to_jwk(public, as_dict=True)
        else:
            jwk = ECAlgorithm.to_jwk(public, as_dict=True)
        return {**jwk, "kid": self.kid, "use": "sig", "alg": self.alg}


def new_private_key(alg: str) -> PrivateKey:
    if alg == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if alg == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    raise ValueError(f"unsupported algorithm {alg!r}; use one of {ALGORITHMS}")


class KeyRing:
    def __init__(self) -> None:
        self._keys: dict[str, SigningKey] = {}
        self._impostors: dict[str, PrivateKey] = {}
        for alg in ALGORITHMS:
            self.add(alg)
        self.signing_kid = next(iter(self._keys))  # RS256, the most common choice of real IdPs

    def add(self, alg: str, *, publish: bool = True) -> str:
        kid = f"{alg.lower()}-{secrets.token_hex(4)}"
        self._keys[kid] = SigningKey(kid, alg, new_private_key(alg), publish)
        return kid

    def use(self, kid: str) -> None:
        if kid not in self._keys:
            raise KeyError(kid)
        self.signing_kid = kid

    def jwks(self) -> dict[str, Any]:
        return {"keys": [key.jwk() for key in self._keys.values() if key.published]}

    def sign(self, claims: dict[str, Any], *, forged: bool = False) -> str:
        key = self._keys[self.signing_kid]
        private = key.private
        if forged:
            # Same kid and algorithm, another key: only the signature check can catch it.
            private = self._impostors.setdefault(key.alg, new_private_key(key.alg))
        return jwt.encode(claims, private, algorithm=key.alg, headers={"kid": key.kid})
