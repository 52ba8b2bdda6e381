// Turns the shared encoder's module matrix into canvas rectangles. Pure, so both mini-programs share it.
import { encodeQr } from '../../lib/zsb-client/qr.js';

// Scanners need a light margin of four modules around the symbol (ISO/IEC 18004 quiet zone).
const QUIET_ZONE = 4;

export function qrRects(text, widthPx) {
  const { size, modules } = encodeQr(text);
  const cell = widthPx / (size + QUIET_ZONE * 2);
  const rects = [];
  for (let row = 0; row < size; row += 1) {
    for (let col = 0; col < size; col += 1) {
      if (modules[row][col]) rects.push([(col + QUIET_ZONE) * cell, (row + QUIET_ZONE) * cell, cell, cell]);
    }
  }
  return { size, cell, rects };
}

export function secondsUntil(iso, nowMs) {
  return Math.max(0, Math.ceil((Date.parse(iso) - nowMs) / 1000));
}
