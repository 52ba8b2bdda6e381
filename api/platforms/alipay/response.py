"""Opening an Alipay gateway reply: cut out the signed node exactly as sent, verify it, classify it."""

from __future__ import annotations

import json
import re
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from api.kit.errors import ProviderError
from api.platforms.alipay.rsa2 import rsa2_verify

SUCCESS_CODE = "10000"
_DECODER = json.JSONDecoder()
_WHITESPACE = re.compile(r"[ \t\n\r]*")


class AlipayError(ProviderError):
    """Alipay refused, failed or could not be trusted; Alipay's own codes are kept for finer decisions."""

    def __init__(
        self,
        message: str,
        *,
        code: str,
        alipay_code: str | None = None,
        sub_code: str | None = None,
        node: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message, code=code)
        self.alipay_code = alipay_code
        self.sub_code = sub_code
        self.node = node


def node_name(method: str) -> str:
    return method.replace(".", "_") + "_response"


def top_level_spans(raw: str) -> dict[str, tuple[int, int]]:
    """Where each top-level member's value lies in `raw`.

    Alipay signs the node's bytes as sent, so the node is cut out of the raw text, never re-serialised.
    Walking the JSON tokens (not searching for the key's text) cannot be fooled by the key inside a value.
    """
    spans: dict[str, tuple[int, int]] = {}
    pos = _skip(raw, 0)
    if raw[pos : pos + 1] != "{":
        raise ValueError("not a JSON object")
    pos = _skip(raw, pos + 1)
    if raw[pos : pos + 1] == "}":
        return spans
    while True:
        if raw[pos : pos + 1] != '"':
            raise ValueError("expected a member name")
        key, pos = _DECODER.raw_decode(raw, pos)
        pos = _skip(raw, pos)
        if raw[pos : pos + 1] != ":":
            raise ValueError("expected ':'")
        start = _skip(raw, pos + 1)
        _, end = _DECODER.raw_decode(raw, start)
        spans[key] = (start, end)
        pos = _skip(raw, end)
        if raw[pos : pos + 1] == "}":
            if _skip(raw, pos + 1) != len(raw):
                raise ValueError("data after the JSON object")
            return spans
        if raw[pos : pos + 1] != ",":
            raise ValueError("expected ',' or '}'")
        pos = _skip(raw, pos + 1)


def _skip(raw: str, pos: int) -> int:
    match = _WHITESPACE.match(raw, pos)
    return match.end() if match else pos


def is_success(node: dict[str, Any]) -> bool:
    # `alipay.system.oauth.token` answers success without any `code`; failures always carry one.
    return not node.get("sub_code") and str(node.get("code", SUCCESS_CODE)) == SUCCESS_CODE


def open_response(raw: str, method: str, alipay_public_key: rsa.RSAPublicKey) -> dict[str, Any]:
    """The verified `<method>_response` node; raises `AlipayError` for a failure or an untrusted reply."""
    try:
        spans = top_level_spans(raw)
    except ValueError as exc:
        raise AlipayError("Alipay answered with non-JSON", code="ALIPAY_UNAVAILABLE") from exc
    name = node_name(method) if node_name(method) in spans else "error_response"
    if name not in spans:
        raise AlipayError("Alipay's answer has no response node", code="ALIPAY_BAD_SIGNATURE")
    start, end = spans[name]
    node = json.loads(raw[start:end])
    sign: Any = None
    if "sign" in spans:
        sign = json.loads(raw[slice(*spans["sign"])])
    if not isinstance(node, dict):
        raise AlipayError("Alipay's response node is not an object", code="ALIPAY_BAD_SIGNATURE")
    success = is_success(node)
    if sign is None and not success:
        # Alipay leaves some gateway errors unsigned; trusting one can only make us fail, never act.
        raise failure(node)
    if not isinstance(sign, str) or not rsa2_verify(alipay_public_key, raw[start:end], sign):
        raise AlipayError("Alipay's answer failed signature verification", code="ALIPAY_BAD_SIGNATURE")
    if not success:
        raise failure(node)
    return node


def failure(node: dict[str, Any]) -> AlipayError:
    alipay_code = str(node.get("code", "")) or None
    sub_code = str(node.get("sub_code", "")) or None
    suffix = re.sub(r"[^A-Z0-9]+", "_", (sub_code or alipay_code or "ERROR").upper()).strip("_")
    message = str(node.get("sub_msg") or node.get("msg") or "Alipay refused the request")
    return AlipayError(
        f"Alipay: {message}", code=f"ALIPAY_{suffix}", alipay_code=alipay_code, sub_code=sub_code, node=node
    )
