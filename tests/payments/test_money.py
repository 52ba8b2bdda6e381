"""payments.money: fen ↔ yuan strings, exact, never through float (payments.md §7)."""

from __future__ import annotations

from typing import Any

import pytest

from payments.money import fen_to_yuan, yuan_to_fen


class TestFenToYuan:
    @pytest.mark.parametrize(
        ("fen", "yuan"),
        [(0, "0.00"), (1, "0.01"), (29, "0.29"), (115, "1.15"), (5000, "50.00"), (2_147_483_648, "21474836.48")],
    )
    def test_fen_become_yuan_with_two_decimals(self, fen: int, yuan: str) -> None:
        assert fen_to_yuan(fen) == yuan

    @pytest.mark.parametrize("fen", [-1, 1.0, 0.29, "5000", True, None], ids=repr)
    def test_anything_but_a_non_negative_int_is_refused(self, fen: Any) -> None:
        with pytest.raises(ValueError, match="non-negative int"):
            fen_to_yuan(fen)


class TestYuanToFen:
    @pytest.mark.parametrize(
        ("yuan", "fen"),
        [
            ("0.01", 1),
            ("0.29", 29),  # int(float("0.29") * 100) == 28
            ("1.15", 115),  # int(float("1.15") * 100) == 114
            ("0.290", 29),
            ("50", 5000),
            ("50.00", 5000),
            ("21474836.48", 2_147_483_648),
            ("100000000.00", 10_000_000_000),
        ],
    )
    def test_yuan_become_exact_fen(self, yuan: str, fen: int) -> None:
        assert yuan_to_fen(yuan) == fen

    @pytest.mark.parametrize(
        "yuan",
        [
            *("0.001", "NaN", "1e-3", "-1.00", "0.00", "0", "", " 1.00", "1.00 "),
            *("+1.00", "01.00", "1,00", "1.", ".5", "１.00", "Infinity"),
        ],
    )
    def test_what_is_not_a_positive_whole_number_of_fen_is_refused(self, yuan: str) -> None:
        with pytest.raises(ValueError, match=r"yuan amount|whole number of fen"):
            yuan_to_fen(yuan)

    @pytest.mark.parametrize("yuan", [1, 1.0, None, b"1.00"], ids=repr)
    def test_only_strings_are_read(self, yuan: Any) -> None:
        with pytest.raises(ValueError, match="yuan amount"):
            yuan_to_fen(yuan)

    def test_every_fen_survives_the_round_trip(self) -> None:
        samples = [*range(1, 10_001), 2**31 - 1, 2**31, 2**31 + 1, 10**16 - 1]

        assert all(yuan_to_fen(fen_to_yuan(n)) == n for n in samples)
