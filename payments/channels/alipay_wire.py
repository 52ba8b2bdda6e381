"""Alipay on the wire (payments.md §5.3–5.4): SDK-built parameters signed with OpenSSL, verified gateway answers.

`alipay-sdk-python` only assembles parameters (`skip_sign=True`); its transport, its logger and its pure-Python
RSA are never used. Only the SDK modules named here are imported: each API class is a module of its own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from urllib.parse import parse_qsl

from alipay.aop.api.AlipayClientConfig import AlipayClientConfig
from alipay.aop.api.DefaultAlipayClient import DefaultAlipayClient
from alipay.aop.api.util.SignatureUtils import get_sign_content
from cryptography.hazmat.primitives.asymmetric import rsa

from api.kit.clock import SHANGHAI
from api.platforms.alipay.response import node_name, top_level_spans
from payments.channels.rsa2 import rsa2_sign, rsa2_verify

SUCCESS_CODE = "10000"
BEIJING_FORMAT = "%Y-%m-%d %H:%M:%S"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded;charset=utf-8"

# Codes after which Alipay has definitively not done what was asked (missing or invalid arguments, a business
# refusal, no permission). 20000 (service busy) and anything unexpected leave the outcome unknown.
_DEFINITE_CODES = frozenset({"40001", "40002", "40004", "40006"})
# Business sub-codes that Alipay documents as "call again with the same parameters".
_RETRY_SUB_CODES = frozenset({"ACQ.SYSTEM_ERROR", "aop.ACQ.SYSTEM_ERROR", "isp.unknow-error", "isp.unknown-error"})


def make_param_builder(app_id: str) -> DefaultAlipayClient:
    cfg = AlipayClientConfig()
    cfg.app_id = app_id
    cfg.sign_type = "RSA2"
    cfg.charset = "utf-8"
    cfg.skip_sign = True  # the SDK only assembles parameters; OpenSSL signs them
    return DefaultAlipayClient(alipay_client_config=cfg)  # no keys, no server_url, no logger


def beijing(moment: datetime) -> str:
    """`yyyy-MM-dd HH:mm:ss` in Beijing time, what Alipay reads `timestamp` and `time_expire` as."""
    if moment.tzinfo is None:
        raise ValueError("an aware datetime is required: Alipay times are Beijing time, never the process's zone")
    return moment.astimezone(SHANGHAI).strftime(BEIJING_FORMAT)


def parse_beijing(text: object) -> datetime | None:
    """An aware datetime from Alipay's Beijing-time text (fractions of a second, as in `gmt_refund`, allowed)."""
    if not isinstance(text, str) or not text:
        return None
    for fmt in (BEIJING_FORMAT, BEIJING_FORMAT + ".%f"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=SHANGHAI)
        except ValueError:
            continue
    return None


def signed_params(builder: DefaultAlipayClient, key: rsa.RSAPrivateKey, request: Any, now: datetime) -> dict[str, str]:
    """Every request parameter plus `sign`. Blank values are dropped (Alipay's signing rule); time is the clock's."""
    query = builder.sdk_execute(request)
    params = {k: v for k, v in parse_qsl(query, keep_blank_values=True) if v != ""}
    params["timestamp"] = beijing(now)
    # OpenSSL: about a millisecond on the event loop, within the §15.4 budget (the SDK's RSA costs 24–39 ms).
    params["sign"] = rsa2_sign(key, get_sign_content(params))
    return params


class AlipayUnverified(Exception):
    """The answer cannot be attributed to Alipay: not JSON, no node, unsigned or mis-signed."""


def open_node(raw: str, method: str, alipay_key: rsa.RSAPublicKey) -> dict[str, Any]:
    """The verified `<method>_response` (or `error_response`) node, cut out of the raw text exactly as signed.

    Unlike the sign-in client's `open_response`, an unsigned failure is not believed either: a refusal moves
    money here (a REJECTED refund frees the reserved amount), so only a signed answer may decide anything.
    """
    try:
        spans = top_level_spans(raw)
    except ValueError as exc:
        raise AlipayUnverified(f"{method}: not a JSON object") from exc
    name = node_name(method) if node_name(method) in spans else "error_response"
    if name not in spans or "sign" not in spans:
        raise AlipayUnverified(f"{method}: no signed response node")
    start, end = spans[name]
    sign = json.loads(raw[slice(*spans["sign"])])
    if not isinstance(sign, str) or not rsa2_verify(alipay_key, raw[start:end], sign):
        raise AlipayUnverified(f"{method}: the answer's signature does not verify")
    node = json.loads(raw[start:end])
    if not isinstance(node, dict):
        raise AlipayUnverified(f"{method}: the response node is not an object")
    return node


class Verdict(StrEnum):
    SUCCESS = "SUCCESS"  # code 10000
    REFUSED = "REFUSED"  # a definitive refusal: nothing was done
    UNKNOWN = "UNKNOWN"  # no verified answer, or one that says "try again"


@dataclass(frozen=True)
class Answer:
    verdict: Verdict
    node: dict[str, Any]  # the verified node; empty when there is none
    reason: str = ""

    @property
    def sub_code(self) -> str:
        return str(self.node.get("sub_code") or "")

    @classmethod
    def unknown(cls, reason: str) -> Answer:
        return cls(Verdict.UNKNOWN, {}, reason)

    @classmethod
    def of(cls, node: dict[str, Any]) -> Answer:
        code, sub_code = str(node.get("code") or ""), str(node.get("sub_code") or "")
        reason = " ".join(part for part in (code, sub_code, str(node.get("sub_msg") or node.get("msg") or "")) if part)
        if code == SUCCESS_CODE and not sub_code:
            return cls(Verdict.SUCCESS, node, reason)
        if sub_code in _RETRY_SUB_CODES or code not in _DEFINITE_CODES:
            return cls(Verdict.UNKNOWN, node, reason)
        return cls(Verdict.REFUSED, node, reason)
