// Reads the claims of an access token without verifying it: the server verifies; the client only needs to know
// which sync space the token stands for. No atob: mini-program runtimes lack it.
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

function base64UrlBytes(text) {
  const bytes = [];
  let buffer = 0;
  let bits = 0;
  for (const char of text) {
    const value = ALPHABET.indexOf(char);
    if (value < 0) break; // padding or garbage ends the data
    buffer = (buffer << 6) | value;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes.push((buffer >> bits) & 0xff);
    }
  }
  return bytes;
}

export function tokenClaims(token) {
  const part = typeof token === 'string' ? token.split('.')[1] : null;
  if (!part) return {};
  try {
    const percentEncoded = base64UrlBytes(part).map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
    const claims = JSON.parse(decodeURIComponent(percentEncoded));
    return claims && typeof claims === 'object' && !Array.isArray(claims) ? claims : {};
  } catch (error) {
    return {};
  }
}

// The local draft store's key for the space the server derives from this session (sync-protocol.md §2): the
// enterprise acted for, else the agent authorization (a family principal's space), else the person.
export function spaceKeyOf(session) {
  if (!session || session.kind === 'operator') return null;
  const person = session.personId || session.sessionId;
  const claims = tokenClaims(session.accessToken);
  if (claims.act) return `${person}/E:${claims.act}`;
  if (claims.agt) return `${person}/A:${claims.agt}`;
  return person;
}
