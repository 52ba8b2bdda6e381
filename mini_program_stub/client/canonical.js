// RFC 8785 JSON Canonicalization Scheme. The server hashes with Python's `rfc8785`; every hash the client sends
// (baseHash, expectedContentHash) must match it byte for byte, so anything Python would refuse is refused here
// too, instead of silently producing a different string.

const ESCAPES = { '"': '\\"', '\\': '\\\\', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function serializeString(text) {
  let out = '"';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    const code = text.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdfff) {
      const low = code <= 0xdbff && i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
      if (!(low >= 0xdc00 && low <= 0xdfff)) {
        throw new TypeError('canonicalize: string contains a lone surrogate');
      }
      out += ch + text[i + 1];
      i++;
    } else if (ESCAPES[ch] !== undefined) {
      out += ESCAPES[ch];
    } else if (code < 0x20) {
      out += '\\u' + code.toString(16).padStart(4, '0');
    } else {
      out += ch;
    }
  }
  return out + '"';
}

function serializeNumber(value) {
  if (!Number.isFinite(value)) throw new TypeError(`canonicalize: ${value} is not a JSON number`);
  // ECMAScript Number::toString is exactly the JCS number format; it also turns -0 into "0".
  return String(value);
}

function isPlainObject(value) {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function serialize(value, ancestors) {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      return serializeNumber(value);
    case 'string':
      return serializeString(value);
    case 'object':
      break;
    default:
      throw new TypeError(`canonicalize: a ${typeof value} is not a JSON value`);
  }
  if (ancestors.has(value)) throw new TypeError('canonicalize: cyclic structure');
  ancestors.add(value);
  let out;
  if (Array.isArray(value)) {
    const parts = [];
    for (let i = 0; i < value.length; i++) {
      if (!(i in value)) throw new TypeError('canonicalize: sparse array');
      parts.push(serialize(value[i], ancestors));
    }
    out = '[' + parts.join(',') + ']';
  } else if (isPlainObject(value)) {
    // Array.prototype.sort without a comparator orders by UTF-16 code units, which is what RFC 8785 §3.2.3 asks.
    const keys = Object.keys(value).sort();
    out = '{' + keys.map((k) => serializeString(k) + ':' + serialize(value[k], ancestors)).join(',') + '}';
  } else {
    // Dates, Maps, class instances: JSON.stringify would flatten them in ways Python never sees.
    throw new TypeError('canonicalize: only plain objects, arrays and JSON primitives are allowed');
  }
  ancestors.delete(value);
  return out;
}

export function canonicalize(value) {
  return serialize(value, new Set());
}
