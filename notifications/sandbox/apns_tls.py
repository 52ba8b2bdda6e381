"""Throwaway key material for the APNs sandbox (§1.4): a CA, a `localhost` leaf it signs, an ES256 provider key.

Generated fresh on every start and written to the directory the caller gives, so that clients can trust only this
CA (`ssl.create_default_context(cafile=...)`, verification never disabled) and sign JWTs with the `.p8` key.
Certificate validity uses real time: TLS peers check it against the system clock, not the injected one.
"""

from __future__ import annotations

import ipaddress
import secrets
import string
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_ID_ALPHABET = string.ascii_uppercase + string.digits


@dataclass(frozen=True)
class ApnsKeyMaterial:
    ca_file: Path  # PEM of the CA that signed the leaf: the only root a client should trust
    cert_file: Path  # the `localhost` leaf (SAN DNS:localhost, IP:127.0.0.1)
    key_file: Path  # the leaf's private key
    provider_key_file: Path  # the `.p8` provider key (PKCS#8 PEM), as Apple hands it out
    provider_key_pem: str
    provider_public_key: ec.EllipticCurvePublicKey  # what the sandbox verifies provider JWTs with
    key_id: str  # the JWT `kid` the sandbox expects
    team_id: str  # the JWT `iss` the sandbox expects


def _random_id() -> str:
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(10))


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _ca(now: datetime) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name("zsb APNs sandbox throwaway CA")
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _leaf(now: datetime, ca_key: ec.EllipticCurvePrivateKey, ca: x509.Certificate) -> tuple[bytes, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    san = x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(san, critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return _pem_key(key), cert


def generate_key_material(directory: Path) -> ApnsKeyMaterial:
    """Fresh CA, leaf and provider key, written under `directory` (created if missing)."""
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    ca_key, ca = _ca(now)
    leaf_key_pem, leaf = _leaf(now, ca_key, ca)
    provider_key = ec.generate_private_key(ec.SECP256R1())
    provider_pem = _pem_key(provider_key)

    ca_file = directory / "apns-sandbox-ca.pem"
    cert_file = directory / "apns-sandbox-localhost.pem"
    key_file = directory / "apns-sandbox-localhost-key.pem"
    provider_key_file = directory / "apns-sandbox-provider-key.p8"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(leaf_key_pem)
    provider_key_file.write_bytes(provider_pem)
    for secret in (key_file, provider_key_file):
        secret.chmod(0o600)
    return ApnsKeyMaterial(
        ca_file=ca_file,
        cert_file=cert_file,
        key_file=key_file,
        provider_key_file=provider_key_file,
        provider_key_pem=provider_pem.decode("ascii"),
        provider_public_key=provider_key.public_key(),
        key_id=_random_id(),
        team_id=_random_id(),
    )
