"""GB/T 36904 identifiers: the documented example, check characters, part lengths, file suffixes."""

from __future__ import annotations

import pytest

from api.licenses import identifiers
from api.licenses.identifiers import InvalidIdentifier

EXAMPLE = "1.2.156.3005.2.11100000000013338W009.11330105002500287C.2025052201.002.0"


class TestParse:
    def test_accepts_the_documented_example(self) -> None:
        parsed = identifiers.parse(EXAMPLE)
        assert (parsed.type_code, parsed.issuer_code, parsed.serial, parsed.version, parsed.check) == (
            "11100000000013338W009",
            "11330105002500287C",
            "2025052201",
            "002",
            "0",
        )
        assert str(parsed) == EXAMPLE

    def test_strips_a_file_suffix(self) -> None:
        assert str(identifiers.parse(EXAMPLE + ".OFD")) == EXAMPLE
        assert identifiers.is_valid(EXAMPLE + ".pdf")

    def test_refuses_a_wrong_check_character(self) -> None:
        with pytest.raises(InvalidIdentifier) as exc:
            identifiers.parse(EXAMPLE[:-1] + "1")
        assert exc.value.code == "LICENSE_IDENTIFIER_CHECK"

    @pytest.mark.parametrize(
        "value",
        [
            EXAMPLE.replace("11100000000013338W009", "11100000000013338W09"),  # type 20 chars
            EXAMPLE.replace("11330105002500287C", "11330105002500287CX"),  # issuer 19 chars
            EXAMPLE.replace(".002.", ".02."),  # version 2 digits
            EXAMPLE.replace("2025052201", "2025-05"),  # serial with a dash
        ],
    )
    def test_refuses_wrong_part_lengths(self, value: str) -> None:
        with pytest.raises(InvalidIdentifier) as exc:
            identifiers.parse(value)
        assert exc.value.code == "LICENSE_IDENTIFIER_PART_LENGTH"

    def test_refuses_another_root_and_missing_parts(self) -> None:
        with pytest.raises(InvalidIdentifier) as root:
            identifiers.parse(EXAMPLE.replace("1.2.156.3005.2", "1.2.156.3005.3"))
        assert root.value.code == "LICENSE_IDENTIFIER_ROOT"
        with pytest.raises(InvalidIdentifier) as parts:
            identifiers.parse(EXAMPLE.rsplit(".", 1)[0])
        assert parts.value.code == "LICENSE_IDENTIFIER_PARTS"


class TestBuild:
    def test_computes_the_documented_check_character(self) -> None:
        built = identifiers.build("11100000000013338W009", "11330105002500287C", "2025052201", 2)
        assert built == EXAMPLE

    def test_refuses_a_malformed_part(self) -> None:
        with pytest.raises(InvalidIdentifier):
            identifiers.build("SHORT", "11330105002500287C", "1", 1)
