// Turns a QR module matrix into canvas rectangles. Pure, so both mini-programs' drawQr use it; the matrix comes
// from the client's encodeQr, which the caller passes in so shared/ imports nothing outside itself (it must
// resolve the same in the source tree and in each project's lib/zsb-shared/).

// Scanners need a light margin of four modules around the symbol (ISO/IEC 18004 quiet zone).
const QUIET_ZONE = 4;

// `symbol` is encodeQr(text): { size, modules } with modules[row][col] true for a dark module.
export function qrRects(symbol, widthPx) {
  const { size, modules } = symbol;
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
