// GraphQL over HTTP with automatic persisted queries (graphql.md §1, schema/view.py): the hash alone first
// (queries by GET so CDNs and the server's public cache can answer them), the full text once on
// PERSISTED_QUERY_NOT_FOUND. Tokens come from `auth`, which refreshes them; a call refused with UNAUTHENTICATED
// while carrying a token refreshes once and is retried once.
import { ApiError, NetworkError } from './errors.js';
import { sha256Hex as defaultSha256Hex } from './sha256.js';

const MAX_GET_URL = 2000; // longer URLs get cut by some proxies and mini-program containers
const NOT_FOUND = 'PERSISTED_QUERY_NOT_FOUND';
const APQ_UNUSABLE = ['PERSISTED_QUERY_HASH_MISMATCH', 'PERSISTED_QUERY_NOT_SUPPORTED'];

// URLs end up in access logs, proxies and browser history: a query carrying a password or a code goes by POST.
const SECRET_KEY = /password|secret|credential|code$|token$/i;
export function carriesSecret(value) {
  if (!value || typeof value !== 'object') return false;
  return Object.entries(value).some(([key, inner]) => SECRET_KEY.test(key) || carriesSecret(inner));
}

// The operation's type without a parser: comments and strings cannot precede the first keyword in practice,
// and a named operation is looked up by name when the document holds several.
export function operationType(query, operationName) {
  const text = query.replace(/#[^\n\r]*/g, ' ');
  if (operationName) {
    const named = new RegExp(`\\b(query|mutation|subscription)\\s+${operationName}\\b`).exec(text);
    if (named) return named[1];
  }
  const first = /^\s*(query|mutation|subscription)\b/.exec(text);
  return first ? first[1] : 'query';
}

function encodeParams(params) {
  return Object.keys(params)
    .filter((key) => params[key] !== undefined && params[key] !== null)
    .map((key) => `${encodeURIComponent(key)}=${encodeURIComponent(params[key])}`)
    .join('&');
}

function parseBody(response) {
  try {
    return JSON.parse(response.text);
  } catch (error) {
    const code = response.status >= 500 ? 'SERVER_ERROR' : 'BAD_RESPONSE';
    throw new ApiError(code, `unreadable answer (HTTP ${response.status})`, { status: response.status });
  }
}

function firstError(body, response) {
  const errors = body && Array.isArray(body.errors) ? body.errors : [];
  if (!errors.length) {
    if (response.status >= 400 || !body || body.data === undefined) {
      return { code: response.status >= 500 ? 'SERVER_ERROR' : 'BAD_RESPONSE', message: `HTTP ${response.status}` };
    }
    return null;
  }
  const extensions = errors[0].extensions || {};
  return { code: extensions.code || 'INTERNAL', message: errors[0].message, path: errors[0].path, extensions };
}

// options: {platform, endpoint?, auth?, sha256Hex?}. `auth` provides accessToken() (refreshing ahead of expiry) and
// refreshAfterRejection(staleToken); it is optional so the auth module can use an anonymous transport.
export function createGraphQL(options) {
  const platform = options.platform;
  const sha256Hex = options.sha256Hex || defaultSha256Hex;
  const endpoint = options.endpoint || '/graphql';
  const hashes = new Map();
  const plainOnly = new Set(); // query texts the server refused to persist: sent in full from then on
  let apqDisabled = false;
  let auth = options.auth || null;

  function hashOf(query) {
    let digest = hashes.get(query);
    if (!digest) {
      digest = sha256Hex(query);
      hashes.set(query, digest);
    }
    return digest;
  }

  async function send(request) {
    const { query, variables, operationName, method, hash, token } = request;
    const headers = { Accept: 'application/json' };
    if (token) headers.Authorization = `Bearer ${token}`;
    const extensions = hash ? JSON.stringify({ persistedQuery: { version: 1, sha256Hash: hash } }) : undefined;
    if (method === 'GET') {
      const search = encodeParams({
        operationName,
        variables: variables && Object.keys(variables).length ? JSON.stringify(variables) : undefined,
        extensions,
      });
      const url = `${endpoint}${endpoint.includes('?') ? '&' : '?'}${search}`;
      if (url.length <= MAX_GET_URL) return platform.request({ url, method: 'GET', headers });
    }
    headers['Content-Type'] = 'application/json';
    const body = { variables: variables || {} };
    if (operationName) body.operationName = operationName;
    if (query !== undefined) body.query = query;
    if (hash) body.extensions = { persistedQuery: { version: 1, sha256Hash: hash } };
    return platform.request({ url: endpoint, method: 'POST', headers, body: JSON.stringify(body) });
  }

  // One exchange with APQ: hash only, then the full text on a miss, or plain text when the hash is refused.
  async function exchange(query, variables, operationName, token, forcePost) {
    const kind = operationType(query, operationName);
    if (kind === 'subscription') throw new ApiError('BAD_REQUEST', 'subscriptions run over WebSocket (inbox/ws.js)');
    const base = { variables, operationName, token };
    const usePersisted = !apqDisabled && !plainOnly.has(query);
    if (usePersisted) {
      const hash = hashOf(query);
      const response = await send({ ...base, hash, method: kind === 'query' && !forcePost ? 'GET' : 'POST' });
      const body = parseBody(response);
      const error = firstError(body, response);
      if (!error || (error.code !== NOT_FOUND && !APQ_UNUSABLE.includes(error.code))) return { response, body, error };
      if (error.code === NOT_FOUND) {
        const retried = await send({ ...base, hash, query, method: 'POST' });
        const retriedBody = parseBody(retried);
        const retriedError = firstError(retriedBody, retried);
        if (!retriedError || !APQ_UNUSABLE.includes(retriedError.code)) {
          return { response: retried, body: retriedBody, error: retriedError };
        }
        error.code = retriedError.code;
      }
      // Our hash and the server's disagree (an odd character in the text, a proxy rewriting it) or the server
      // has APQ turned off: the call still works without the extension.
      if (error.code === 'PERSISTED_QUERY_NOT_SUPPORTED') apqDisabled = true;
      else plainOnly.add(query);
    }
    const response = await send({ ...base, query, method: 'POST' });
    const body = parseBody(response);
    return { response, body, error: firstError(body, response) };
  }

  function failure(error, body, response) {
    const requestId = (body && body.extensions && body.extensions.requestId) || response.headers['x-request-id'];
    return new ApiError(error.code, error.message, {
      requestId,
      path: error.path,
      status: response.status,
      extensions: error.extensions,
      retryAfterMs: error.extensions && error.extensions.retryAfterMs,
      data: body && body.data,
    });
  }

  async function graphql(query, variables, callOptions) {
    if (typeof query !== 'string' || !query.trim()) throw new ApiError('BAD_REQUEST', 'query text required');
    const opts = callOptions || {};
    const vars = variables || {};
    const anonymous = Boolean(opts.anonymous) || !auth;
    let token = anonymous ? null : await auth.accessToken();
    const post = Boolean(opts.post) || carriesSecret(vars);
    let outcome = await exchange(query, vars, opts.operationName, token, post);
    const rejected = outcome.error && (outcome.error.code === 'UNAUTHENTICATED' || outcome.response.status === 401);
    if (rejected && token) {
      token = await auth.refreshAfterRejection(token);
      if (token) outcome = await exchange(query, vars, opts.operationName, token, post);
    }
    if (outcome.error) throw failure(outcome.error, outcome.body, outcome.response);
    return outcome.body.data;
  }

  graphql.setAuth = (value) => { auth = value; };
  graphql.endpoint = endpoint;
  return graphql;
}

export { NetworkError };
