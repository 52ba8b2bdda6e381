// QR Code Model 2 encoder (ISO/IEC 18004:2015), byte mode with UTF-8, versions 1–40, levels L/M/Q/H.
// Pure: text in, boolean matrix out, so the H5 pages and both mini-programs draw the same symbol. The mask is
// chosen by the standard penalty rules, evaluated like segno does (format and version areas still light), so
// tests/client/test_qr_matches_python.py can compare every module with that library.

import {
  ECL, FORMAT_BITS, QrTooLongError, capacityFits, dataBits, dataCodewords, finalCodewords, utf8,
} from './qr-codewords.js';

export { QrTooLongError, dataCodewords };

export function alignmentPositions(version) {
  if (version === 1) return [];
  const size = version * 4 + 17;
  const count = Math.floor(version / 7) + 2;
  const step = Math.floor((version * 8 + count * 3 + 5) / (count * 4 - 4)) * 2;
  const result = [6];
  for (let pos = size - 7; result.length < count; pos -= step) result.splice(1, 0, pos);
  return result;
}

function buildFunctionPatterns(version) {
  const size = version * 4 + 17;
  const modules = Array.from({ length: size }, () => new Array(size).fill(false));
  const isFunction = Array.from({ length: size }, () => new Array(size).fill(false));
  const set = (x, y, dark) => {
    modules[y][x] = dark;
    isFunction[y][x] = true;
  };
  for (let i = 0; i < size; i++) {
    set(6, i, i % 2 === 0);
    set(i, 6, i % 2 === 0);
  }
  for (const [cx, cy] of [[3, 3], [size - 4, 3], [3, size - 4]]) {
    for (let dy = -4; dy <= 4; dy++) {
      for (let dx = -4; dx <= 4; dx++) {
        const x = cx + dx;
        const y = cy + dy;
        const dist = Math.max(Math.abs(dx), Math.abs(dy));
        if (x >= 0 && x < size && y >= 0 && y < size) set(x, y, dist !== 2 && dist !== 4);
      }
    }
  }
  const align = alignmentPositions(version);
  const last = align.length - 1;
  align.forEach((ax, i) => {
    align.forEach((ay, j) => {
      if ((i === 0 && j === 0) || (i === 0 && j === last) || (i === last && j === 0)) return;
      for (let dy = -2; dy <= 2; dy++) {
        for (let dx = -2; dx <= 2; dx++) set(ax + dx, ay + dy, Math.max(Math.abs(dx), Math.abs(dy)) !== 1);
      }
    });
  });
  // Reserve format and version areas (light until the mask is chosen) and the dark module.
  for (let i = 0; i < 9; i++) {
    if (i === 6) continue; // the timing patterns cross there
    set(8, i, false);
    set(i, 8, false);
  }
  for (let i = 0; i < 8; i++) {
    set(size - 1 - i, 8, false);
    set(8, size - 1 - i, false);
  }
  if (version >= 7) {
    for (let i = 0; i < 18; i++) {
      const a = size - 11 + (i % 3);
      const b = Math.floor(i / 3);
      set(a, b, false);
      set(b, a, false);
    }
  }
  return { size, modules, isFunction };
}

function placeCodewords(modules, isFunction, codewords) {
  const size = modules.length;
  let i = 0;
  const total = codewords.length * 8;
  for (let right = size - 1; right >= 1; right -= 2) {
    if (right === 6) right = 5;
    for (let vert = 0; vert < size; vert++) {
      for (let j = 0; j < 2; j++) {
        const x = right - j;
        const upward = ((right + 1) & 2) === 0;
        const y = upward ? size - 1 - vert : vert;
        if (!isFunction[y][x] && i < total) {
          modules[y][x] = ((codewords[i >>> 3] >>> (7 - (i & 7))) & 1) === 1;
          i++;
        }
      }
    }
  }
}

const MASKS = [
  (x, y) => (x + y) % 2 === 0,
  (x, y) => y % 2 === 0,
  (x) => x % 3 === 0,
  (x, y) => (x + y) % 3 === 0,
  (x, y) => (Math.floor(x / 3) + Math.floor(y / 2)) % 2 === 0,
  (x, y) => ((x * y) % 2) + ((x * y) % 3) === 0,
  (x, y) => (((x * y) % 2) + ((x * y) % 3)) % 2 === 0,
  (x, y) => (((x + y) % 2) + ((x * y) % 3)) % 2 === 0,
];

function applyMask(modules, isFunction, mask) {
  const fn = MASKS[mask];
  return modules.map((row, y) => row.map((dark, x) => (isFunction[y][x] ? dark : dark !== fn(x, y))));
}

// Rule N3 (1:1:3:1:1 with four light modules on one side; the outside of the symbol counts as light).
function finderLikeScore(line) {
  const n = line.length;
  const pattern = [1, 0, 1, 1, 1, 0, 1];
  const findFrom = (start) => {
    for (let i = start; i + 7 <= n; i++) {
      let ok = true;
      for (let k = 0; k < 7 && ok; k++) ok = line[i + k] === pattern[k];
      if (ok) return i;
    }
    return -1;
  };
  const allLight = (from, to) => {
    for (let i = Math.max(from, 0); i < Math.min(to, n); i++) if (line[i]) return false;
    return true;
  };
  let score = 0;
  let idx = findFrom(0);
  while (idx !== -1) {
    let next = idx + 7;
    if (idx === 0 || idx === n - 7 || allLight(idx - 4, idx) || allLight(next, next + 4)) {
      score += 40;
    } else {
      next = idx + 4;
    }
    idx = findFrom(next);
  }
  return score;
}

export function penalty(modules) {
  const size = modules.length;
  let score = 0;
  let dark = 0;
  const runScore = (run) => (run >= 5 ? run - 2 : 0);
  for (let i = 0; i < size; i++) {
    const row = modules[i].map(Number);
    const col = modules.map((r) => Number(r[i]));
    for (const line of [row, col]) {
      let run = 1;
      for (let j = 1; j < size; j++) {
        if (line[j] === line[j - 1]) {
          run++;
        } else {
          score += runScore(run);
          run = 1;
        }
      }
      score += runScore(run);
      score += finderLikeScore(line);
    }
    for (let j = 0; j < size; j++) {
      if (row[j]) dark++;
      if (i > 0 && j > 0) {
        const c = modules[i][j];
        if (c === modules[i][j - 1] && c === modules[i - 1][j] && c === modules[i - 1][j - 1]) score += 3;
      }
    }
  }
  // The same floating-point steps as segno, so a boundary case rounds the same way.
  score += 10 * Math.trunc(Math.abs((dark / (size * size)) * 100 - 50) / 5);
  return score;
}

function drawFormatAndVersion(modules, version, ecl, mask) {
  const size = modules.length;
  const data = (FORMAT_BITS[ecl] << 3) | mask;
  let rem = data;
  for (let i = 0; i < 10; i++) rem = (rem << 1) ^ ((rem >>> 9) * 0x537);
  const bits = ((data << 10) | rem) ^ 0x5412;
  const bit = (v, i) => ((v >>> i) & 1) === 1;
  for (let i = 0; i <= 5; i++) modules[i][8] = bit(bits, i);
  modules[7][8] = bit(bits, 6);
  modules[8][8] = bit(bits, 7);
  modules[8][7] = bit(bits, 8);
  for (let i = 9; i < 15; i++) modules[8][14 - i] = bit(bits, i);
  for (let i = 0; i < 8; i++) modules[8][size - 1 - i] = bit(bits, i);
  for (let i = 8; i < 15; i++) modules[size - 15 + i][8] = bit(bits, i);
  modules[size - 8][8] = true;
  if (version >= 7) {
    let r = version;
    for (let i = 0; i < 12; i++) r = (r << 1) ^ ((r >>> 11) * 0x1f25);
    const vbits = (version << 12) | r;
    for (let i = 0; i < 18; i++) {
      const a = size - 11 + (i % 3);
      const b = Math.floor(i / 3);
      modules[b][a] = bit(vbits, i);
      modules[a][b] = bit(vbits, i);
    }
  }
}

/**
 * Encodes `text` (UTF-8, byte mode) in the smallest version that holds it at level `ecl`.
 * Options: ecl 'L'|'M'|'Q'|'H' (default 'M'), minVersion/maxVersion (1..40), mask 0..7 to force one.
 * Returns {size, version, ecl, mask, modules} with modules[y][x] === true for a dark module (no quiet zone).
 */
export function encodeQr(text, { ecl = 'M', minVersion = 1, maxVersion = 40, mask = null } = {}) {
  if (typeof text !== 'string') throw new TypeError('encodeQr: text must be a string');
  if (!(ecl in ECL)) throw new RangeError(`encodeQr: unknown error-correction level ${ecl}`);
  if (mask !== null && !(Number.isInteger(mask) && mask >= 0 && mask <= 7)) {
    throw new RangeError('encodeQr: mask must be 0..7');
  }
  const bytes = utf8(text);
  let version = Math.max(1, minVersion);
  while (version <= Math.min(40, maxVersion) && !capacityFits(bytes.length, version, ecl)) version++;
  if (version > Math.min(40, maxVersion)) {
    throw new QrTooLongError(`${bytes.length} bytes do not fit a QR code at level ${ecl}`);
  }
  const codewords = finalCodewords(dataBits(bytes, version, ecl), version, ecl);
  const { size, modules, isFunction } = buildFunctionPatterns(version);
  placeCodewords(modules, isFunction, codewords);
  let chosen = mask;
  let best = null;
  if (chosen === null) {
    let bestScore = Infinity;
    for (let m = 0; m < 8; m++) {
      const candidate = applyMask(modules, isFunction, m);
      const score = penalty(candidate);
      if (score < bestScore) {
        bestScore = score;
        chosen = m;
        best = candidate;
      }
    }
  } else {
    best = applyMask(modules, isFunction, chosen);
  }
  drawFormatAndVersion(best, version, ecl, chosen);
  return { size, version, ecl, mask: chosen, modules: best };
}

/** An SVG document (string) of the matrix: one path of dark squares on white, `margin` modules of quiet zone. */
export function qrToSvg(matrix, { scale = 4, margin = 4, dark = '#000', light = '#fff' } = {}) {
  const modules = matrix.modules || matrix;
  const size = modules.length;
  const full = size + margin * 2;
  let d = '';
  modules.forEach((row, y) => {
    row.forEach((on, x) => {
      if (on) d += `M${x + margin},${y + margin}h1v1h-1z`;
    });
  });
  const px = full * scale;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${px}" height="${px}" viewBox="0 0 ${full} ${full}" ` +
    `shape-rendering="crispEdges"><rect width="${full}" height="${full}" fill="${light}"/>` +
    `<path d="${d}" fill="${dark}"/></svg>`
  );
}
