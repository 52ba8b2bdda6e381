"""电子证照标识 (GB/T 36904-2018, domain.md §3.3): build and validate licence identifiers.

`1.2.156.3005.2.<证照类型代码 21>.<颁发机构代码 18>.<流水号>.<版本号 3>.<校验位 1>`; the check character is ISO 7064
MOD 37,36 over type + issuer + serial + version with the dots removed. A trailing file suffix (`….0.OFD`) names a
file, not a licence, and is stripped before validation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from api.kit.errors import InvalidInput

ROOT = "1.2.156.3005.2"
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ROOT_PARTS = ROOT.split(".")
_TYPE = re.compile(r"[0-9A-Z]{21}")
_ISSUER = re.compile(r"[0-9A-Z]{18}")
_SERIAL = re.compile(r"[0-9A-Z]{1,64}")
_VERSION = re.compile(r"[0-9]{3}")
_CHECK = re.compile(r"[0-9A-Z]")
_FILE_SUFFIX = re.compile(r"\.[A-Za-z][A-Za-z0-9]{1,4}$")
MAX_LENGTH = 128


class InvalidIdentifier(InvalidInput):
    code = "INVALID_LICENSE_IDENTIFIER"


@dataclass(frozen=True)
class LicenseIdentifier:
    type_code: str
    issuer_code: str
    serial: str
    version: str
    check: str

    def __str__(self) -> str:
        return f"{ROOT}.{self.type_code}.{self.issuer_code}.{self.serial}.{self.version}.{self.check}"


def check_char(body: str) -> str:
    """ISO 7064 MOD 37,36 (hybrid) check character of `body` (digits and upper-case letters, no dots)."""
    p = 36
    for ch in body:
        value = _ALPHABET.find(ch)
        if value < 0:
            raise InvalidIdentifier(f"{ch!r} is not a digit or an upper-case letter")
        s = (p + value) % 36 or 36
        p = (2 * s) % 37
    return _ALPHABET[(37 - p) % 36]


def build(type_code: str, issuer_code: str, serial: str, version: str | int = 1) -> str:
    """A complete identifier with its computed check character; refuses parts of the wrong shape."""
    version_text = f"{version:03d}" if isinstance(version, int) else version
    parts = (
        (_TYPE, type_code, "type code (21 characters)"),
        (_ISSUER, issuer_code, "issuer code (18 characters)"),
        (_SERIAL, serial, "serial (1–64 digits or upper-case letters)"),
        (_VERSION, version_text, "version (3 digits)"),
    )
    for pattern, value, what in parts:
        if not pattern.fullmatch(value):
            raise InvalidIdentifier(f"not a valid {what}: {value!r}")
    identifier = LicenseIdentifier(
        type_code, issuer_code, serial, version_text, check_char(type_code + issuer_code + serial + version_text)
    )
    text = str(identifier)
    if len(text) > MAX_LENGTH:
        raise InvalidIdentifier(f"an identifier has at most {MAX_LENGTH} characters")
    return text


def strip_file_suffix(value: str) -> str:
    """`….0.OFD` → `….0`: only a suffix after a complete identifier (ten dot-separated parts) is removed."""
    value = value.strip()
    if value.count(".") == 10 and _FILE_SUFFIX.search(value):
        return value[: value.rindex(".")]
    return value


def parse(value: str) -> LicenseIdentifier:
    """The parts of a valid identifier; `InvalidIdentifier` names the first rule that fails."""
    text = strip_file_suffix(value)
    if len(text) > MAX_LENGTH:
        raise InvalidIdentifier(f"an identifier has at most {MAX_LENGTH} characters")
    parts = text.split(".")
    if parts[: len(_ROOT_PARTS)] != _ROOT_PARTS:
        raise InvalidIdentifier(f"an identifier starts with the root {ROOT}", code="LICENSE_IDENTIFIER_ROOT")
    rest = parts[len(_ROOT_PARTS) :]
    if len(rest) != 5:
        raise InvalidIdentifier(
            "an identifier has five parts after the root: type, issuer, serial, version, check",
            code="LICENSE_IDENTIFIER_PARTS",
        )
    type_code, issuer, serial, version, check = rest
    for pattern, part, what in (
        (_TYPE, type_code, "the type code has 21 digits or upper-case letters"),
        (_ISSUER, issuer, "the issuer code has 18 digits or upper-case letters"),
        (_SERIAL, serial, "the serial has 1–64 digits or upper-case letters"),
        (_VERSION, version, "the version has 3 digits"),
        (_CHECK, check, "the check character is one digit or upper-case letter"),
    ):
        if not pattern.fullmatch(part):
            raise InvalidIdentifier(what, code="LICENSE_IDENTIFIER_PART_LENGTH")
    if check_char(type_code + issuer + serial + version) != check:
        raise InvalidIdentifier("the check character does not match", code="LICENSE_IDENTIFIER_CHECK")
    return LicenseIdentifier(type_code, issuer, serial, version, check)


def is_valid(value: str) -> bool:
    try:
        parse(value)
    except InvalidIdentifier:
        return False
    return True
