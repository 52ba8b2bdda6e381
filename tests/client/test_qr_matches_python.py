"""client/qr.js draws the same symbol as Python's segno: same version, same mask chosen by penalty, every module.

Node runs the encoder once over all cases and prints the matrices as JSON; segno encodes the same UTF-8 bytes in
byte mode at the same level (boost_error off: segno would otherwise raise the level when the version has room).

One deliberate adjustment: segno appends a whole zero byte after the terminator when the bit stream already ends
on a codeword boundary (which byte mode always does), where ISO/IEC 18004:2015 §7.4.10 pads only to the boundary.
Both symbols decode to the same text, but the pad codewords differ, so segno's padding step is replaced by the
standard one for the comparison.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import segno
from segno import consts as segno_consts
from segno import encoder as segno_encoder

from api.http.h5 import STUB_DIR

QR_JS = STUB_DIR / "client" / "qr.js"
NODE = shutil.which("node")
ZBARIMG = shutil.which("zbarimg")
pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")

_NODE_SCRIPT = """
import { encodeQr } from %s;
let raw = '';
process.stdin.on('data', (d) => { raw += d; });
process.stdin.on('end', () => {
  const out = JSON.parse(raw).map((c) => {
    try {
      const q = encodeQr(c.text, { ecl: c.ecl, mask: c.mask });
      return { version: q.version, mask: q.mask, rows: q.modules.map((r) => r.map((b) => (b ? '1' : '0')).join('')) };
    } catch (e) {
      return { error: e.constructor.name };
    }
  });
  process.stdout.write(JSON.stringify(out));
});
"""

# A real qrPayload: the scheme and a 16-byte base64url token (api/licenses/sharing.py).
LICENSE_PAYLOAD = "zsb-license:q3L8v0Zx_Yb2kPq9T1mNwA"
PAYLOADS = [
    "",
    "A",
    "HELLO",
    "0123456789",
    LICENSE_PAYLOAD,
    "zsb-license:AAAAAAAAAAAAAAAAAAAAAA",
    "掌上办",
    "居民身份证补领 · 办件编号 11370100MB28508920202611230001",
    "https://zsb.example.invalid/h5/#/license/0193a6b2-7c1d-7e8f-9a0b-1c2d3e4f5a6b?via=qr&lang=zh-CN",
    "\u00e9\u00e8 ascii and latin-1 \u00ff",
    "emoji 🙂 and a zero\u0000byte",
    "x" * 17,  # exactly fills version 1-L in byte mode
    "x" * 18,  # one more byte: version 2
    "长" * 100,
    "0123456789abcdef" * 25,
    "证" * 400,  # version 20+ at M
    "z" * 2331,  # the largest version-40-M byte payload
]


def _segno_standard_padding(buff: Any, version: int, length: int) -> None:
    if length % 8:
        buff.extend([0] * (8 - length % 8))


@pytest.fixture
def standard_segno(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(segno_encoder, "write_padding_bits", _segno_standard_padding)


def _encode_in_node(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    assert NODE is not None
    script = _NODE_SCRIPT % json.dumps(QR_JS.as_uri())
    done = subprocess.run(
        [NODE, "--input-type=module", "-e", script],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    result: list[dict[str, Any]] = json.loads(done.stdout)
    return result


def _segno_rows(text: str, ecl: str, mask: int | None) -> tuple[int, int, list[str]]:
    code = segno.make_qr(text.encode("utf-8"), error=ecl, mode="byte", boost_error=False, mask=mask)
    rows = ["".join("1" if bit else "0" for bit in row) for row in code.matrix]
    return int(code.version), int(code.mask), rows


def _compare(cases: list[dict[str, Any]]) -> None:
    for case, js in zip(cases, _encode_in_node(cases), strict=True):
        label = f"{case['text'][:30]!r} ecl={case['ecl']} mask={case['mask']}"
        assert "error" not in js, f"{label}: JS raised {js.get('error')}"
        version, mask, rows = _segno_rows(case["text"], case["ecl"], case["mask"])
        assert (js["version"], js["mask"]) == (version, mask), label
        differing = [
            (y, x) for y, (a, b) in enumerate(zip(rows, js["rows"], strict=True)) for x in range(len(a)) if a[x] != b[x]
        ]
        assert differing == [], f"{label}: {len(differing)} modules differ, first {differing[:5]}"


@pytest.mark.usefixtures("standard_segno")
@pytest.mark.parametrize("ecl", ["L", "M", "Q", "H"])
def test_every_payload_matches_segno_with_the_mask_chosen_by_penalty(ecl: str) -> None:
    fitting = [t for t in PAYLOADS if len(t.encode()) <= {"L": 2953, "M": 2331, "Q": 1663, "H": 1273}[ecl]]
    _compare([{"text": t, "ecl": ecl, "mask": None} for t in fitting])


@pytest.mark.usefixtures("standard_segno")
def test_every_forced_mask_matches_segno() -> None:
    texts = ["HELLO", LICENSE_PAYLOAD, "长" * 60]  # versions 1, 2 and 7 (version information present)
    _compare([{"text": t, "ecl": "M", "mask": m} for t in texts for m in range(8)])


@pytest.mark.usefixtures("standard_segno")
def test_every_version_boundary_matches_segno() -> None:
    # Byte-mode capacity of each version at M: the payload that just fits and the one that needs the next version.
    cases: list[dict[str, Any]] = []
    expected: list[int] = []
    for version in range(1, 41):
        count_bits = 8 if version <= 9 else 16
        capacities: dict[int, dict[int, int]] = getattr(segno_consts, "SYMBOL_CAPACITY")  # untyped in segno  # noqa: B009
        capacity = int(capacities[version][segno_consts.ERROR_LEVEL_M])
        fits = (capacity - 4 - count_bits) // 8
        cases.append({"text": "a" * fits, "ecl": "M", "mask": None})
        expected.append(version)
        if version < 40:
            cases.append({"text": "a" * (fits + 1), "ecl": "M", "mask": None})
            expected.append(version + 1)
    _compare(cases)
    assert [js["version"] for js in _encode_in_node(cases)] == expected


def test_too_long_and_bad_options_are_refused() -> None:
    cases: list[dict[str, Any]] = [
        {"text": "z" * 2332, "ecl": "M", "mask": None},
        {"text": "A", "ecl": "X", "mask": None},
        {"text": "A", "ecl": "M", "mask": 8},
    ]
    assert [r.get("error") for r in _encode_in_node(cases)] == ["QrTooLongError", "RangeError", "RangeError"]


def _pbm(rows: list[str], scale: int = 4, margin: int = 4) -> str:
    size = len(rows)
    lines = []
    for y in range((size + 2 * margin) * scale):
        my = y // scale - margin
        line = []
        for x in range((size + 2 * margin) * scale):
            mx = x // scale - margin
            line.append("1" if 0 <= my < size and 0 <= mx < size and rows[my][mx] == "1" else "0")
        lines.append(" ".join(line))
    width = (size + 2 * margin) * scale
    return f"P1\n{width} {width}\n" + "\n".join(lines) + "\n"


@pytest.mark.skipif(ZBARIMG is None, reason="zbarimg (Debian zbar-tools) is not installed")
def test_a_real_reader_decodes_the_symbols(tmp_path: Path) -> None:
    # Independent of segno: ZBar reads the JS symbols back to the exact text, at every level.
    texts = [LICENSE_PAYLOAD, "掌上办 居民身份证补领", "证" * 300]
    cases = [{"text": t, "ecl": e, "mask": None} for t in texts for e in "LMQH"]
    assert ZBARIMG is not None
    for i, (case, js) in enumerate(zip(cases, _encode_in_node(cases), strict=True)):
        image = tmp_path / f"qr{i}.pbm"
        image.write_text(_pbm(js["rows"]))
        done = subprocess.run([ZBARIMG, "-q", "--raw", str(image)], capture_output=True, timeout=60, check=False)
        assert done.stdout.decode("utf-8").rstrip("\n") == case["text"], f"case {i} ecl={case['ecl']}"
