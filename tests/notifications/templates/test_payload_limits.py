"""Vendor payload limits (§1.5, §C6): APNs bytes, trimming on character boundaries, WeChat field types."""

from __future__ import annotations

import pytest

from notifications.payload_limits import (
    APNS_MAX_BYTES,
    apns_payload,
    cut_wechat_value,
    json_bytes,
    trim_text_to_fit,
    wechat_field_ok,
)


class TestJsonBytes:
    def test_counts_utf8_bytes_of_the_unescaped_json(self) -> None:
        assert json_bytes({"b": "受理"}) == len('{"b": "受理"}'.encode())  # 3 bytes per 汉字, not \\u escapes


class TestTrimTextToFit:
    def test_cuts_on_a_character_boundary_and_marks_the_cut(self) -> None:
        body = "受" * 2000  # 6,000 bytes

        def size(text: str) -> int:
            return json_bytes(apns_payload("标题", text, "zsb://applications/C42"))

        trimmed = trim_text_to_fit(body, size, APNS_MAX_BYTES)
        assert trimmed.endswith("…") and set(trimmed[:-1]) == {"受"}
        assert size(trimmed) <= APNS_MAX_BYTES < size(trimmed[:-1] + "受…")

    def test_keeps_a_text_that_fits_and_gives_nothing_when_nothing_fits(self) -> None:
        assert trim_text_to_fit("短", len, 10) == "短"
        assert trim_text_to_fit("长文本", lambda t: 100 + len(t), 10) == ""


class TestWechatFieldOk:
    @pytest.mark.parametrize(
        ("key", "value", "ok"),
        [
            ("thing1", "营业执照办理进度通知", True),
            ("thing1", "一" * 21, False),
            ("phrase2", "已受理", True),
            ("phrase2", "已经受理完毕了", False),
            ("phrase2", "OK", False),
            ("name3", "张三", True),
            ("name3", "欧阳" * 6, False),
            ("name3", "Zhang San", True),
            ("number4", "12.5", True),
            ("number4", "十二", False),
            ("letter5", "abc", True),
            ("letter5", "abc1", False),
            ("character_string6", "33010020250601000001", True),
            ("character_string6", "x" * 33, False),
            ("phone_number7", "+86 138-0000-0001", True),
            ("car_number8", "浙A12345", True),
            ("car_number8", "浙A1234567", False),
            ("amount9", "¥12.50", True),
            ("amount9", "12.50元", True),
            ("amount9", "¥12345678901", False),
            ("time10", "2025年6月1日 15:01", True),
            ("date11", "2025-06-01", True),
            ("date11", "明天", False),
            ("keyword1", "任何", False),
            ("thing1", "", False),
        ],
    )
    def test_types(self, key: str, value: str, ok: bool) -> None:
        assert wechat_field_ok(key, value) is ok


class TestCutWechatValue:
    def test_cuts_free_text_and_leaves_formatted_values(self) -> None:
        assert cut_wechat_value("thing1", "一" * 25) == "一" * 20
        assert cut_wechat_value("phrase2", "已经受理完毕") == "已经受理完"
        assert cut_wechat_value("name3", "欧阳" * 6) == "欧阳" * 5
        assert cut_wechat_value("amount4", "¥12345678901") == "¥12345678901"
