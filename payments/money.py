"""Money is integer fen; yuan strings exist only at the Alipay boundary (payments.md §7). Never a float."""

from __future__ import annotations

import re
from decimal import Decimal

_YUAN = re.compile(r"(0|[1-9][0-9]{0,13})(\.[0-9]{1,8})?")
_CENT = Decimal("0.01")


def fen_to_yuan(fen: int) -> str:
    if type(fen) is not int or fen < 0:
        raise ValueError(f"expected a non-negative int of fen, got {fen!r}")
    return f"{fen // 100}.{fen % 100:02d}"


def yuan_to_fen(text: str) -> int:
    """A positive whole number of fen from an incoming yuan amount; no sign, exponent, NaN or blanks."""
    if not isinstance(text, str) or not _YUAN.fullmatch(text):
        raise ValueError(f"not a yuan amount: {text!r}")
    value = Decimal(text)
    if value <= 0 or value != value.quantize(_CENT):
        raise ValueError(f"not a positive whole number of fen: {text!r}")
    return int(value * 100)
