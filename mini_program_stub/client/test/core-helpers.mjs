// A scripted GraphQL server for the core tests: APQ as schema/view.py does it, bearer tokens with expiry, and
// resolvers per operation name. Not a test file itself (no .test. in the name).
import { createHash } from 'node:crypto';

export function sha256(text) {
  return createHash('sha256').update(text).digest('hex');
}

export function json(status, body, headers) {
  return { status, body, headers: { 'content-type': 'application/json', ...(headers || {}) } };
}

function gqlError(code, message, status, extra) {
  return json(status || 200, { errors: [{ message, extensions: { code, ...(extra || {}) } }],
    extensions: { requestId: 'req-1' } });
}

// resolvers: {OperationName(variables, ctx) -> data | {status, body} raw answer}; ctx = {token, server}.
// server.validTokens: Set of accepted access tokens (null token = anonymous).
export function fakeGraphQLServer(resolvers, options) {
  const opts = options || {};
  const server = {
    apq: new Map(),
    validTokens: new Set(opts.tokens || []),
    calls: [],
    misses: 0,
    breakHash: false,
    async handle(req) {
      if (!req.url.startsWith('/graphql')) return opts.other ? opts.other(req) : json(404, {});
      let payload;
      if (req.method === 'GET') {
        const params = new URL(req.url, 'http://x').searchParams;
        payload = { query: params.get('query') || undefined, operationName: params.get('operationName') };
        for (const name of ['variables', 'extensions']) if (params.get(name)) payload[name] = JSON.parse(params.get(name));
      } else {
        payload = JSON.parse(req.body);
      }
      const auth = req.headers.authorization || '';
      const token = auth.startsWith('Bearer ') ? auth.slice(7) : null;
      if (token !== null && !server.validTokens.has(token)) return gqlError('UNAUTHENTICATED', 'expired', 401);
      let query = payload.query;
      const persisted = payload.extensions && payload.extensions.persistedQuery;
      if (persisted) {
        const digest = persisted.sha256Hash;
        if (query !== undefined) {
          if (server.breakHash || sha256(query) !== digest) {
            return gqlError('PERSISTED_QUERY_HASH_MISMATCH', 'provided sha does not match query');
          }
          server.apq.set(digest, query);
        } else if (!server.apq.has(digest)) {
          server.misses += 1;
          return gqlError('PERSISTED_QUERY_NOT_FOUND', 'PersistedQueryNotFound');
        } else {
          query = server.apq.get(digest);
        }
      }
      if (!query) return gqlError('BAD_REQUEST', 'no query', 400);
      if (req.method === 'GET' && /^\s*mutation/.test(query)) return gqlError('BAD_REQUEST', 'GET is for queries', 405);
      const name = payload.operationName || (/^\s*(?:query|mutation)\s+(\w+)/.exec(query) || [])[1];
      const resolver = resolvers[name];
      server.calls.push({ name, token, variables: payload.variables || {}, method: req.method });
      if (!resolver) return gqlError('BAD_REQUEST', `no resolver for ${name}`, 400);
      const data = await resolver(payload.variables || {}, { token, server });
      if (data && data.status && data.body) return data;
      return json(200, { data, extensions: { requestId: 'req-1' } });
    },
  };
  return server;
}
