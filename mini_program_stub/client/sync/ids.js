// Client-generated ids: a clientId (UUID v4) per space and draft ids (UUID v7, time-ordered, sync-protocol §4).

function randomBytes(count, platform) {
  const bytes = new Uint8Array(count);
  const crypto = globalThis.crypto;
  if (crypto && typeof crypto.getRandomValues === 'function') {
    crypto.getRandomValues(bytes);
  } else {
    // Mini-programs may lack getRandomValues; mixing two sources keeps ids unique even with a scripted random.
    for (let i = 0; i < count; i++) {
      const source = platform && platform.random ? platform.random() : 0;
      bytes[i] = Math.floor((Math.random() * 256) ^ (source * 256)) & 0xff;
    }
  }
  return bytes;
}

function format(bytes) {
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function uuid4(platform) {
  const bytes = randomBytes(16, platform);
  bytes[6] = 0x40 | (bytes[6] & 0x0f);
  bytes[8] = 0x80 | (bytes[8] & 0x3f);
  return format(bytes);
}

export function uuid7(platform) {
  const bytes = randomBytes(16, platform);
  let millis = Math.floor(platform && platform.now ? platform.now() : Date.now());
  for (let i = 5; i >= 0; i--) {
    bytes[i] = millis % 256;
    millis = Math.floor(millis / 256);
  }
  bytes[6] = 0x70 | (bytes[6] & 0x0f);
  bytes[8] = 0x80 | (bytes[8] & 0x3f);
  return format(bytes);
}
