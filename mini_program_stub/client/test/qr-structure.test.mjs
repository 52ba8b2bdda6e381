// Structural properties of client/qr.js symbols: what any reader checks before it looks at the data.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeQr, qrToSvg, alignmentPositions, QrTooLongError } from '../qr.js';

const FINDER = [
  '1111111',
  '1000001',
  '1011101',
  '1011101',
  '1011101',
  '1000001',
  '1111111',
];

function finderAt(modules, x0, y0) {
  return FINDER.every((row, dy) => [...row].every((bit, dx) => modules[y0 + dy][x0 + dx] === (bit === '1')));
}

function bchFormatValid(bits) {
  let rem = bits;
  for (let i = 14; i >= 10; i--) if ((rem >>> i) & 1) rem ^= 0x537 << (i - 10);
  return rem === 0;
}

// Reads both copies of the 15 format bits in the placement order of ISO/IEC 18004 §7.9.1.
function readFormat(modules) {
  const size = modules.length;
  const bit = (v) => (v ? 1 : 0);
  let first = 0;
  const firstCells = [];
  for (let i = 0; i <= 5; i++) firstCells.push([i, 8]);
  firstCells.push([7, 8], [8, 8], [8, 7]);
  for (let i = 9; i < 15; i++) firstCells.push([8, 14 - i]);
  firstCells.forEach(([y, x], i) => { first |= bit(modules[y][x]) << i; });
  let second = 0;
  for (let i = 0; i < 8; i++) second |= bit(modules[8][size - 1 - i]) << i;
  for (let i = 8; i < 15; i++) second |= bit(modules[size - 15 + i][8]) << i;
  return [first ^ 0x5412, second ^ 0x5412];
}

const ECL_OF_BITS = { 1: 'L', 0: 'M', 3: 'Q', 2: 'H' };

test('finder patterns sit in three corners with light separators', () => {
  const { modules, size } = encodeQr('zsb-license:q3L8v0Zx_Yb2kPq9T1mNwA');
  assert.ok(finderAt(modules, 0, 0));
  assert.ok(finderAt(modules, size - 7, 0));
  assert.ok(finderAt(modules, 0, size - 7));
  assert.ok(!finderAt(modules, size - 7, size - 7), 'no finder in the bottom-right corner');
  for (let i = 0; i < 8; i++) {
    assert.equal(modules[7][i], false);
    assert.equal(modules[i][7], false);
    assert.equal(modules[7][size - 1 - i], false);
    assert.equal(modules[size - 8][i], false);
  }
});

test('timing patterns alternate between the finders and the dark module is set', () => {
  for (const text of ['A', '长'.repeat(60), 'x'.repeat(500)]) {
    const { modules, size } = encodeQr(text);
    for (let i = 8; i < size - 8; i++) {
      assert.equal(modules[6][i], i % 2 === 0, `row timing at ${i}`);
      assert.equal(modules[i][6], i % 2 === 0, `column timing at ${i}`);
    }
    assert.equal(modules[size - 8][8], true);
  }
});

test('both format copies decode to the level and mask used', () => {
  for (const ecl of ['L', 'M', 'Q', 'H']) {
    for (let mask = 0; mask < 8; mask++) {
      const q = encodeQr('掌上办 QR', { ecl, mask });
      const [a, b] = readFormat(q.modules);
      assert.equal(a, b);
      assert.ok(bchFormatValid(a));
      assert.equal(ECL_OF_BITS[a >>> 13], ecl);
      assert.equal((a >>> 10) & 7, mask);
    }
  }
});

test('version information appears from version 7 on and carries the version', () => {
  assert.equal(encodeQr('x'.repeat(100)).version < 7, true);
  const q = encodeQr('x'.repeat(200));
  assert.ok(q.version >= 7);
  let bits = 0;
  for (let i = 0; i < 18; i++) {
    if (q.modules[Math.floor(i / 3)][q.size - 11 + (i % 3)]) bits |= 1 << i;
  }
  assert.equal(bits >>> 12, q.version);
  let transposed = 0;
  for (let i = 0; i < 18; i++) {
    if (q.modules[q.size - 11 + (i % 3)][Math.floor(i / 3)]) transposed |= 1 << i;
  }
  assert.equal(transposed, bits);
});

test('alignment patterns are at the standard centres', () => {
  assert.deepEqual(alignmentPositions(1), []);
  assert.deepEqual(alignmentPositions(2), [6, 18]);
  assert.deepEqual(alignmentPositions(7), [6, 22, 38]);
  assert.deepEqual(alignmentPositions(32), [6, 34, 60, 86, 112, 138]);
  const q = encodeQr('x'.repeat(40));
  assert.equal(q.version, 3);
  const [, c] = alignmentPositions(3);
  assert.equal(q.modules[c][c], true);
  assert.equal(q.modules[c - 1][c], false);
  assert.equal(q.modules[c - 2][c - 2], true);
});

test('the smallest version that holds the text is chosen, and higher levels need more room', () => {
  assert.equal(encodeQr('x'.repeat(14)).version, 1);
  assert.equal(encodeQr('x'.repeat(15)).version, 2);
  assert.ok(encodeQr('x'.repeat(100), { ecl: 'H' }).version > encodeQr('x'.repeat(100), { ecl: 'L' }).version);
  assert.equal(encodeQr('中').version, 1);
});

test('bad input is refused', () => {
  assert.throws(() => encodeQr('z'.repeat(2332)), QrTooLongError);
  assert.throws(() => encodeQr('x'.repeat(20), { maxVersion: 1 }), QrTooLongError);
  assert.throws(() => encodeQr(42), TypeError);
  assert.throws(() => encodeQr('a', { ecl: 'X' }), RangeError);
  assert.throws(() => encodeQr('a', { mask: 9 }), RangeError);
});

test('qrToSvg draws one unit square per dark module inside the quiet zone', () => {
  const q = encodeQr('HELLO');
  const svg = qrToSvg(q, { scale: 3, margin: 4 });
  const full = q.size + 8;
  assert.match(svg, new RegExp(`^<svg [^>]*width="${full * 3}" height="${full * 3}" viewBox="0 0 ${full} ${full}"`));
  const dark = q.modules.flat().filter(Boolean).length;
  assert.equal((svg.match(/h1v1h-1z/g) || []).length, dark);
  assert.ok(svg.includes('M4,4h1v1h-1z'), 'the top-left finder corner is offset by the margin');
  assert.equal(qrToSvg(q.modules), qrToSvg(q));
});
