"""RSA2 primitives and the opening of gateway replies (no network)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from api.platforms.alipay import (
    AlipayError,
    generate_rsa_keypair,
    load_private_key,
    load_public_key,
    open_response,
    rsa2_sign,
    rsa2_verify,
    sign_content,
)
from api.platforms.alipay.response import top_level_spans


@pytest.fixture(scope="module")
def keypair() -> tuple[rsa.RSAPrivateKey, rsa.RSAPublicKey]:
    private_pem, public_pem = generate_rsa_keypair()
    return load_private_key(private_pem), load_public_key(public_pem)


@pytest.fixture(scope="module")
def other_public_key() -> rsa.RSAPublicKey:
    return load_public_key(generate_rsa_keypair()[1])


def _body(pem: str) -> str:
    return "".join(line for line in pem.strip().splitlines() if not line.startswith("-----"))


class TestSignContent:
    def test_sorts_and_leaves_out_sign_and_blank_values(self) -> None:
        params = {
            "method": "m",
            "app_id": "1",
            "sign": "s",
            "biz_content": "",
            "sign_type": "RSA2",
            "a": "x=y&z",
        }
        assert sign_content(params) == "a=x=y&z&app_id=1&method=m&sign_type=RSA2"


class TestGenerateRsaKeypair:
    def test_gives_a_matching_2048_bit_pair_in_pem(self) -> None:
        # when
        private_pem, public_pem = generate_rsa_keypair()

        # then
        assert private_pem.startswith("-----BEGIN PRIVATE KEY-----")
        assert public_pem.startswith("-----BEGIN PUBLIC KEY-----")
        private, public = load_private_key(private_pem), load_public_key(public_pem)
        assert private.key_size == 2048
        assert rsa2_verify(public, "content", rsa2_sign(private, "content"))


class TestLoadPrivateKey:
    def test_reads_pkcs1_pkcs8_and_the_bare_console_body(
        self, keypair: tuple[rsa.RSAPrivateKey, rsa.RSAPublicKey]
    ) -> None:
        # given the same key in the three forms Alipay users meet
        private = keypair[0]
        pkcs8 = private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        pkcs1 = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        ).decode()

        # when
        loaded = [load_private_key(text) for text in (pkcs8, pkcs1, _body(pkcs8))]

        # then
        assert {key.private_numbers().d for key in loaded} == {private.private_numbers().d}

    def test_refuses_short_non_rsa_and_garbage_keys(self) -> None:
        short = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 (the point)
        ec_key = ec.generate_private_key(ec.SECP256R1())
        for key in (short, ec_key):
            pem = key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ).decode()
            with pytest.raises(ValueError, match="RSA of 2048 bits"):
                load_private_key(pem)
        with pytest.raises(ValueError, match="cannot be read"):
            load_private_key("not a key")


class TestLoadPublicKey:
    def test_reads_pem_and_the_bare_console_body(self, keypair: tuple[rsa.RSAPrivateKey, rsa.RSAPublicKey]) -> None:
        pem = (
            keypair[1]
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )
        assert load_public_key(_body(pem)).public_numbers() == keypair[1].public_numbers()

    def test_refuses_garbage(self) -> None:
        with pytest.raises(ValueError, match="cannot be read"):
            load_public_key("-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----")


class TestRsa2Verify:
    def test_accepts_only_the_signed_content_under_the_right_key(
        self, keypair: tuple[rsa.RSAPrivateKey, rsa.RSAPublicKey], other_public_key: rsa.RSAPublicKey
    ) -> None:
        # given
        private, public = keypair
        signature = rsa2_sign(private, "总金额=0.01")

        # then
        assert rsa2_verify(public, "总金额=0.01", signature)
        assert not rsa2_verify(public, "总金额=0.02", signature)
        assert not rsa2_verify(other_public_key, "总金额=0.01", signature)
        assert not rsa2_verify(public, "总金额=0.01", "not base64!")
        assert not rsa2_verify(public, "总金额=0.01", base64.b64encode(b"short").decode())


class TestTopLevelSpans:
    def test_finds_members_by_tokens_not_by_text(self) -> None:
        # given a value that contains the text of a later member's name
        raw = '{ "a" : "\\"b\\":{}" , "b":{"x":[1,{"y":"}"}]} ,"sign":"s"}'

        # when
        spans = top_level_spans(raw)

        # then
        assert raw[slice(*spans["b"])] == '{"x":[1,{"y":"}"}]}'
        assert json.loads(raw[slice(*spans["a"])]) == '"b":{}'

    @pytest.mark.parametrize("raw", ["[]", '{"a":1', '{"a":1}x', '{"a" 1}', "{a:1}", ""])
    def test_refuses_what_is_not_one_json_object(self, raw: str) -> None:
        with pytest.raises(ValueError):  # noqa: PT011 (json's own errors carry no stable message)
            top_level_spans(raw)


def _reply(private: rsa.RSAPrivateKey, name: str, node_json: str, *, signed_over: str | None = None) -> str:
    sign = rsa2_sign(private, node_json if signed_over is None else signed_over)
    return f'{{"{name}":{node_json},"sign":"{sign}"}}'


class TestOpenResponse:
    METHOD = "alipay.trade.query"

    def test_returns_a_verified_success_node_as_sent(self, keypair: tuple[rsa.RSAPrivateKey, rsa.RSAPublicKey]) -> None:
        # given a node serialised with spaces and non-ASCII text, signed over those exact bytes
        node_json = '{"code": "10000", "msg": "Success", "subject": "办证费"}'
        raw = _reply(keypair[0], "alipay_trade_query_response", node_json)

        # when
        node = open_response(raw, self.METHOD, keypair[1])

        # then
        assert node == {"code": "10000", "msg": "Success", "subject": "办证费"}

    def test_a_business_failure_raises_with_alipays_codes(
        self, keypair: tuple[rsa.RSAPrivateKey, rsa.RSAPublicKey]
    ) -> None:
        node_json = '{"code":"40004","msg":"Business Failed","sub_code":"ACQ.TRADE_NOT_EXIST","sub_msg":"交易不存在"}'
        with pytest.raises(AlipayError) as caught:
            open_response(_reply(keypair[0], "alipay_trade_query_response", node_json), self.METHOD, keypair[1])
        error = caught.value
        assert (error.code, error.alipay_code, error.sub_code) == (
            "ALIPAY_ACQ_TRADE_NOT_EXIST",
            "40004",
            "ACQ.TRADE_NOT_EXIST",
        )
        assert error.message == "Alipay: 交易不存在"

    def test_an_unsigned_error_is_trusted_as_a_failure(
        self, keypair: tuple[rsa.RSAPrivateKey, rsa.RSAPublicKey]
    ) -> None:
        raw = '{"error_response":{"code":"20000","msg":"Service Currently Unavailable"}}'
        with pytest.raises(AlipayError) as caught:
            open_response(raw, self.METHOD, keypair[1])
        assert (caught.value.code, caught.value.alipay_code) == ("ALIPAY_20000", "20000")

    @pytest.mark.parametrize(
        "raw_of",
        [
            pytest.param(lambda k: '{"alipay_trade_query_response":{"code":"10000"}}', id="unsigned success"),
            pytest.param(
                lambda k: _reply(k, "alipay_trade_query_response", '{"code":"10000"}', signed_over='{"code":"1"}'),
                id="mis-signed success",
            ),
            pytest.param(
                lambda k: _reply(k, "error_response", '{"code":"40004"}', signed_over="other"),
                id="mis-signed error",
            ),
            pytest.param(lambda k: _reply(k, "another_response", '{"code":"10000"}'), id="another method's node"),
        ],
    )
    def test_an_untrusted_reply_is_a_bad_signature(
        self, keypair: tuple[rsa.RSAPrivateKey, rsa.RSAPublicKey], raw_of: Callable[[rsa.RSAPrivateKey], str]
    ) -> None:
        with pytest.raises(AlipayError) as caught:
            open_response(raw_of(keypair[0]), self.METHOD, keypair[1])
        assert caught.value.code == "ALIPAY_BAD_SIGNATURE"

    def test_a_reply_signed_by_someone_else_is_a_bad_signature(
        self, keypair: tuple[rsa.RSAPrivateKey, rsa.RSAPublicKey], other_public_key: rsa.RSAPublicKey
    ) -> None:
        raw = _reply(keypair[0], "alipay_trade_query_response", '{"code":"10000"}')
        with pytest.raises(AlipayError) as caught:
            open_response(raw, self.METHOD, other_public_key)
        assert caught.value.code == "ALIPAY_BAD_SIGNATURE"
