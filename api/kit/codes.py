"""National codes: validation of USCC (GB 32100), resident ID numbers (GB 11643), phones and regions."""

from __future__ import annotations

import re

USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = [pow(3, i, 31) for i in range(17)]
_ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
_ID_CHECK = "10X98765432"
_MOBILE = re.compile(r"^1[3-9][0-9]{9}$")


def uscc_check_char(first17: str) -> str:
    total = sum(USCC_CHARSET.index(ch) * w for ch, w in zip(first17, _USCC_WEIGHTS, strict=True))
    value = 31 - total % 31
    return USCC_CHARSET[0 if value == 31 else value]


def is_valid_uscc(code: str) -> bool:
    if len(code) != 18 or any(ch not in USCC_CHARSET for ch in code):
        return False
    return uscc_check_char(code[:17]) == code[17]


def id_number_check_char(first17: str) -> str:
    return _ID_CHECK[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def is_valid_id_number(value: str) -> bool:
    """An 18-character resident ID number with a well-formed birth date and MOD 11-2 check character."""
    value = value.upper()
    if not re.fullmatch(r"\d{17}[\dX]", value):
        return False
    month, day = int(value[10:12]), int(value[12:14])
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return False
    return id_number_check_char(value[:17]) == value[17]


def is_ascii_digits(value: str) -> bool:
    """0–9 only: str.isdigit() also accepts '²', '١' and other digits that int() or a code check refuses."""
    return value.isascii() and value.isdigit()


def parse_fen(raw: str, max_digits: int) -> int | None:
    """A non-negative amount in integer fen written as decimal digits, or None."""
    text = raw.strip()
    return int(text) if is_ascii_digits(text) and len(text) <= max_digits else None


def normalize_mobile(raw: str) -> str | None:
    """Mainland mobile numbers only (SMS one-time codes go to them); `+86`/`0086` prefixes and spaces allowed."""
    digits = re.sub(r"[\s-]", "", raw)
    for prefix in ("+86", "0086"):
        if digits.startswith(prefix):
            digits = digits[len(prefix) :]
    return digits if _MOBILE.fullmatch(digits) else None


def normalize_region(raw: str) -> str | None:
    """GB/T 2260 in its 12-digit extended form; 6-digit input is right-padded."""
    if not is_ascii_digits(raw) or len(raw) not in (6, 12):
        return None
    return raw.ljust(12, "0")
