// Two kinds of failure a page tells apart: the network did not carry the call (retry later, keep local state)
// and the server answered with a refusal (show it; retrying the same call will not help).

export class NetworkError extends Error {
  constructor(message, cause) {
    super(message || 'network unavailable');
    this.name = 'NetworkError';
    this.offline = true;
    if (cause !== undefined) this.cause = cause;
  }
}

export class ApiError extends Error {
  // details: {requestId, path, status, retryAfterMs, extensions, data}
  constructor(code, message, details) {
    super(message || code);
    this.name = 'ApiError';
    this.code = code;
    const extra = details || {};
    this.requestId = extra.requestId || null;
    this.path = extra.path || null;
    this.status = extra.status || null;
    this.retryAfterMs = extra.retryAfterMs == null ? null : extra.retryAfterMs;
    this.extensions = extra.extensions || {};
    this.data = extra.data === undefined ? null : extra.data;
  }
}

export function isNetworkError(error) {
  return Boolean(error && error.name === 'NetworkError');
}

// Result unions carry refusals as `... on Error { code message path }`; callers that only want the success member
// unwrap it and get the refusal as an ApiError.
export function unwrap(payload) {
  const typename = payload && payload.__typename;
  const refused = typename ? /Error$/.test(typename) : Boolean(payload && typeof payload.code === 'string' &&
    typeof payload.message === 'string');
  if (refused) {
    throw new ApiError(payload.code || typename, payload.message, {
      path: payload.path, retryAfterMs: payload.retryAfterMs, data: payload,
    });
  }
  return payload;
}
