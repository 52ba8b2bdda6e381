"""National code validation and personal-data protection."""

from __future__ import annotations

import json
import logging
import os

import pytest

from api.kit.codes import (
    is_ascii_digits,
    is_valid_id_number,
    is_valid_uscc,
    normalize_mobile,
    normalize_region,
    parse_fen,
    uscc_check_char,
)
from api.kit.logging import JsonFormatter, request_id_var
from api.kit.pii import PiiCipher, mask_id_number, redact


class TestUscc:
    @pytest.mark.parametrize("code", ["114507210081153718", "12441500196720244T", "11330105002500287C"])
    def test_accepts_the_documented_examples(self, code: str) -> None:
        assert is_valid_uscc(code)

    @pytest.mark.parametrize("code", ["114507210081153719", "11450721008115371", "1145072100811537I8", ""])
    def test_refuses_wrong_check_character_length_or_charset(self, code: str) -> None:
        assert not is_valid_uscc(code)

    def test_check_character_of_31_becomes_0(self) -> None:
        assert uscc_check_char("11450721008115371") == "8"


class TestIdNumber:
    def test_accepts_a_valid_number_with_x(self) -> None:
        assert is_valid_id_number("11010519491231002X") and is_valid_id_number("11010519491231002x")

    @pytest.mark.parametrize("value", ["110105194912310021", "11010519491331002X", "1101051949123100", "abc"])
    def test_refuses_bad_check_digit_date_or_shape(self, value: str) -> None:
        assert not is_valid_id_number(value)


class TestPhoneAndRegion:
    def test_normalizes_prefixes_and_refuses_non_mobiles(self) -> None:
        assert normalize_mobile("+86 138-0013-8000") == "13800138000"
        assert normalize_mobile("008613800138000") == "13800138000"
        assert normalize_mobile("12800138000") is None and normalize_mobile("1380013800") is None

    def test_pads_six_digit_regions(self) -> None:
        assert normalize_region("990100") == "990100000000"
        assert normalize_region("9901") is None and normalize_region("99010a") is None


class TestPiiCipher:
    def test_round_trips_and_hides_the_plaintext(self) -> None:
        cipher = PiiCipher(os.urandom(32), os.urandom(32))
        sealed = cipher.encrypt("11010519491231002X")
        assert "11010519491231002X" not in sealed and cipher.decrypt(sealed) == "11010519491231002X"
        assert cipher.encrypt("11010519491231002X") != sealed  # random nonce

    def test_lookup_hash_is_keyed_and_case_insensitive(self) -> None:
        key = os.urandom(32)
        one, other = PiiCipher(os.urandom(32), key), PiiCipher(os.urandom(32), os.urandom(32))
        assert one.lookup_hash("11010519491231002x") == one.lookup_hash("11010519491231002X")
        assert one.lookup_hash("11010519491231002X") != other.lookup_hash("11010519491231002X")

    def test_refuses_short_keys(self) -> None:
        with pytest.raises(ValueError, match="32 bytes"):
            PiiCipher(b"short", os.urandom(32))


class TestRedaction:
    def test_masks_id_numbers_and_phones_in_free_text(self) -> None:
        text = redact("user 11010519491231002X phoned from 13800138000 about order 123")
        assert text == "user 110105********002X phoned from 138****8000 about order 123"
        assert mask_id_number("440106199001011234") == "4401**********1234"

    def test_json_log_lines_carry_the_request_id_and_no_personal_data(self) -> None:
        token = request_id_var.set("req-12345678")
        try:
            record = logging.makeLogRecord({"msg": "sign-in of %s", "args": ("13800138000",), "levelname": "INFO"})
            line = json.loads(JsonFormatter().format(record))
        finally:
            request_id_var.reset(token)
        assert line["request_id"] == "req-12345678"
        assert line["msg"] == "sign-in of 138****8000"


class TestDigitsOnlyAscii:
    """str.isdigit() accepts '²', '١' and full-width digits; int() or a later check then fails with a 500."""

    @pytest.mark.parametrize("raw", ["²", "١٢", "１２３", "12²", "", " "])
    def test_non_ascii_or_empty_digits_are_refused(self, raw: str) -> None:
        assert is_ascii_digits(raw) is False
        assert parse_fen(raw, 12) is None

    def test_fen_is_parsed_within_its_digit_cap(self) -> None:
        assert parse_fen(" 1500 ", 12) == 1500
        assert parse_fen("0", 12) == 0
        assert parse_fen("1" * 13, 12) is None
        assert parse_fen("-100", 12) is None

    def test_a_mobile_in_full_width_or_arabic_digits_is_not_a_mobile(self) -> None:
        assert normalize_mobile("１３８００１３８０００") is None
        assert normalize_mobile("1٣800138000") is None
        assert normalize_region("٩٩٠١٠٠") is None
