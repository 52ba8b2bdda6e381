// Pure-JS SHA-256 (FIPS 180-4). Mini-program runtimes have no crypto.subtle and their native digests are
// md5/sha1 only, so uploads, APQ and sync hashes all go through this one implementation.

const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

const INITIAL = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

// TextEncoder is missing in some mini-program runtimes, so UTF-8 is encoded by hand. A lone surrogate becomes
// U+FFFD as TextEncoder does (canonicalize() refuses such strings before they get here).
export function utf8Encode(text) {
  if (typeof text !== 'string') throw new TypeError('utf8Encode expects a string');
  const out = [];
  for (let i = 0; i < text.length; i++) {
    let code = text.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
      const low = text.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
        i++;
      } else {
        code = 0xfffd;
      }
    } else if (code >= 0xd800 && code <= 0xdfff) {
      code = 0xfffd;
    }
    if (code < 0x80) {
      out.push(code);
    } else if (code < 0x800) {
      out.push(0xc0 | (code >> 6), 0x80 | (code & 0x3f));
    } else if (code < 0x10000) {
      out.push(0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f));
    } else {
      out.push(0xf0 | (code >> 18), 0x80 | ((code >> 12) & 0x3f), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f));
    }
  }
  return Uint8Array.from(out);
}

function toBytes(input) {
  if (typeof input === 'string') return utf8Encode(input);
  if (input instanceof Uint8Array) return input;
  if (input instanceof ArrayBuffer) return new Uint8Array(input);
  if (ArrayBuffer.isView(input)) return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  throw new TypeError('sha256 input must be a string, Uint8Array or ArrayBuffer');
}

function compress(state, words, block, offset) {
  for (let t = 0; t < 16; t++) {
    const j = offset + t * 4;
    words[t] = (block[j] << 24) | (block[j + 1] << 16) | (block[j + 2] << 8) | block[j + 3];
  }
  for (let t = 16; t < 64; t++) {
    const w15 = words[t - 15];
    const w2 = words[t - 2];
    const s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3);
    const s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10);
    words[t] = (words[t - 16] + s0 + words[t - 7] + s1) | 0;
  }
  let a = state[0], b = state[1], c = state[2], d = state[3];
  let e = state[4], f = state[5], g = state[6], h = state[7];
  for (let t = 0; t < 64; t++) {
    const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const ch = (e & f) ^ (~e & g);
    const t1 = (h + s1 + ch + K[t] + words[t]) | 0;
    const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const maj = (a & b) ^ (a & c) ^ (b & c);
    const t2 = (s0 + maj) | 0;
    h = g; g = f; f = e; e = (d + t1) | 0;
    d = c; c = b; b = a; a = (t1 + t2) | 0;
  }
  state[0] = (state[0] + a) | 0; state[1] = (state[1] + b) | 0;
  state[2] = (state[2] + c) | 0; state[3] = (state[3] + d) | 0;
  state[4] = (state[4] + e) | 0; state[5] = (state[5] + f) | 0;
  state[6] = (state[6] + g) | 0; state[7] = (state[7] + h) | 0;
}

// Incremental hashing lets uploads hash a 50 MiB file chunk by chunk without holding it twice.
export function createSha256() {
  const state = Int32Array.from(INITIAL);
  const words = new Int32Array(64);
  const buffer = new Uint8Array(64);
  let buffered = 0;
  let length = 0; // bytes so far; a double is exact up to 2^53, far above any file we hash
  let finished = false;

  return {
    update(input) {
      if (finished) throw new Error('sha256: update after hexDigest');
      const bytes = toBytes(input);
      length += bytes.length;
      let i = 0;
      if (buffered > 0) {
        const take = Math.min(64 - buffered, bytes.length);
        buffer.set(bytes.subarray(0, take), buffered);
        buffered += take;
        i = take;
        if (buffered < 64) return this;
        compress(state, words, buffer, 0);
        buffered = 0;
      }
      for (; i + 64 <= bytes.length; i += 64) compress(state, words, bytes, i);
      if (i < bytes.length) {
        buffer.set(bytes.subarray(i), 0);
        buffered = bytes.length - i;
      }
      return this;
    },
    hexDigest() {
      if (finished) throw new Error('sha256: hexDigest called twice');
      finished = true;
      const bitsHigh = Math.floor(length / 0x20000000);
      const bitsLow = (length << 3) >>> 0;
      buffer[buffered++] = 0x80;
      if (buffered > 56) {
        buffer.fill(0, buffered);
        compress(state, words, buffer, 0);
        buffered = 0;
      }
      buffer.fill(0, buffered, 56);
      for (let k = 0; k < 4; k++) {
        buffer[56 + k] = (bitsHigh >>> (24 - 8 * k)) & 0xff;
        buffer[60 + k] = (bitsLow >>> (24 - 8 * k)) & 0xff;
      }
      compress(state, words, buffer, 0);
      let hex = '';
      for (let k = 0; k < 8; k++) hex += (state[k] >>> 0).toString(16).padStart(8, '0');
      return hex;
    },
  };
}

export function sha256Hex(input) {
  return createSha256().update(input).hexDigest();
}
